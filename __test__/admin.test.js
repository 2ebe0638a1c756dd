// The kafkajs Admin contract on a MockCluster over TCP: topics, metadata, topic and group
// offsets, and the group calls. librdkafka's MockCluster has no ListGroups, DescribeGroups,
// DeleteGroups, DeleteTopics or CreatePartitions API: for those the contract is a KafkaJS error
// that says the broker does not support the call, quickly, with the process intact.
const path = require('path')
const { execFile } = require('child_process')
const { Kafka, KafkaJSError, KafkaJSProtocolError, KafkaJSNonRetriableError, logLevel } = require('..')
const kafkajs = require('kafkajs')
const { unique, startCluster, within, nextEvent, inbox, adminOf, sendWith } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const withAdmin = (fn, client = kafka) => adminOf(client, fn)

const produce = (topic, messages) => sendWith(kafka, topic, messages)

const byPartition = (list) => list.slice().sort((a, b) => a.partition - b.partition)
const offsetsOf = (fetched, topic) => byPartition(fetched.find((t) => t.topic === topic).partitions).map((p) => p.offset)
const UNSUPPORTED = /not support|unsupported/i

test('createTopics resolves true for a new topic and false for an existing one; listTopics lists it', async () => {
  const topic = unique('t')
  await withAdmin(async (admin) => {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] })).toBe(true)
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] })).toBe(false)
    const topics = await admin.listTopics()
    expect(Array.isArray(topics)).toBe(true)
    expect(topics).toContain(topic)
    const meta = await admin.fetchTopicMetadata({ topics: [topic] })
    expect(meta.topics[0].partitions).toHaveLength(3)
  })
  // The created topic takes records.
  const [meta] = await produce(topic, [{ value: 'x', partition: 2 }])
  expect(meta).toMatchObject({ topicName: topic, partition: 2, errorCode: 0 })
})

test('createTopics with validateOnly creates nothing (false for an existing topic); one topic twice is refused, as kafkajs', async () => {
  const topic = unique('t')
  const existing = unique('t')
  cluster.createTopic(existing, 1, 1)
  await withAdmin(async (admin) => {
    expect(await within(10000, admin.createTopics({ validateOnly: true, topics: [{ topic, numPartitions: 2 }] }), 'validateOnly')).toBe(true)
    expect(await admin.listTopics()).not.toContain(topic)
    expect(await within(10000, admin.createTopics({ validateOnly: true, topics: [{ topic: existing }] }), 'validateOnly, existing')).toBe(false)
    const twice = await admin.createTopics({ topics: [{ topic }, { topic }] }).then(() => null, (e) => e)
    expect(twice).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(twice.message).toBe('Invalid topics array, it cannot have multiple entries for the same topic')
    expect(await admin.listTopics()).not.toContain(topic)
  })
})

test('fetchTopicMetadata has kafkajs\'s shape', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 3, 1)
  const meta = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [topic] }))
  expect(meta.topics).toHaveLength(1)
  const [t] = meta.topics
  expect(t.name).toBe(topic)
  expect(t.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2])
  for (const p of t.partitions) {
    expect(p).toEqual(expect.objectContaining({
      partitionErrorCode: 0,
      partitionId: expect.any(Number),
      leader: expect.any(Number),
      replicas: expect.any(Array),
      isr: expect.any(Array),
    }))
    expect([1, 2, 3]).toContain(p.leader)
    expect(p.replicas).toContain(p.leader)
    expect(p.isr).toContain(p.leader)
    expect(p.replicas.every(Number.isInteger)).toBe(true)
  }
})

