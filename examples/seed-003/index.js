// Seed 003's README (the Narad Kafka service), every usage example in order, on ferrokafka's
// `kafkaService` against an embedded MockCluster. The documented calls are kept as written; what
// is added only makes each example observable. One line per example, then a summary. The
// graceful-shutdown handler is registered where the README shows it and run at the very end, by
// a SIGINT this program sends itself: it disconnects, prints the summary and exits 0.
//
//   node examples/seed-003/index.js
const { MockCluster } = require('../..')
const { inbox } = require('../inbox')
const { consumerErrorHandling, bestPractices } = require('./practices')
const { healthEndpoint, commonPatterns } = require('./patterns')

const TOPICS = [
  'user-events', 'user-activity', 'system-events', 'test-topic', 'jobs', 'jobs.dlq',
  'user.events.login', 'order.processing.payment', 'system.alerts.error', 'orders.events',
]

async function main() {
  const cluster = new MockCluster({ brokers: 1 })
  for (const t of TOPICS) cluster.createTopic(t, 2, 1)
  process.env.KAFKA_BROKERS = cluster.bootstrapServers
  process.env.KAFKA_CLIENT_ID = 'narad'
  const { kafkaService, KafkaService } = require('../..')
  let ran = 0
  const step = (line) => console.log(`[${++ran}] ${line}`)

  // Producer: init + connect, a single message, several at once.
  await kafkaService.init().connectProducer()
  await kafkaService.send('user-events', { userId: '123', action: 'login', timestamp: new Date().toISOString() })
  await kafkaService.send('user-events', [{ userId: '123', action: 'login' }, { userId: '124', action: 'logout' }])
  step('producer: sent one message and an array of two to user-events')

  // Producer example class.
  class UserEventService {
    static async init() { await kafkaService.init().connectProducer() }
    static async publishUserLogin(userId, metadata = {}) {
      const event = { type: 'USER_LOGIN', userId, timestamp: new Date().toISOString(), ...metadata }
      await kafkaService.send('user-events', event)
      console.log(`Published login event for user: ${userId}`)
    }
    static async publishUserAction(userId, action, data = {}) {
      const event = { type: 'USER_ACTION', userId, action, data, timestamp: new Date().toISOString() }
      await kafkaService.send('user-activity', event)
    }
  }
  await UserEventService.init()
  await UserEventService.publishUserLogin('user123', { ip: '192.168.1.1' })
  await UserEventService.publishUserAction('user123', 'view', { page: '/home' })
  step('producer example: UserEventService published a login and an action')

  // Consumer: connectConsumer + subscribe; then the advanced processor subscribing two topics.
  const userEvents = inbox()
  const systemEvents = inbox()
  await kafkaService.init().connectConsumer('event-processor')
  class EventProcessor {
    static async startProcessing() {
      await kafkaService.subscribe('user-events', EventProcessor.handleUserEvent)
      await kafkaService.subscribe('system-events', EventProcessor.handleSystemEvent)
    }
    static async handleUserEvent(message, context) {
      try {
        switch (message.type) {
          case 'USER_LOGIN': await EventProcessor.processUserLogin(message.userId, message); break
          default: console.log('Unknown user event type:', message.type)
        }
      } catch (error) {
        console.error('Error processing user event:', error)
      }
      userEvents.push(message)
    }
    static async handleSystemEvent(message, { topic, partition }) {
      console.log('Received message:', JSON.stringify(message), 'from topic:', topic, 'partition:', partition)
      systemEvents.push(message)
    }
    static async processUserLogin(userId) { console.log(`Processing login for user: ${userId}`) }
  }
  await EventProcessor.startProcessing()
  // The group joined after the first sends: send the documented events again so they are seen.
  await kafkaService.send('user-events', [{ type: 'USER_LOGIN', userId: 'u1' }, { type: 'USER_ACTION', userId: 'u1' }, { type: 'USER_LOGIN', userId: 'u2' }, { type: 'OTHER' }])
  await kafkaService.send('system-events', { level: 'info', text: 'started' })
  await userEvents.until((xs) => xs.length >= 4, 'the four user-events', 60_000)
  await systemEvents.until((xs) => xs.some((m) => m.text === 'started'), 'the system-events record', 60_000)
  step('consumer: event-processor handled user-events and system-events on one group')

  // Development mode: nothing is sent, the message is logged.
  const dev = new KafkaService({ enabled: false })
  await dev.init().connectProducer()
  await dev.send('test-topic', { message: 'Hello World' })
  step(`development mode: logged instead of sent (${dev.devSink.length} recorded, nothing delivered)`)

  // Producer error handling: a send without a connected producer says "not connected".
  const cold = new KafkaService({ brokers: cluster.brokers }).init()
  try {
    await cold.send('topic', { a: 1 })
  } catch (error) {
    if (error.message.includes('not connected')) console.log('Kafka not available, implementing fallback...')
  }
  step('error handling: a send before connectProducer() reported "not connected"')

  await consumerErrorHandling({ kafkaService, step })
  await bestPractices({ kafkaService, step, systemEvents })

  // Best practice 4, graceful shutdown: registered here, run by the SIGINT sent at the end.
  process.on('SIGINT', async () => {
    console.log('Shutting down gracefully...')
    await kafkaService.disconnect()
    // Added: what shows the shutdown happened, then the summary and the mock's end.
    const after = await kafkaService.healthCheck()
    step(`graceful shutdown: SIGINT handled, kafkaService disconnected (connected ${after.connected}, consumer groups ${after.consumers})`)
    console.log(`seed-003: all ${ran} examples ran`)
    cluster.close()
    process.exit(0)
  })

  // Monitoring: connection status and the service's own health check, then the HTTP endpoint.
  console.log('Kafka connected:', kafkaService.isConnected)
  const health = await kafkaService.healthCheck()
  step(`health: ${health.connected ? 'connected' : 'disconnected'}, consumers ${health.consumers} (${Object.keys(health.groups).join(',')}), brokers ${health.brokers}`)
  await healthEndpoint({ kafkaService, step })

  await commonPatterns({ kafkaService, step, brokers: cluster.brokers })
  await dev.disconnect()

  // Nothing else keeps the loop alive once the clients close: a bound in case SIGINT never comes.
  setTimeout(() => {
    console.error('the SIGINT handler did not finish within 30 s')
    process.exit(1)
  }, 30_000)
  process.kill(process.pid, 'SIGINT')
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
