// Seed 004's Best Practices (event schema, error handling, idempotency, partition keys) and its
// Azure Event Hubs configuration, on the shared `getKafkaService()`.
const { inspect } = require('util')
const { configFromEnv, createEvent } = require('../..')
const { inbox } = require('../inbox')

/** Best practices 1 and 2: metadata that travels with the event; a consumer that logs and never throws. */
async function schemaAndErrors({ kafka, KAFKA_TOPICS, getConsumerGroup, step }) {
  const user = { _id: 'u-2', email: 'linus@example.com', role: 'editor', name: 'Linus', tenantId: 'tenant-42' }
  const created = inbox() // every USER_CREATED the notification-service group sees
  // The group already consumes user.created: one more handler there needs no rebalance.
  await kafka.subscribe(KAFKA_TOPICS.USER_CREATED, getConsumerGroup('notification-service'), async (event) => created.push(event))

  // 1. Event schema
  const event = createEvent('USER_CREATED', {
    userId: user._id,
    email: user.email,
    role: user.role
  }, {
    tenantId: user.tenantId,
    source: 'auth-service'
  })
  await kafka.publishEvent(KAFKA_TOPICS.USER_CREATED, event, user._id)
  const seen = (await created.until((xs) => xs.some((e) => e.id === event.id), `USER_CREATED ${event.id}`)).find((e) => e.id === event.id)
  const { tenantId, source, eventId } = seen.metadata
  if (eventId !== event.id) throw new Error(`metadata.eventId ${eventId} is not the event's id ${event.id}`)
  step(`event schema: USER_CREATED ${event.id} arrived with metadata tenantId=${tenantId}, source=${source}, eventId=${eventId} (the event's id)`)

  // 2. Error handling: processEvent rejects an address without '@'; the handler logs and returns.
  const outcomes = inbox()
  const logger = {
    error: (message, { error, event }) => {
      console.log(`logger.error: ${message} (${event.id}: ${error.message})`)
      outcomes.push({ id: event.id, what: 'logged' })
    },
  }
  async function processEvent(event) {
    if (!String(event.data.email).includes('@')) throw new Error(`invalid email "${event.data.email}"`)
    outcomes.push({ id: event.id, what: 'processed' })
  }
  await kafka.subscribe(
    KAFKA_TOPICS.USER_CREATED,
    getConsumerGroup('notification-service'),
    async (event) => {
      try {
        await processEvent(event)
      } catch (error) {
        logger.error('Error processing event', { error, event })
        // Don't throw - Kafka will retry
      }
    }
  )
  // One key, so one partition: the good event is handled only after the bad one is done with.
  const bad = createEvent('USER_CREATED', { userId: 'u-3', email: 'not-an-address', role: 'viewer' })
  const good = createEvent('USER_CREATED', { userId: 'u-3', email: 'ok@example.com', role: 'viewer' })
  await kafka.publishEvent(KAFKA_TOPICS.USER_CREATED, bad, 'u-3')
  await kafka.publishEvent(KAFKA_TOPICS.USER_CREATED, good, 'u-3')
  const got = await outcomes.until((xs) => xs.some((x) => x.id === good.id), `the event after ${bad.id}`)
  const of = (id) => got.filter((x) => x.id === id).map((x) => x.what)
  step(`error handling: ${bad.id} ${of(bad.id).join(', ')} by logger.error, not rethrown (handled ${of(bad.id).length}x); the next on its partition, ${good.id}, ${of(good.id).join(', ')}`)
}