test('fetchTopicMetadata of a missing topic rejects as kafkajs does (UNKNOWN_TOPIC_OR_PARTITION, 3) and creates nothing', async () => {
  const missing = unique('missing')
  const describe = (e) => ({ name: e.name, type: e.type, code: e.code, retriable: e.retriable })
  const ours = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [missing] }).then(() => null, (e) => e))
  expect(ours).toBeInstanceOf(KafkaJSProtocolError)
  const theirs = await kafkajsAdmin((admin) => admin.fetchTopicMetadata({ topics: [missing] }).then(() => null, (e) => e))
  expect(describe(ours)).toEqual(describe(theirs))
  expect(describe(ours)).toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3 })
  // librdkafka's admin client is a producer, whose metadata requests would have created it.
  expect(await withAdmin((admin) => admin.listTopics())).not.toContain(missing)
})

/** kafkajs 2.2.4 itself against the same MockCluster: the reference for a result's shape. */
async function kafkajsAdmin(fn) {
  const admin = new kafkajs.Kafka({ brokers: cluster.brokers, logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 0 } }).admin()
  await admin.connect()
  try { return await fn(admin) } finally { await admin.disconnect() }
}

test('describeCluster names every broker, the controller and the cluster id, as kafkajs does', async () => {
  const ours = await withAdmin((admin) => admin.describeCluster())
  const theirs = await kafkajsAdmin((admin) => admin.describeCluster())
  const sorted = (brokers) => brokers.slice().sort((a, b) => a.nodeId - b.nodeId)
  expect(sorted(ours.brokers)).toEqual(sorted(theirs.brokers))
  expect(ours.brokers.map((b) => `${b.host}:${b.port}`).sort()).toEqual(cluster.brokers.slice().sort())
  expect({ controller: ours.controller, clusterId: ours.clusterId }).toEqual({ controller: theirs.controller, clusterId: theirs.clusterId })
  expect(typeof ours.clusterId).toBe('string')
})

test('fetchTopicOffsetsByTimestamp answers as kafkajs does; without a time, the high watermarks', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 3, 1)
  const at = (partition, timestamp) => ({ partition, value: `p${partition}@${timestamp}`, timestamp: String(timestamp) })
  // Partition 0: 1000, 2000, 3000; partition 1: 500; partition 2: nothing.
  await produce(topic, [at(0, 1000), at(0, 2000), at(0, 3000), at(1, 500)])
  for (const ts of [1500, 3000, 3001, 0, undefined]) {
    const ours = byPartition(await withAdmin((admin) => admin.fetchTopicOffsetsByTimestamp(topic, ts)))
    const theirs = byPartition(await kafkajsAdmin((admin) => admin.fetchTopicOffsetsByTimestamp(topic, ts)))
    expect({ ts, offsets: ours }).toEqual({ ts, offsets: theirs })
  }
  // MockCluster's ListOffsets answers any time with the end offset (for kafkajs too); the lookup by
  // time itself is checked against tansu (__test__/interop/admin.test.js).
  expect(byPartition(await withAdmin((admin) => admin.fetchTopicOffsetsByTimestamp(topic)))).toEqual([
    { partition: 0, offset: '3' }, { partition: 1, offset: '1' }, { partition: 2, offset: '0' },
  ])
})

test('fetchTopicOffsets reports high, low and offset as strings after producing', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 3, 1)
  await produce(topic, [
    ...Array.from({ length: 5 }, (_, i) => ({ value: `p0-${i}`, partition: 0 })),
    ...Array.from({ length: 2 }, (_, i) => ({ value: `p1-${i}`, partition: 1 })),
  ])
  const offsets = await withAdmin((admin) => admin.fetchTopicOffsets(topic))
  expect(byPartition(offsets)).toEqual([
    expect.objectContaining({ partition: 0, offset: '5', high: '5', low: '0' }),
    expect.objectContaining({ partition: 1, offset: '2', high: '2', low: '0' }),
    expect.objectContaining({ partition: 2, offset: '0', high: '0', low: '0' }),
  ])
})

