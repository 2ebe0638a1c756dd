// Seed 002's clients on a MockCluster over TCP: TopicManager, EventProducer (sendMessage,
// sendToOrganizationTopic, sendTransaction) and EventConsumer (registerHandler, on, runBatch) with
// CorrelationTracker inside handlers.
const {
  TopicManager, EventProducer, EventConsumer, createConsumer, CorrelationTracker,
} = require('..')
const { unique, deferred, within, inbox, adminOf } = require('./helpers')
const support = require('./events-support')
const { UUID_V4, createTopics, headerText, readUntil, committed, produce } = support

let cluster, kafka, cfg
// TopicManager's test finds the review and quarantine topics existing: only the DLQ topic is new.
beforeAll(() => ({ cluster, kafka, cfg } = support.startWithReviewTopics('events-clients-test')))
afterAll(() => cluster.close())

describe('TopicManager', () => {
  test('ensureTopics creates only missing topics; createOrganizationTopics; DLQ / review / quarantine names', async () => {
    const manager = new TopicManager(cfg)
    const t1 = unique('tm')
    const t2 = unique('tm')
    expect(await manager.ensureTopics([{ topic: t1, numPartitions: 3 }, { topic: t2, numPartitions: 2 }])).toEqual([t1, t2])
    expect(await manager.ensureTopics([{ topic: t1, numPartitions: 3 }])).toEqual([])
    const org = unique('org')
    const created = await manager.createOrganizationTopics(['employee.onboard', 'node.execute'], org, 4)
    expect(created).toEqual([`employee.onboard.${org}`, `node.execute.${org}`])
    expect(manager.organizationTopic('employee.onboard', org)).toBe(`employee.onboard.${org}`)
    await adminOf(kafka, async (admin) => {
      const topics = await admin.listTopics()
      for (const t of [t1, t2, ...created]) expect(topics).toContain(t)
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [t1, t2, created[0]] })
      const partitions = Object.fromEntries(meta.map((m) => [m.name, m.partitions.length]))
      expect(partitions).toEqual({ [t1]: 3, [t2]: 2, [created[0]]: 4 })
    })
    expect(manager.getDLQTopic('employee.onboard')).toBe('dlq.employee.onboard')
    expect(manager.getQuarantineTopic()).toBe('quarantine.queue')
    expect(manager.getManualReviewTopic()).toBe('manual.review.queue')
    // The review and quarantine topics exist already (beforeAll): only the DLQ is new.
    expect(await manager.ensureDeadLetterTopics([t1])).toEqual([`dlq.${t1}`])
  })
})