/** Best practice 3: the same event twice, processed once. */
async function idempotency({ kafka, KAFKA_TOPICS, getConsumerGroup, step }) {
  const processedIds = new Set() // stands in for the service's store of handled event ids
  const checkIfProcessed = async (eventId) => processedIds.has(eventId)
  const markAsProcessed = async (eventId) => { processedIds.add(eventId) }
  const deliveries = inbox()
  const processOrder = async (order) => console.log(`Reserving stock for ${order.orderId}`)

  await kafka.subscribe(
    KAFKA_TOPICS.ORDER_CREATED,
    getConsumerGroup('inventory-service'),
    async (event) => {
      // Check if already processed
      const processed = await checkIfProcessed(event.metadata.eventId)
      if (processed) {
        deliveries.push({ id: event.metadata.eventId, what: 'skipped' })
        return // Skip
      }

      await processOrder(event.data)
      await markAsProcessed(event.metadata.eventId)
      deliveries.push({ id: event.metadata.eventId, what: 'processed' })
    }
  )
  const order = createEvent('ORDER_CREATED', { orderId: 'ORD-7', sku: 'A-1', qty: 3 })
  const other = createEvent('ORDER_CREATED', { orderId: 'ORD-8', sku: 'B-2', qty: 1 })
  // The same event published twice (a producer retry, a replay), then a different one.
  await kafka.publishEvent(KAFKA_TOPICS.ORDER_CREATED, order, 'ORD-7')
  await kafka.publishEvent(KAFKA_TOPICS.ORDER_CREATED, order, 'ORD-7')
  await kafka.publishEvent(KAFKA_TOPICS.ORDER_CREATED, other, 'ORD-8')
  const got = await deliveries.until((xs) => xs.length >= 3, 'three ORDER_CREATED deliveries')
  const of = (id) => got.filter((x) => x.id === id).map((x) => x.what)
  const story = (id) => `delivered ${of(id).length}x: ${of(id).join(' then ')}`
  step(`idempotency: ${order.id} (ORD-7) ${story(order.id)}; ${other.id} (ORD-8) ${story(other.id)}; ${processedIds.size} orders processed`)
}

/** Best practice 4: one user's events share a key, so a partition, so an order. */
async function partitionKeys({ kafka, KAFKA_TOPICS, step }) {
  const placed = {}
  for (const userId of ['u-7', 'u-8']) {
    for (const change of [{ role: 'editor' }, { role: 'admin' }, { name: 'renamed' }]) {
      const event = createEvent('USER_UPDATED', { userId, ...change })
      // Same user events go to same partition (ordered)
      const [meta] = await kafka.publishEvent(
        KAFKA_TOPICS.USER_UPDATED,
        event,
        userId.toString() // Partition key
      )
      ;(placed[userId] ??= []).push(meta)
    }
  }
  const line = Object.entries(placed).map(([userId, metas]) => {
    if (new Set(metas.map((m) => m.partition)).size !== 1) throw new Error(`${userId}'s events went to partitions ${metas.map((m) => m.partition)}`)
    return `${userId} -> partition ${metas[0].partition} x${metas.length} (offsets ${metas.map((m) => m.baseOffset).join(',')})`
  })
  step(`partition keys: ${line.join('; ')}`)
}

/** Production: the Azure Event Hubs env block, read into a client config; nothing connects. */
function azureEventHubs({ step }) {
  const password = 'Endpoint=sb://your-namespace.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=not-a-real-key='
  const envBlock = {
    KAFKA_BROKERS: 'your-namespace.servicebus.windows.net:9093',
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'PLAIN',
    KAFKA_SASL_USERNAME: '$ConnectionString',
    KAFKA_SASL_PASSWORD: password,
  }
  const saved = { ...process.env }
  let config
  try {
    Object.assign(process.env, envBlock)
    config = configFromEnv()
  } finally {
    // The rest of the example keeps its own KAFKA_* (the mock's brokers).
    for (const k of Object.keys(envBlock)) if (saved[k] === undefined) delete process.env[k]
    Object.assign(process.env, saved)
  }
  console.log(config)
  const printed = `${inspect(config, { depth: null })}\n${JSON.stringify(config)}\n${inspect(config.sasl)}`
  if (printed.includes('SharedAccessKey') || printed.includes('not-a-real-key')) throw new Error('the printed config shows the password')
  if (config.sasl.password !== password) throw new Error('the config does not carry the password for the client')
  const restored = Object.keys(envBlock).every((k) => process.env[k] === saved[k])
  step(`azure event hubs: brokers ${config.brokers.join(',')}, ssl ${config.ssl}, sasl ${config.sasl.mechanism} as ${config.sasl.username}; printed password ${JSON.stringify(config).match(/"password":("[^"]*")/)[1]}; process.env ${restored ? 'restored' : 'NOT restored'} (brokers ${configFromEnv().brokers.join(',')})`)
}

module.exports = { schemaAndErrors, idempotency, partitionKeys, azureEventHubs }