test('fetchOffsets, setOffsets and resetOffsets on a group with no members', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 3, 1)
  await produce(topic, [
    ...Array.from({ length: 5 }, (_, i) => ({ value: `p0-${i}`, partition: 0 })),
    ...Array.from({ length: 2 }, (_, i) => ({ value: `p1-${i}`, partition: 1 })),
  ])
  await withAdmin(async (admin) => {
    const none = await admin.fetchOffsets({ groupId, topics: [topic] })
    expect(none).toEqual([{ topic, partitions: expect.any(Array) }])
    expect(offsetsOf(none, topic)).toEqual(['-1', '-1', '-1'])

    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '1' }] })
    expect(offsetsOf(await admin.fetchOffsets({ groupId, topics: [topic] }), topic)).toEqual(['3', '1', '-1'])

    await admin.resetOffsets({ groupId, topic, earliest: true })
    expect(offsetsOf(await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true }), topic)).toEqual(['0', '0', '0'])

    await admin.resetOffsets({ groupId, topic })
    expect(offsetsOf(await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true }), topic)).toEqual(['5', '2', '0'])
  })
  // A group that committed nothing: resolveOffsets turns -1 (latest) into the high watermarks and
  // commits them, as kafkajs does; a plain fetch afterwards reads them back.
  await withAdmin(async (admin) => {
    const fresh = unique('g')
    expect(offsetsOf(await admin.fetchOffsets({ groupId: fresh, topics: [topic], resolveOffsets: true }), topic)).toEqual(['5', '2', '0'])
    expect(offsetsOf(await admin.fetchOffsets({ groupId: fresh, topics: [topic] }), topic)).toEqual(['5', '2', '0'])
    await expect(admin.fetchOffsets({ groupId: fresh, topics: [topic], resolveOffsets: 'yes' })).rejects.toMatchObject({ name: 'KafkaJSNonRetriableError' })
  })

  // A member of the group now starts at the latest offsets: it sees the new record only.
  await produce(topic, [{ value: 'fresh', partition: 0 }])
  const consumer = kafka.consumer({ groupId })
  const box = inbox()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async ({ partition, message }) => { box.push({ partition, offset: message.offset, value: message.value.toString() }) } })
    await box.waitFor((m) => m.value === 'fresh')
  } finally {
    await consumer.disconnect()
  }
  expect(box.seen).toEqual([{ partition: 0, offset: '5', value: 'fresh' }])
})

test('listGroups and describeGroups after a consumer joined: a KafkaJS error naming the unsupported call (no group APIs on MockCluster)', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  const consumer = kafka.consumer({ groupId })
  const joined = nextEvent(consumer, consumer.events.GROUP_JOIN)
  const admin = kafka.admin()
  await admin.connect()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async () => {} })
    const join = await within(20000, joined, 'GROUP_JOIN')
    expect(join.payload.groupId).toBe(groupId)

    const listed = await within(15000, admin.listGroups().then(() => null, (e) => e), 'listGroups')
    expect(listed).toBeInstanceOf(KafkaJSError)
    expect(listed.message).toMatch(UNSUPPORTED)

    const described = await within(15000, admin.describeGroups([groupId]).then(() => null, (e) => e), 'describeGroups')
    expect(described).toBeInstanceOf(KafkaJSError)
    expect(described.message).toMatch(UNSUPPORTED)
  } finally {
    await consumer.disconnect()
    await admin.disconnect()
  }
})

test('deleteGroups on MockCluster: a KafkaJS error naming the unsupported call, and the client still disconnects cleanly', async () => {
  // Run apart: a native abort here must show up as a failed assertion, not a dead Jest process.
  const child = path.join(__dirname, 'fixtures', 'delete-groups.js')
  const outcome = await within(60000, new Promise((resolve) => {
    execFile(process.execPath, [child], { timeout: 50000 }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, signal: error ? error.signal : null, stdout, stderr })
    })
  }), 'the deleteGroups child process')
  const steps = outcome.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const step = (name) => steps.find((s) => s.step === name)

  expect(step('setOffsets')).toBeDefined()
  const deleted = step('deleteGroups')
  expect(deleted).toBeDefined()
  expect(deleted.error).toEqual(expect.objectContaining({ kafkajs: true }))
  expect(deleted.error.message).toMatch(UNSUPPORTED)
  expect({ steps: steps.map((s) => s.step), stderr: outcome.stderr.trim() }).toEqual({
    steps: ['setOffsets', 'deleteGroups', 'disconnected', 'closed'],
    stderr: '',
  })
  expect({ code: outcome.code, signal: outcome.signal }).toEqual({ code: 0, signal: null })
})

