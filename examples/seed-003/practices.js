// Seed 003's "Consumer Error Handling" and Best Practices 1-3, on the shared `kafkaService`.
// The documented blocks are kept as written; the user functions they call (processMessage,
// shouldRetry, retryMessage, sendToDeadLetterQueue) are small real ones built on the service.
const { randomUUID } = require('crypto')
const { isDeepStrictEqual } = require('util')
const { inbox } = require('../inbox')

const where = (meta) => `${meta.topicName}[${meta.partition}]@${meta.baseOffset}`

/** A job fails once with a retryable error (then succeeds on its re-send), or for good (dead-lettered). */
async function consumerErrorHandling({ kafkaService, step }) {
  const path = inbox() // { id, what } in the order each job went through the handler

  async function processMessage(message) {
    if (message.poison) throw Object.assign(new Error('invalid payload: amount is missing'), { retryable: false })
    if (message.flaky && message.attempt === 1) throw Object.assign(new Error('downstream timeout'), { retryable: true })
    path.push({ id: message.id, what: `processed (attempt ${message.attempt})` })
  }
  const shouldRetry = (error) => error.retryable === true
  async function retryMessage(message) {
    const [meta] = await kafkaService.send('jobs', { ...message, attempt: message.attempt + 1 })
    path.push({ id: message.id, what: `re-sent to ${where(meta)}` })
  }
  async function sendToDeadLetterQueue(message, error) {
    const [meta] = await kafkaService.send('jobs.dlq', { message, error: error.message, failedAt: new Date().toISOString() })
    path.push({ id: message.id, what: `dead-lettered to ${where(meta)}` })
  }

  await kafkaService.connectConsumer('job-worker')
  await kafkaService.subscribe('jobs', async (message, context) => {
    try {
      await processMessage(message)
    } catch (error) {
      // The seed logs the Error itself; its message is enough here (a stack trace would read as a crash).
      console.error('Message processing failed:', error.message)
      path.push({ id: message.id, what: `failed "${error.message}"` })

      // Implement retry logic or dead letter queue
      if (shouldRetry(error)) {
        await retryMessage(message)
      } else {
        await sendToDeadLetterQueue(message, error)
      }
    }
  })

  await kafkaService.send('jobs', [{ id: 'job-1', attempt: 1 }, { id: 'job-2', attempt: 1, flaky: true }, { id: 'job-3', attempt: 1, poison: true }])
  const last = (items, id) => items.filter((x) => x.id === id).pop()?.what ?? ''
  const items = await path.until(
    (xs) => last(xs, 'job-1').startsWith('processed') && last(xs, 'job-2').startsWith('processed') && last(xs, 'job-3').startsWith('dead-lettered'),
    'job-1 processed, job-2 retried and processed, job-3 dead-lettered',
  )
  const story = ['job-1', 'job-2', 'job-3'].map((id) => `${id} ${items.filter((x) => x.id === id).map((x) => x.what).join(' -> ')}`)
  step(`consumer error handling: ${story.join('; ')}`)
}

/** Best Practices 1 (hierarchical topic names), 2 (the message schema) and 3 (one group per service). */
async function bestPractices({ kafkaService, step, systemEvents }) {
  // 1. Topic naming: each send is acknowledged by the broker on its hierarchical topic.
  const data = { userId: '123', at: new Date().toISOString() }
  const acks = []
  for (const topic of ['user.events.login', 'order.processing.payment', 'system.alerts.error']) {
    const [meta] = await kafkaService.send(topic, data)
    acks.push(where(meta))
  }
  step(`topic naming: acknowledged at ${acks.join(', ')}`)

  // 2. Message schema, sent as is to a topic the event-processor group consumes (system-events).
  const messageSchema = {
    id: `msg-${randomUUID()}`,
    type: 'MESSAGE_TYPE',
    version: '1.0',
    timestamp: new Date().toISOString(),
    source: 'service-name',
    data: { orderId: 'ORD-9', amount: 12.5 },
  }
  await kafkaService.send('system-events', messageSchema)
  const seen = await systemEvents.until((xs) => xs.some((m) => m.id === messageSchema.id), `message ${messageSchema.id} on system-events`)
  const arrived = seen.find((m) => m.id === messageSchema.id)
  if (!isDeepStrictEqual(arrived, messageSchema)) throw new Error(`the message schema changed on the way: ${JSON.stringify(arrived)}`)
  step(`message schema: ${messageSchema.id} (${Object.keys(messageSchema).join(', ')}) arrived at event-processor unchanged`)

  // 3. Consumer groups: three services on the same topic, each group gets every record.
  const services = ['analytics-service', 'notification-service', 'audit-service']
  await kafkaService.connectConsumer('analytics-service')
  await kafkaService.connectConsumer('notification-service')
  await kafkaService.connectConsumer('audit-service')
  const got = inbox()
  // Set up concurrently, so each subscribe names its group (the 3-arg form).
  await Promise.all(services.map((group) => kafkaService.subscribe('user.events.login', group, async (message) => got.push({ group, id: message.loginId }))))
  const logins = ['login-1', 'login-2', 'login-3']
  await kafkaService.send('user.events.login', logins.map((loginId, i) => ({ type: 'USER_LOGIN', loginId, userId: `u${i + 1}` })))
  const countOf = (xs, group) => new Set(xs.filter((x) => x.group === group && logins.includes(x.id)).map((x) => x.id)).size
  const all = await got.until((xs) => services.every((g) => countOf(xs, g) === logins.length), 'every group receiving every login')
  step(`consumer groups: ${services.map((g) => `${g} ${countOf(all, g)}/${logins.length}`).join(', ')} of the same user.events.login records`)
}

module.exports = { consumerErrorHandling, bestPractices }
