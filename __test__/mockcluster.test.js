// ferrokafka's MockCluster (librdkafka's in-process cluster, reached over TCP): addresses, topics,
// and fault injection (broker down/up, leader moves, RTT, request errors) under which the
// default idempotent producer still delivers every record exactly once and in order.
const path = require('path')
const { execFile } = require('child_process')
const { MockCluster, KafkaJSError, KafkaJSNonRetriableError } = require('..')
const { unique, startCluster, within, consumeUntil, adminOf } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const withAdmin = (fn, client = kafka) => adminOf(client, fn)

async function connectedProducer() {
  const producer = kafka.producer()
  await producer.connect()
  return producer
}

const leaderOf = async (topic, partition = 0) => {
  const meta = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [topic] }))
  return meta.topics[0].partitions.find((p) => p.partitionId === partition).leader
}

/** Reads the whole (single-partition) topic and returns its values in offset order. */
async function readAll(topic, count) {
  const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= count })
  return seen.map((s) => s.message.value.toString())
}

async function highWatermark(topic) {
  const offsets = await withAdmin((admin) => admin.fetchTopicOffsets(topic))
  return offsets.reduce((n, o) => n + Number(o.high), 0)
}

test('bootstrapServers and brokers list one host:port per broker', () => {
  const two = new MockCluster({ brokers: 2 })
  try {
    expect(two.brokers).toHaveLength(2)
    expect(two.bootstrapServers).toBe(two.brokers.join(','))
    for (const b of two.brokers) expect(b).toMatch(/^[\w.-]+:\d{2,5}$/)
  } finally {
    two.close()
  }
  expect(cluster.brokers).toHaveLength(3)
  expect(new Set(cluster.brokers).size).toBe(3)
  expect(cluster.bootstrapServers.split(',')).toEqual(cluster.brokers)
})

test('createTopic creates a topic with the given partitions; creating it again throws', async () => {
  const topic = unique('t')
  const single = unique('t')
  cluster.createTopic(topic, 4, 1)
  cluster.createTopic(single)
  const meta = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [topic, single] }))
  const byName = Object.fromEntries(meta.topics.map((t) => [t.name, t]))
  expect(byName[topic].partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3])
  expect(byName[single].partitions).toHaveLength(1)
  expect(() => cluster.createTopic(topic, 4, 1)).toThrow(/already exists/i)
})

test.each([
  ['partitions', -1, 1], ['partitions', 0, 1], ['partitions', 2147483647, 1], ['partitions', NaN, 1],
  ['replicationFactor', 1, -1], ['replicationFactor', 1, 0], ['replicationFactor', 1, 4],
])('createTopic refuses %s out of range (partitions %s, replication %s) with an error naming it, not a process abort', (field, partitions, replication) => {
  const topic = unique('bad')
  let error = null
  try { cluster.createTopic(topic, partitions, replication) } catch (e) { error = e }
  expect(error).toBeInstanceOf(KafkaJSNonRetriableError)
  expect(error.field).toBe(field)
  expect(error.message).toContain(`\`${field}\``)
  // Nothing was created: the name is still free.
  expect(() => cluster.createTopic(topic, 1, 1)).not.toThrow()
})

test('brokerDown / brokerUp: sends made while the leader is down complete once it is back, exactly once', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  cluster.setPartitionLeader(topic, 0, 1)
  expect(await leaderOf(topic)).toBe(1)
  const producer = await connectedProducer()
  let brokerIsDown = false
  try {
    await producer.send({ topic, messages: [{ value: 'before' }] })
    cluster.brokerDown(1)
    brokerIsDown = true
    const settled = []
    const sends = Array.from({ length: 10 }, (_, i) => producer.send({ topic, messages: [{ value: `during-${i}` }] })
      .finally(() => settled.push(i)))
    // The rest of the cluster keeps answering while broker 1 is down.
    const meta = await within(15000, withAdmin((admin) => admin.fetchTopicMetadata({ topics: [topic] })), 'metadata while down')
    expect(meta.topics[0].name).toBe(topic)
    expect(settled).toEqual([])

    cluster.brokerUp(1)
    brokerIsDown = false
    const results = await within(30000, Promise.all(sends), 'sends after brokerUp')
    expect(results.every(([r]) => r.errorCode === 0 && r.partition === 0)).toBe(true)
    await producer.send({ topic, messages: [{ value: 'after' }] })
  } finally {
    if (brokerIsDown) cluster.brokerUp(1)
    await producer.disconnect()
  }
  const expected = ['before', ...Array.from({ length: 10 }, (_, i) => `during-${i}`), 'after']
  expect(await highWatermark(topic)).toBe(expected.length)
  expect(await readAll(topic, expected.length)).toEqual(expected)
})