describe('calls MockCluster has no API for', () => {
  // kafkajs's requestTimeout bounds each request; `timeout` bounds the operation.
  let shortKafka
  beforeAll(() => { shortKafka = new Kafka({ clientId: 'short', brokers: cluster.brokers, logLevel: logLevel.NOTHING, requestTimeout: 3000 }) })

  test('deleteTopics rejects with a KafkaJS error that says the broker does not support it', async () => {
    const topic = unique('t')
    cluster.createTopic(topic, 1, 1)
    const err = await withAdmin((admin) => within(15000, admin.deleteTopics({ topics: [topic], timeout: 2000 }).then(() => null, (e) => e), 'deleteTopics'), shortKafka)
    expect(err).toBeInstanceOf(KafkaJSError)
    expect(err.message).toMatch(UNSUPPORTED)
    // The topic is still there.
    expect(await withAdmin((admin) => admin.listTopics())).toContain(topic)
  })

  test('createPartitions rejects with a KafkaJS error that says the broker does not support it', async () => {
    const topic = unique('t')
    cluster.createTopic(topic, 1, 1)
    const err = await withAdmin((admin) => within(15000, admin.createPartitions({ topicPartitions: [{ topic, count: 3 }], timeout: 2000 }).then(() => null, (e) => e), 'createPartitions'), shortKafka)
    expect(err).toBeInstanceOf(KafkaJSError)
    expect(err.message).toMatch(UNSUPPORTED)
    const meta = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [topic] }))
    expect(meta.topics[0].partitions).toHaveLength(1)
  })

  test('describeConfigs and alterConfigs reject at once with a KafkaJS error naming the call', async () => {
    const topic = unique('t')
    cluster.createTopic(topic, 1, 1)
    const resource = { type: 2, name: topic }
    const errors = await withAdmin(async (admin) => [
      await within(5000, admin.describeConfigs({ resources: [resource] }).then(() => null, (e) => e), 'describeConfigs'),
      await within(5000, admin.alterConfigs({ resources: [{ ...resource, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }).then(() => null, (e) => e), 'alterConfigs'),
    ])
    for (const [err, call] of [[errors[0], 'describeConfigs'], [errors[1], 'alterConfigs']]) {
      expect(err).toBeInstanceOf(KafkaJSError)
      expect(err.message).toMatch(UNSUPPORTED)
      expect(err.message).toContain(call)
    }
  })
})

test('alterConfigs without configEntries is refused before anything is sent: it would reset the whole configuration', async () => {
  const err = await withAdmin((admin) => admin.alterConfigs({ resources: [{ type: 2, name: unique('t') }] }).then(() => null, (e) => e))
  expect(err).toBeInstanceOf(KafkaJSNonRetriableError)
  expect(err.field).toBe('resources[0].configEntries')
})

test('the admin calls ferrokafka does not offer yet exist and reject naming themselves, not with a TypeError', async () => {
  const calls = ['deleteTopicRecords', 'createAcls', 'describeAcls', 'deleteAcls', 'alterPartitionReassignments', 'listPartitionReassignments']
  const errors = await withAdmin((admin) => Promise.all(calls.map((c) => admin[c]({}).then(() => null, (e) => e))))
  errors.forEach((err, i) => {
    expect(err).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(err.message).toContain(`admin.${calls[i]}() is not supported`)
  })
})
