// Seed 000's README ("@ait-core/kafka"), every usage example in order, run against ferrokafka on
// an embedded MockCluster. The documented code is kept as written (package name aside); what is
// added around it only makes each example observable: a record sent after a subscription so its
// handler visibly runs, and a bounded wait for that handler. One line per example, then a summary.
//
//   node examples/seed-000/index.js
const {
  MockCluster, getProducer, createConsumer, initializeEventBus, validateEvent, validateEventSafe, Kafka, logLevel,
} = require('../..')

const TOPICS = [
  'policy.created', 'policy.updated', 'policy.cancelled', 'payment.initiated', 'analytics.event', 'dlq.policy.created',
]

/** Resolves with what a handler passes to `done`, or rejects after `ms` (a bound, not a sleep). */
function expectCall(ms, what) {
  let done
  let timer
  const promise = new Promise((resolve, reject) => {
    done = resolve
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)
  })
  return { done, promise: promise.finally(() => clearTimeout(timer)) }
}

/** The seed's validation example imports `policyCreatedEventSchema`: here a small Zod-like schema. */
const policyCreatedEventSchema = {
  safeParse(value) {
    const issues = []
    if (typeof value?.policyNumber !== 'string') issues.push({ path: ['policyNumber'], message: 'Required' })
    if (typeof value?.customerId !== 'string') issues.push({ path: ['customerId'], message: 'Required' })
    if (typeof value?.premium !== 'number' || value.premium <= 0) issues.push({ path: ['premium'], message: 'Expected a positive number' })
    return issues.length ? { success: false, error: { issues } } : { success: true, data: value }
  },
}