describe('EventProducer', () => {
  test('sendToOrganizationTopic: to <topic>.<org>, keyed by the organization, metadata completed', async () => {
    const org = unique('org')
    const topic = `employee.onboard.${org}`
    createTopics(topic)
    const producer = new EventProducer(cfg, { source: 'hr-system' })
    await producer.connect()
    try {
      expect(producer.isConnected).toBe(true)
      const [meta] = await producer.sendToOrganizationTopic('employee.onboard', org, {
        type: 'employee.onboard', payload: { employeeId: 'emp-123', name: 'John Doe' }, metadata: { employeeId: 'emp-123' },
      })
      expect(meta.topicName).toBe(topic)
    } finally {
      await producer.disconnect()
    }
    expect(producer.isConnected).toBe(false)
    const [record] = await readUntil(topic, (s) => s.length >= 1)
    expect(record.message.key.toString()).toBe(org)
    const msg = JSON.parse(record.message.value.toString())
    expect(msg.type).toBe('employee.onboard')
    expect(msg.payload).toEqual({ employeeId: 'emp-123', name: 'John Doe' })
    expect(msg.metadata).toEqual(expect.objectContaining({ organizationId: org, employeeId: 'emp-123', source: 'hr-system', version: '1.0' }))
    expect(msg.id).toMatch(UUID_V4)
    expect(headerText(record.message, 'event-type')).toBe('employee.onboard')
    expect(headerText(record.message, 'correlation-id')).toBe(msg.metadata.correlationId)
  })

  test('sendMessage fills id, correlationId, timestamp, source and version; keeps what is given', async () => {
    const topic = unique('employee.onboard')
    createTopics(topic)
    const producer = new EventProducer(cfg)
    await producer.connect()
    const before = Date.now()
    try {
      await producer.sendMessage(topic, { type: 'employee.onboard', payload: { n: 1 }, metadata: { source: 'hr-system', organizationId: 'org-456' } })
      await CorrelationTracker.run('corr-from-context', () =>
        producer.sendMessage(topic, { type: 'employee.onboard', payload: { n: 2 } }))
      await producer.sendMessage(topic, {
        id: 'fixed-id', type: 'employee.onboard', payload: { n: 3 },
        metadata: { correlationId: 'corr-given', timestamp: '2020-01-01T00:00:00.000Z', source: 's', version: '2.0' },
      }, 'explicit-key')
    } finally {
      await producer.disconnect()
    }
    const records = await readUntil(topic, (s) => s.length >= 3)
    const [r1, r2, r3] = records.map((r) => ({ key: r.message.key.toString(), msg: JSON.parse(r.message.value.toString()), headers: r.message.headers }))
    expect(r1.msg.id).toMatch(UUID_V4)
    expect(r1.msg.metadata.correlationId).toMatch(UUID_V4)
    expect(Date.parse(r1.msg.metadata.timestamp)).toBeGreaterThanOrEqual(before - 1000)
    expect(r1.msg.metadata).toEqual(expect.objectContaining({ source: 'hr-system', version: '1.0', organizationId: 'org-456' }))
    expect(r1.key).toBe('org-456')
    expect(r2.msg.metadata.correlationId).toBe('corr-from-context')
    expect(r2.msg.metadata.source).toBe('ferrokafka')
    expect(r2.key).toBe(r2.msg.id)
    expect(r3.msg.id).toBe('fixed-id')
    expect(r3.msg.metadata).toEqual({ correlationId: 'corr-given', timestamp: '2020-01-01T00:00:00.000Z', source: 's', version: '2.0' })
    expect(r3.key).toBe('explicit-key')
    expect(r3.headers['correlation-id'].toString()).toBe('corr-given')
  })

  test('sendTransaction commits both sends; a throwing callback rejects with its error; the producer goes on', async () => {
    const policies = unique('policy.created')
    const payments = unique('payment.initiated')
    createTopics(policies, payments)
    const producer = new EventProducer(cfg)
    await producer.connect()
    try {
      const result = await within(30000, producer.sendTransaction(async (tx) => {
        await tx.send({ topic: policies, messages: [{ key: 'policy-1', value: 'p1' }] })
        await tx.send({ topic: payments, messages: [{ key: 'payment-1', value: 'pay1' }] })
        return 'done'
      }), 'the committed transaction')
      expect(result).toBe('done')

      const failure = new Error('payment provider refused')
      // MockCluster writes no abort markers, so the aborted record is not asserted invisible here.
      await expect(producer.sendTransaction(async (tx) => {
        await tx.send({ topic: policies, messages: [{ key: 'policy-2', value: 'p2-aborted' }] })
        throw failure
      })).rejects.toBe(failure)

      await within(30000, producer.sendTransaction(async (tx) => {
        await tx.sendBatch({ topicMessages: [{ topic: payments, messages: [{ key: 'payment-3', value: 'pay3' }] }] })
      }), 'a transaction after the aborted one')
    } finally {
      await producer.disconnect()
    }
    const seenPolicies = await readUntil(policies, (s) => s.some((r) => r.message.value.toString() === 'p1'))
    expect(seenPolicies[0].message.key.toString()).toBe('policy-1')
    const seenPayments = await readUntil(payments, (s) => s.some((r) => r.message.value.toString() === 'pay3'))
    expect(seenPayments.map((r) => r.message.value.toString())).toEqual(['pay1', 'pay3'])
  })
})

