// Seed 002's README (OfficeFlow Kafka package), every usage example in order, run against
// ferrokafka on an embedded MockCluster (OfficeFlowProducer -> EventProducer, OfficeFlowConsumer ->
// EventConsumer). The documented code is kept as written, with `brokers: ['localhost:9092']` pointing
// at the embedded cluster instead; what is added only makes each example observable. One line per
// example, then a summary.
//
//   node examples/seed-002/index.js
const { MockCluster, EventProducer, EventConsumer, DLQHandler } = require('../..')

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

async function main() {
  const cluster = new MockCluster({ brokers: 3 })
  // Topic naming convention: lifecycle events per organization, DLQs, review and quarantine.
  for (const topic of ['employee.onboard', 'employee.onboard.org-456', 'dlq.employee.onboard.org-456', 'manual.review.queue', 'quarantine.queue']) {
    cluster.createTopic(topic, 3, 1)
  }
  process.env.KAFKA_BROKERS = cluster.bootstrapServers
  const brokers = cluster.brokers // the README's ['localhost:9092']
  let ran = 0
  const step = (line) => console.log(`[${++ran}] ${line}`)
  const closers = []

  try {
    // --- Producer --------------------------------------------------------------------------
    const producer = new EventProducer({
      clientId: 'my-service',
      brokers,
    })
    closers.push(() => producer.disconnect())

    await producer.connect()

    // Send a single message
    const [single] = await producer.sendMessage('employee.onboard', {
      type: 'employee.onboard',
      payload: {
        employeeId: 'emp-123',
        name: 'John Doe',
        department: 'Engineering',
      },
      metadata: {
        source: 'hr-system',
        organizationId: 'org-456',
      },
    })

    // Send to organization-specific topic (`message`: the README leaves it to the reader)
    const message = { type: 'employee.onboard', payload: { employeeId: 'emp-124', name: 'Jane Roe', department: 'Sales' } }
    const [perOrg] = await producer.sendToOrganizationTopic(
      'employee.onboard',
      'org-456',
      message
    )
    step(`producer: sendMessage -> ${single.topicName}, sendToOrganizationTopic -> ${perOrg.topicName}`)

    // --- Consumer --------------------------------------------------------------------------
    const processed = []
    let onProcessed = () => {}
    const consumer = new EventConsumer(
      {
        clientId: 'my-service',
        brokers,
      },
      {
        groupId: 'my-consumer-group',
      }
    )
    closers.unshift(() => consumer.disconnect())

    // Register message handlers
    consumer.registerHandler('employee.onboard', async (message, context) => {
      console.log('Processing onboarding:', message.payload)
      // Process the message
      processed.push({ message, context })
      onProcessed({ message, context })
    })

    await consumer.connect()
    await consumer.subscribe({
      topics: ['employee.onboard.org-456'],
      fromBeginning: false,
    })

    await consumer.run()

    // Added: an onboarding sent now that the group is consuming, so the handler runs.
    let next = expectCall(20000, 'the employee.onboard handler')
    onProcessed = next.done
    await producer.sendToOrganizationTopic('employee.onboard', 'org-456', { type: 'employee.onboard', payload: { employeeId: 'emp-125', name: 'Ana Ruiz', department: 'Legal' } })
    const first = await next.promise
    step(`consumer: my-consumer-group processed ${first.message.type} for ${first.message.payload.employeeId} (organization ${first.message.metadata.organizationId})`)

    // --- DLQ Handler -----------------------------------------------------------------------
    // Added first: a dead letter written two minutes ago, as the consumer's DLQ policy writes them,
    // so that with the README's 60 s reprocess delay it is due now.
    await producer.send('dlq.employee.onboard.org-456', {
      key: 'org-456',
      value: JSON.stringify({ id: 'msg-dead-1', type: 'employee.onboard', payload: { employeeId: 'emp-126', name: 'Li Wei' }, metadata: { correlationId: 'corr-dead-1', organizationId: 'org-456', source: 'hr-system', version: '1.0', timestamp: new Date().toISOString() } }),
      headers: {
        'event-type': 'employee.onboard',
        'dlq-original-topic': 'employee.onboard.org-456',
        'dlq-failed-at': new Date(Date.now() - 120_000).toISOString(),
        'dlq-error-message': 'directory service timeout',
      },
    })
    next = expectCall(20000, 'the replayed onboarding')
    onProcessed = (x) => { if (x.message.id === 'msg-dead-1') next.done(x) }

    const dlqHandler = new DLQHandler({
      clientId: 'dlq-processor',
      brokers,
    }, {
      maxReprocessAttempts: 3,
      reprocessDelayMs: 60000,
      quarantineAfterAttempts: 5,
    })
    closers.unshift(() => dlqHandler.stop())

    await dlqHandler.start()

    const replayed = await next.promise
    const stats = dlqHandler.stats()
    step(`dlq handler: replayed ${replayed.message.payload.employeeId} to employee.onboard.org-456 (dlq-reprocess-count ${replayed.context.headers['dlq-reprocess-count']}); stats received=${stats.received} reprocessed=${stats.reprocessed}`)

    console.log(`seed-002: all ${ran} examples ran`)
  } finally {
    for (const close of closers) await close().catch((e) => console.error('close failed:', e.message))
    cluster.close()
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