async function main() {
  const cluster = new MockCluster({ brokers: 3 })
  for (const topic of TOPICS) cluster.createTopic(topic, 3, 1)
  // "Configuration": the library reads KAFKA_* (here, the embedded cluster).
  process.env.KAFKA_BROKERS = cluster.bootstrapServers
  process.env.KAFKA_CLIENT_ID = 'ait-core'
  let ran = 0
  const step = (line) => console.log(`[${++ran}] ${line}`)
  const open = [] // consumers to disconnect at the end

  try {
    // --- Producer - Sending Events -----------------------------------------------------------
    {
      const producer = getProducer()
      await producer.connect()

      // Send a single message
      await producer.send('policy.created', {
        key: 'policy-123',
        value: JSON.stringify({ policyNumber: 'POL-12345', customerId: 'customer-456' }),
      })

      // Send a domain event
      await producer.sendEvent({
        id: 'event-uuid',
        type: 'policy.created',
        aggregateId: 'policy-123',
        aggregateType: 'Policy',
        version: 1,
        data: { policyNumber: 'POL-12345', customerId: 'customer-456' },
        metadata: { userId: 'user-789' },
        timestamp: new Date(),
      })

      await producer.disconnect()
      step('producer: sent a message and a domain event to policy.created, disconnected')
    }

    // --- Consumer - Receiving Events ---------------------------------------------------------
    {
      const created = expectCall(20000, 'the policy.created handler')
      const updated = expectCall(20000, 'the policy.updated handler')
      const consumer = createConsumer({
        groupId: 'policy-service',
        topics: ['policy.created', 'policy.updated'],
      })
      open.push(consumer)

      await consumer.connect()

      // Register handlers
      consumer.on('policy.created', async (message, context) => {
        const event = consumer.parseDomainEvent(message)
        console.log('Policy created:', event.data)
        created.done(event)
      })

      consumer.on('policy.updated', async (message, context) => {
        const event = consumer.parseDomainEvent(message)
        console.log('Policy updated:', event.data)
        updated.done(event)
      })

      // Start consuming
      await consumer.run()

      // Added: events published now that the group is consuming, so the handlers run.
      const producer = getProducer()
      await producer.connect()
      await producer.sendEvent({ id: 'event-created-2', type: 'policy.created', aggregateId: 'policy-124', aggregateType: 'Policy', version: 1, data: { policyNumber: 'POL-12346' }, metadata: {}, timestamp: new Date() })
      await producer.sendEvent({ id: 'event-updated-1', type: 'policy.updated', aggregateId: 'policy-124', aggregateType: 'Policy', version: 2, data: { policyNumber: 'POL-12346', premium: 1300 }, metadata: {}, timestamp: new Date() })
      const [c, u] = await Promise.all([created.promise, updated.promise])
      await consumer.disconnect()
      open.splice(open.indexOf(consumer), 1)
      step(`consumer: policy-service handled ${c.type} (${c.data.policyNumber}) and ${u.type} (premium ${u.data.premium})`)
    }

    // --- Event Bus - High-Level API ----------------------------------------------------------
    {
      const received = expectCall(20000, 'the claims-service handler')
      const eventBus = await initializeEventBus()

      // Publish an event
      await eventBus.publish(
        'policy.created',
        'policy-123',
        'Policy',
        {
          policyNumber: 'POL-12345',
          customerId: 'customer-456',
          premium: 1200,
        },
        { userId: 'user-789' }
      )

      // Subscribe to events
      await eventBus.subscribe(
        'claims-service',
        ['policy.created', 'policy.cancelled'],
        async (event, context) => {
          console.log(`Received ${event.type}:`, event.data)
          // Process event
          received.done(event)
        }
      )

      // Added: the subscription is live once subscribe() resolved; this event reaches it.
      await eventBus.publish('policy.cancelled', 'policy-123', 'Policy', { policyNumber: 'POL-12345', reason: 'customer request' }, { userId: 'user-789' })
      const event = await received.promise

      // Shutdown
      await eventBus.shutdown()
      step(`event bus: published, claims-service received ${event.type} (correlation ${event.metadata.correlationId}), shut down`)
    }

    // --- Event Validation ----------------------------------------------------------------------
    {
      const eventData = { policyNumber: 'POL-12345', customerId: 'customer-456', premium: 1200 }

      // Strict validation (throws on error)
      const policyData = validateEvent(policyCreatedEventSchema, eventData)

      // Safe validation (returns result object)
      const result = validateEventSafe(policyCreatedEventSchema, eventData)
      if (result.success) {
        console.log('Valid event:', result.data)
      } else {
        console.error('Invalid event:', result.error)
      }

      // Added: an invalid event, both ways.
      const invalid = validateEventSafe(policyCreatedEventSchema, { policyNumber: 'POL-1', premium: -5 })
      let thrown = null
      try { validateEvent(policyCreatedEventSchema, { premium: 0 }) } catch (e) { thrown = e }
      if (!policyData || invalid.success || !thrown) throw new Error('validation did not behave as documented')
      step(`validation: valid event accepted; invalid rejected (${invalid.error.message}); validateEvent threw ${thrown.name}`)
    }

    // --- Batch Processing --------------------------------------------------------------------
    {
      const processed = []
      const allProcessed = expectCall(20000, 'the batch handler')
      async function processAnalyticsEvent(message) {
        processed.push(message.value.toString())
        if (processed.length === 5) allProcessed.done()
      }

      const consumer = createConsumer({
        groupId: 'analytics-service',
        topics: ['analytics.event'],
      })
      open.push(consumer)

      await consumer.connect()

      await consumer.runBatch(async ({ batch, resolveOffset, heartbeat }) => {
        for (const message of batch.messages) {
          // Process message
          await processAnalyticsEvent(message)

          // Commit offset
          resolveOffset(message.offset)

          // Send heartbeat
          await heartbeat()
        }
      })

      // Added: five analytics events for the batch handler.
      const producer = getProducer()
      await producer.send('analytics.event', Array.from({ length: 5 }, (_, i) => ({ key: 'session-1', value: JSON.stringify({ event: 'page_view', n: i }) })))
      await allProcessed.promise
      await consumer.disconnect()
      open.splice(open.indexOf(consumer), 1)
      step(`batch processing: analytics-service processed ${processed.length} events with resolveOffset and heartbeat`)
    }

    // --- Transaction Support -----------------------------------------------------------------
    {
      const producer = getProducer()
      await producer.connect()

      await producer.sendTransaction(async (transaction) => {
        // Send multiple messages in a transaction
        await transaction.send({
          topic: 'policy.created',
          messages: [{ key: 'policy-1', value: '...' }],
        })

        await transaction.send({
          topic: 'payment.initiated',
          messages: [{ key: 'payment-1', value: '...' }],
        })

        // Both messages will be committed atomically
      })
      step('transaction: policy.created and payment.initiated committed together')
    }

    // --- Error Handling ----------------------------------------------------------------------
    {
      const producer = getProducer()
      const logger = { error: (msg, meta) => console.log(`${msg}: ${meta.error.message}`) }
      async function processPolicy(data) {
        if (!data.customerId) throw new Error(`policy ${data.policyNumber} has no customer`)
      }
      const consumer = createConsumer({ groupId: 'policy-processor', topics: ['policy.created'] })
      open.push(consumer)
      await consumer.connect()

      consumer.on('policy.created', async (message, context) => {
        try {
          const event = consumer.parseDomainEvent(message)
          await processPolicy(event.data)
        } catch (error) {
          logger.error('Failed to process policy event', { error })

          // Send to dead letter queue
          await producer.send('dlq.policy.created', {
            key: message.key?.toString(),
            value: message.value?.toString(),
            headers: {
              ...message.headers,
              error: error.message,
              failedAt: new Date().toISOString(),
            },
          })

          // Don't throw - message will be committed
        }
      })

      await consumer.run()

      // Added: a policy without a customer, then read what reached the dead letter queue.
      await producer.sendEvent({ id: 'event-bad-1', type: 'policy.created', aggregateId: 'policy-999', aggregateType: 'Policy', version: 1, data: { policyNumber: 'POL-99999' }, metadata: {}, timestamp: new Date() })
      const dead = await readOne('dlq.policy.created')
      await consumer.disconnect()
      open.splice(open.indexOf(consumer), 1)
      step(`error handling: ${dead.key} sent to dlq.policy.created with error "${dead.error}"`)
    }

    await getProducer().disconnect()
    console.log(`seed-000: all ${ran} examples ran`)
  } finally {
    for (const consumer of open) await consumer.disconnect().catch(() => {})
    await getProducer().disconnect().catch(() => {})
    cluster.close()
  }
}

/** The first record of `topic`, read with a short-lived core consumer. */
async function readOne(topic) {
  const kafka = new Kafka({ brokers: process.env.KAFKA_BROKERS.split(','), clientId: 'seed-000-reader', logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `reader-${topic}` })
  const got = expectCall(20000, `a record on ${topic}`)
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({ eachMessage: async ({ message }) => got.done({ key: message.key.toString(), error: message.headers.error.toString() }) })
  try {
    return await got.promise
  } finally {
    await consumer.disconnect()
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