describe('EventConsumer', () => {
  test('registerHandler dispatches by envelope type; on(topic) sees every record; unhandled types are committed', async () => {
    const topic = unique('employee.events')
    createTopics(topic)
    const groupId = unique('g')
    const consumer = new EventConsumer(cfg, { groupId })
    const onboard = inbox()
    const offboard = inbox()
    const everything = inbox()
    consumer.registerHandler('employee.onboard', async (message, context) => {
      onboard.push({ message, context, current: CorrelationTracker.getCorrelationId() })
    })
    consumer.registerHandler('employee.offboard', async (message) => offboard.push(message))
    consumer.on(topic, async (message, context) => everything.push({ message, context }))
    const producer = new EventProducer(cfg)
    await producer.connect()
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: false })
      await consumer.run()
      await producer.sendMessage(topic, { type: 'employee.transfer', payload: { n: 0 } })
      await producer.sendMessage(topic, { type: 'employee.onboard', payload: { n: 1 }, metadata: { correlationId: 'corr-onboard' } })
      // No event-type header: the type is read from the envelope itself.
      await producer.send(topic, { key: 'raw', value: JSON.stringify({ id: 'raw-1', type: 'employee.offboard', payload: { n: 2 }, metadata: { correlationId: 'c2' } }) })
      await offboard.waitFor((m) => m.payload.n === 2)
      await everything.waitFor((x) => x.message.offset === '2')
      const got = await onboard.waitFor(() => true)
      expect(got.message.type).toBe('employee.onboard')
      expect(got.message.payload).toEqual({ n: 1 })
      expect(got.context.correlationId).toBe('corr-onboard')
      expect(got.context.topic).toBe(topic)
      expect(got.context.attempt).toBe(1)
      expect(got.current).toBe('corr-onboard')
      expect(onboard.seen).toHaveLength(1)
      expect(offboard.seen.map((m) => m.id)).toEqual(['raw-1'])
      // on(topic) gets the raw Kafka message of every record, in order.
      expect(everything.seen.map((x) => x.message.offset)).toEqual(['0', '1', '2'])
      expect(Buffer.isBuffer(everything.seen[0].message.value)).toBe(true)
    } finally {
      await consumer.disconnect()
      await producer.disconnect()
    }
    expect(await committed(groupId, topic)).toBe('3')
  })

  test('runBatch: resolveOffset and heartbeat; the resolved offsets are committed', async () => {
    const topic = unique('analytics.event')
    createTopics(topic)
    const groupId = unique('g')
    await produce(topic, Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })))
    const consumer = createConsumer({ groupId, topics: [topic], fromBeginning: true }, cfg)
    const seen = []
    const all = deferred()
    try {
      await consumer.connect()
      await consumer.runBatch(async ({ batch, resolveOffset, heartbeat }) => {
        expect(batch.topic).toBe(topic)
        for (const message of batch.messages) {
          seen.push(message.value.toString())
          resolveOffset(message.offset)
          await heartbeat()
        }
        if (seen.length >= 5) all.resolve()
      })
      await within(20000, all.promise, 'five records')
    } finally {
      await consumer.disconnect()
    }
    expect(seen).toEqual(['v0', 'v1', 'v2', 'v3', 'v4'])
    expect(await committed(groupId, topic)).toBe('5')
  })

  test('CorrelationTracker: run / getCorrelationId across awaits, and inside on(topic) handlers', async () => {
    expect(CorrelationTracker.getCorrelationId()).toBeUndefined()
    const inner = await CorrelationTracker.run('corr-a', async () => {
      await new Promise((r) => setImmediate(r))
      const nested = CorrelationTracker.run('corr-b', () => CorrelationTracker.getCorrelationId())
      return [CorrelationTracker.getCorrelationId(), nested]
    })
    expect(inner).toEqual(['corr-a', 'corr-b'])
    expect(CorrelationTracker.run(undefined, () => CorrelationTracker.getCorrelationId())).toMatch(UUID_V4)
    expect(CorrelationTracker.getCorrelationId()).toBeUndefined()

    const topic = unique('corr')
    createTopics(topic)
    const consumer = createConsumer({ groupId: unique('g'), topics: [topic], fromBeginning: true }, cfg)
    const got = inbox()
    consumer.on(topic, async (message, context) => {
      await new Promise((r) => setImmediate(r))
      got.push({ value: message.value.toString(), current: CorrelationTracker.getCorrelationId(), context })
    })
    try {
      await consumer.connect()
      await consumer.run()
      await produce(topic, [
        { value: 'with', headers: { 'correlation-id': 'corr-header-1' } },
        { value: 'without' },
      ])
      const withHeader = await got.waitFor((x) => x.value === 'with')
      const without = await got.waitFor((x) => x.value === 'without')
      expect(withHeader.current).toBe('corr-header-1')
      expect(withHeader.context.correlationId).toBe('corr-header-1')
      // No header: the handler still runs with a (new) correlation id of its own.
      expect(without.current).toMatch(UUID_V4)
      expect(without.current).not.toBe('corr-header-1')
    } finally {
      await consumer.disconnect()
    }
    expect(CorrelationTracker.getCorrelationId()).toBeUndefined()
  })
})
