// Seed 004's README (the Etelios Kafka guide), every usage example in order, on ferrokafka's
// `getKafkaService()` against an embedded MockCluster. One line per example, then a summary.
// The best practices and the Azure Event Hubs configuration are in practices.js.
//
//   node examples/seed-004/index.js
// The seed's `require('../shared/config/kafka.config')` (KAFKA_TOPICS, getConsumerGroup,
// createEvent) becomes ferrokafka itself.
const { MockCluster, KAFKA_TOPICS } = require('../..')
const { schemaAndErrors, idempotency, partitionKeys, azureEventHubs } = require('./practices')

const USED = [KAFKA_TOPICS.USER_CREATED, KAFKA_TOPICS.USER_UPDATED, KAFKA_TOPICS.USER_LOGIN, KAFKA_TOPICS.EMPLOYEE_CREATED, KAFKA_TOPICS.ORDER_CREATED]

async function main() {
  const cluster = new MockCluster({ brokers: 1 })
  // user.updated has more partitions, so that one key landing on one partition says something.
  for (const t of USED) cluster.createTopic(t, t === KAFKA_TOPICS.USER_UPDATED ? 6 : 2, 1)
  process.env.KAFKA_BROKERS = cluster.bootstrapServers
  process.env.KAFKA_CLIENT_ID = 'etelios'
  const { getKafkaService, getConsumerGroup, createEvent } = require('../..')
  let ran = 0
  const step = (line) => console.log(`[${++ran}] ${line}`)
  const received = []
  let resolveAll
  const all = new Promise((r) => { resolveAll = r })
  const note = (what) => { received.push(what); if (received.length >= 5) resolveAll() }

  // Consuming events: notification-service on user.created and user.login.
  async function startUserEventConsumers() {
    const kafka = getKafkaService()
    await kafka.initialize()
    await kafka.subscribe(KAFKA_TOPICS.USER_CREATED, getConsumerGroup('notification-service'), async (event) => {
      console.log(`Welcome email to ${event.data.email} (${event.data.name ?? 'no name given'})`)
      note('welcome')
    })
    await kafka.subscribe(KAFKA_TOPICS.USER_LOGIN, getConsumerGroup('notification-service'), async (event) => {
      console.log('User logged in:', event.data.userId)
      note('login')
    })
  }
  await startUserEventConsumers()
  step('consumers: notification-service subscribed to user.created and user.login')

  // Analytics service: every user event, one subscribe per topic on one group.
  async function startAnalyticsConsumers() {
    const kafka = getKafkaService()
    await kafka.initialize()
    for (const topic of [KAFKA_TOPICS.USER_CREATED, KAFKA_TOPICS.USER_UPDATED, KAFKA_TOPICS.USER_LOGIN]) {
      await kafka.subscribe(topic, getConsumerGroup('analytics-service'), async (event) => {
        console.log(`analytics recorded ${event.type}`)
        note(`analytics:${event.type}`)
      })
    }
  }
  await startAnalyticsConsumers()
  step('consumers: analytics-service subscribed to three user topics')

  // Publishing events: auth service registering a user, HR creating an employee.
  const kafka = getKafkaService()
  await kafka.initialize()
  const user = { _id: 'u-1', email: 'ada@example.com', role: 'admin', name: 'Ada' }
  await kafka.publishEvent(KAFKA_TOPICS.USER_CREATED, createEvent('USER_CREATED', { userId: user._id, email: user.email, role: user.role, name: user.name }), user._id.toString())
  await kafka.publishEvent(KAFKA_TOPICS.USER_LOGIN, createEvent('USER_LOGIN', { userId: user._id }), user._id.toString())
  const employee = { _id: 'e-1', employee_code: 'E001', name: 'Grace', department: 'R&D' }
  await kafka.publishEvent(KAFKA_TOPICS.EMPLOYEE_CREATED, createEvent('EMPLOYEE_CREATED', { employeeId: employee._id, employeeCode: employee.employee_code, name: employee.name, department: employee.department }), employee._id.toString())
  await kafka.publishEvent(KAFKA_TOPICS.USER_UPDATED, createEvent('USER_UPDATED', { userId: user._id, role: 'owner' }), user._id.toString())
  step('publishing: USER_CREATED, USER_LOGIN, EMPLOYEE_CREATED and USER_UPDATED published with partition keys')

  // Bounded; on a timeout the groups' state and per-partition positions say where records stopped.
  const stuck = async () => `only ${received.join(',') || 'nothing'} arrived within 60 s; groups ${JSON.stringify((await kafka.healthCheck()).groups)}; lag ${JSON.stringify(await kafka.consumerLag())}`
  await Promise.race([all, new Promise((_, rej) => setTimeout(() => stuck().then((m) => rej(new Error(m)), rej), 60_000).unref())])
  step(`consumed: ${received.sort().join(', ')}`)

  const health = await kafka.healthCheck()
  console.log(health)
  step(`health: connected=${health.connected}, producer=${health.producer}, consumers=${health.consumers} (${Object.keys(health.groups).sort().join(' ')}), brokers ${health.brokers}`)

  const practices = { kafka, KAFKA_TOPICS, getConsumerGroup, step }
  await schemaAndErrors(practices)
  await idempotency(practices)
  await partitionKeys(practices)
  azureEventHubs(practices)

  await kafka.disconnect()
  cluster.close()
  console.log(`seed-004: all ${ran} examples ran`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