test('setPartitionLeader moves leadership; the producer follows it without loss or duplicates', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  cluster.setPartitionLeader(topic, 0, 2)
  expect(await leaderOf(topic)).toBe(2)
  const producer = await connectedProducer()
  try {
    for (let i = 0; i < 5; i++) await producer.send({ topic, messages: [{ value: `a${i}` }] })
    cluster.setPartitionLeader(topic, 0, 3)
    expect(await leaderOf(topic)).toBe(3)
    for (let i = 0; i < 5; i++) await within(30000, producer.send({ topic, messages: [{ value: `b${i}` }] }), 'send after the leader moved')
  } finally {
    await producer.disconnect()
  }
  const expected = [...Array.from({ length: 5 }, (_, i) => `a${i}`), ...Array.from({ length: 5 }, (_, i) => `b${i}`)]
  expect(await highWatermark(topic)).toBe(expected.length)
  expect(await readAll(topic, expected.length)).toEqual(expected)
})

test('setRtt delays every answer of a broker; setting it back to 0 restores speed', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  cluster.setPartitionLeader(topic, 0, 1)
  const producer = await connectedProducer()
  const rtt = 500
  const timed = async (value) => {
    const start = process.hrtime.bigint()
    await producer.send({ topic, messages: [{ value }] })
    return Number(process.hrtime.bigint() - start) / 1e6
  }
  let slowed = false
  try {
    await timed('warm-up')
    cluster.setRtt(1, rtt)
    slowed = true
    const slow = await timed('slow')
    cluster.setRtt(1, 0)
    slowed = false
    await timed('settle')
    const fast = await timed('fast')
    expect(slow).toBeGreaterThanOrEqual(rtt * 0.9)
    expect(fast).toBeLessThan(rtt * 0.6)
  } finally {
    if (slowed) cluster.setRtt(1, 0)
    await producer.disconnect()
  }
})

test('pushRequestErrors(Produce, [NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT]): every record still delivered exactly once, in order', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  // One request in flight: librdkafka's MockCluster checks idempotent sequence numbers only for
  // transactional producers, so with several requests in flight it appends a later batch while an
  // earlier one waits for its retry; librdkafka then takes the earlier one as written (as it must
  // be on a real broker) and it is lost. A real broker answers OUT_OF_ORDER_SEQUENCE_NUMBER.
  const producer = kafka.producer({ maxInFlightRequests: 1 })
  await producer.connect()
  const total = 50
  try {
    await producer.send({ topic, messages: [{ value: 'warm-up' }] })
    cluster.pushRequestErrors('Produce', ['NOT_LEADER_FOR_PARTITION', 'REQUEST_TIMED_OUT'])
    const sends = []
    for (let from = 0; from < total; from += 10) {
      sends.push(producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: String(from + i) })) }))
    }
    const results = await within(30000, Promise.all(sends), 'sends through injected errors')
    expect(results.flat().every((r) => r.errorCode === 0)).toBe(true)
  } finally {
    cluster.clearRequestErrors('Produce')
    await producer.disconnect()
  }
  const expected = ['warm-up', ...Array.from({ length: total }, (_, i) => String(i))]
  expect(await highWatermark(topic)).toBe(expected.length)
  expect(await readAll(topic, expected.length)).toEqual(expected)
})

test('close() twice is fine; calls after close throw', () => {
  const extra = new MockCluster({ brokers: 1 })
  extra.close()
  expect(() => extra.close()).not.toThrow()
  expect(() => extra.createTopic(unique('t'))).toThrow(/closed/)
})

test('pushRequestErrors with an unknown API throws a KafkaJSNonRetriableError naming `api`', () => {
  let err = null
  try {
    cluster.pushRequestErrors('NoSuchApi', ['NOT_LEADER_FOR_PARTITION'])
  } catch (e) {
    err = e
  }
  expect(err).not.toBeNull()
  expect(err.message).toMatch(/`api`/)
  expect(err.message).not.toMatch(/@@ferrokafka@@/)
  expect(err).toBeInstanceOf(KafkaJSError)
  expect(err).toBeInstanceOf(KafkaJSNonRetriableError)
  expect(err.field).toBe('api')
})

test('pushRequestErrors with an unknown error name throws naming `errors` (and does not hang)', async () => {
  // Run apart: a hang in a synchronous native call would freeze Jest itself.
  const child = path.join(__dirname, 'fixtures', 'unknown-error-name.js')
  const outcome = await within(30000, new Promise((resolve) => {
    execFile(process.execPath, [child], { timeout: 10000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({ killed: !!(error && error.killed), code: error ? error.code : 0, stdout, stderr })
    })
  }), 'the unknown-error-name child process')
  const steps = outcome.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
  expect({ killed: outcome.killed, steps: steps.map((s) => s.step) }).toEqual({ killed: false, steps: ['started', 'threw', 'closed'] })
  const threw = steps.find((s) => s.step === 'threw')
  expect(threw.error).toEqual(expect.objectContaining({ field: 'errors', kafkajs: true }))
  expect(threw.error.message).toMatch(/NO_SUCH_ERROR_NAME/)
})
