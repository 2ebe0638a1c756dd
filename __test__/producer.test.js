// The kafkajs Producer contract on a MockCluster over TCP: RecordMetadata, record round-trips,
// sendBatch, key partitioning (Java murmur2, as kafkajs's DefaultPartitioner), explicit
// partitions, idempotent delivery, state and input errors, and disconnect flushing (broker-side
// failures: producer-errors.test.js).
const { Partitioners: KafkaJSPartitioners } = require('kafkajs')
const { KafkaJSNonRetriableError, KafkaJSError } = require('..')
const { unique, startCluster, within, consumeUntil, connectedProducer: connected } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const connectedProducer = (config) => connected(kafka, config)

async function highWatermarks(topic) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await admin.fetchTopicOffsets(topic)
  } finally {
    await admin.disconnect()
  }
}

test('send resolves to kafkajs RecordMetadata[] with string base offsets', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const producer = await connectedProducer()
  try {
    const first = await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] })
    expect(Array.isArray(first)).toBe(true)
    expect(first).toHaveLength(1)
    expect(first[0]).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' })
    expect(typeof first[0].baseOffset).toBe('string')

    const second = await producer.send({ topic, messages: [{ value: 'd' }] })
    expect(second).toEqual([expect.objectContaining({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '3' })])
  } finally {
    await producer.disconnect()
  }
})

test('keys, values and headers round-trip intact as Buffers, with string offsets and timestamps', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const binary = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f, 0x00])
  const sent = [
    { key: 'string-key', value: 'string-value', headers: { single: 'text', bin: binary, list: ['one', Buffer.from('two'), 'three'] } },
    { key: binary, value: Buffer.from('buffer-value') },
    { key: 'tombstone', value: null },
    { value: 'no-key' },
    { key: 'utf8-é✓', value: 'ünïcödé ✓', timestamp: '1600000000123' },
  ]
  const producer = await connectedProducer()
  const before = Date.now()
  try {
    await producer.send({ topic, messages: sent })
  } finally {
    await producer.disconnect()
  }
  const after = Date.now()

  const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= sent.length })
  expect(seen).toHaveLength(sent.length)
  const m = seen.map((s) => s.message)
  m.forEach((msg, i) => {
    expect(msg.offset).toBe(String(i))
    expect(typeof msg.timestamp).toBe('string')
    expect(msg.timestamp).toMatch(/^\d+$/)
  })
  for (const msg of m.slice(0, 4)) {
    expect(Number(msg.timestamp)).toBeGreaterThanOrEqual(before - 1000)
    expect(Number(msg.timestamp)).toBeLessThanOrEqual(after + 1000)
  }

  expect(Buffer.isBuffer(m[0].key)).toBe(true)
  expect(m[0].key.toString()).toBe('string-key')
  expect(Buffer.isBuffer(m[0].value)).toBe(true)
  expect(m[0].value.toString()).toBe('string-value')
  expect(Buffer.isBuffer(m[0].headers.single)).toBe(true)
  expect(m[0].headers.single.toString()).toBe('text')
  expect(Buffer.isBuffer(m[0].headers.bin)).toBe(true)
  expect(Buffer.compare(m[0].headers.bin, binary)).toBe(0)
  expect(Array.isArray(m[0].headers.list)).toBe(true)
  expect(m[0].headers.list.map((b) => (Buffer.isBuffer(b) ? b.toString() : b))).toEqual(['one', 'two', 'three'])
  expect(m[0].headers.list.every((b) => Buffer.isBuffer(b))).toBe(true)

  expect(Buffer.compare(m[1].key, binary)).toBe(0)
  expect(m[1].value.toString()).toBe('buffer-value')

  expect(m[2].key.toString()).toBe('tombstone')
  expect(m[2].value).toBeNull()

  expect(m[3].key).toBeNull()
  expect(m[3].value.toString()).toBe('no-key')

  expect(m[4].key.toString()).toBe('utf8-é✓')
  expect(m[4].value.toString()).toBe('ünïcödé ✓')
  expect(m[4].timestamp).toBe('1600000000123')
})

test('sendBatch writes to two topics in one call', async () => {
  const a = unique('t')
  const b = unique('t')
  cluster.createTopic(a, 1, 1)
  cluster.createTopic(b, 1, 1)
  const producer = await connectedProducer()
  let meta
  try {
    meta = await producer.sendBatch({
      topicMessages: [
        { topic: a, messages: [{ value: 'a0' }, { value: 'a1' }] },
        { topic: b, messages: [{ value: 'b0' }, { value: 'b1' }, { value: 'b2' }] },
      ],
    })
  } finally {
    await producer.disconnect()
  }
  expect(meta).toHaveLength(2)
  const byTopic = Object.fromEntries(meta.map((r) => [r.topicName, r]))
  expect(byTopic[a]).toMatchObject({ topicName: a, partition: 0, errorCode: 0, baseOffset: '0' })
  expect(byTopic[b]).toMatchObject({ topicName: b, partition: 0, errorCode: 0, baseOffset: '0' })

  const seen = await consumeUntil(kafka, { topics: [a, b], done: (s) => s.length >= 5 })
  const values = (t) => seen.filter((s) => s.topic === t).map((s) => s.message.value.toString())
  expect(values(a)).toEqual(['a0', 'a1'])
  expect(values(b)).toEqual(['b0', 'b1', 'b2'])
})

test('the same key always lands on the same partition, the one kafkajs DefaultPartitioner picks', async () => {
  const topic = unique('t')
  const partitions = 6
  cluster.createTopic(topic, partitions, 1)
  const keys = Array.from({ length: 12 }, (_, i) => `key-${i}-${i * 7919}`)
  const chosen = new Map()
  const producer = await connectedProducer()
  try {
    for (let round = 0; round < 5; round++) {
      for (const key of keys) {
        const [meta] = await producer.send({ topic, messages: [{ key, value: `${key}:${round}` }] })
        if (!chosen.has(key)) chosen.set(key, new Set())
        chosen.get(key).add(meta.partition)
      }
    }
    // One send with many records: each record still follows its key.
    const meta = await producer.send({ topic, messages: keys.map((key) => ({ key, value: 'batched' })) })
    const batchedPartitions = new Set(meta.map((r) => r.partition))
    for (const key of keys) expect(batchedPartitions.has([...chosen.get(key)][0])).toBe(true)
  } finally {
    await producer.disconnect()
  }

  for (const key of keys) expect(chosen.get(key).size).toBe(1)
  // Keys spread over more than one partition (a constant partition would pass the check above).
  expect(new Set(keys.map((k) => [...chosen.get(k)][0])).size).toBeGreaterThan(1)

  const kafkajsPartition = KafkaJSPartitioners.DefaultPartitioner()
  const partitionMetadata = Array.from({ length: partitions }, (_, id) => ({
    partitionErrorCode: 0, partitionId: id, leader: 1, replicas: [1], isr: [1],
  }))
  for (const key of keys.slice(0, 6)) {
    const expected = kafkajsPartition({ topic, partitionMetadata, message: { key, value: 'x' } })
    expect({ key, partition: [...chosen.get(key)][0] }).toEqual({ key, partition: expected })
  }
})

test('an explicit partition is honoured whatever the key', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 4, 1)
  const producer = await connectedProducer()
  let meta
  try {
    meta = await producer.send({
      topic,
      // An integer string names the partition too, as kafkajs writes it into the request.
      messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 ? 2 : '2' })),
    })
  } finally {
    await producer.disconnect()
  }
  expect(meta).toEqual([expect.objectContaining({ topicName: topic, partition: 2, errorCode: 0, baseOffset: '0' })])
  const offsets = await highWatermarks(topic)
  expect(offsets.sort((x, y) => x.partition - y.partition).map((o) => o.high)).toEqual(['0', '0', '10', '0'])

  const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= 10 })
  expect(seen.every((s) => s.partition === 2)).toBe(true)
  expect(seen.map((s) => s.message.value.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`))
  // Through a JavaScript partitioner too: kafkajs's LegacyPartitioner hands back the string as given.
  const legacy = await connectedProducer({ createPartitioner: require('..').Partitioners.LegacyPartitioner })
  try {
    expect(await legacy.send({ topic, messages: [{ key: 'k', value: 'v', partition: '3' }] })).toEqual([expect.objectContaining({ partition: 3, errorCode: 0 })])
  } finally {
    await legacy.disconnect()
  }
})

test('the default producer is idempotent: every record is delivered exactly once', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 3, 1)
  const total = 3000
  const producer = await connectedProducer()
  try {
    expect(producer.isIdempotent()).toBe(true)
    const sends = []
    for (let from = 0; from < total; from += 100) {
      const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k${(from + i) % 17}`, value: String(from + i) }))
      sends.push(producer.send({ topic, messages }))
    }
    const results = await within(30000, Promise.all(sends), 'idempotent sends')
    expect(results.flat().every((r) => r.errorCode === 0)).toBe(true)
  } finally {
    await producer.disconnect()
  }

  const offsets = await highWatermarks(topic)
  expect(offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)).toBe(total)

  const counts = new Map()
  const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= total })
  for (const { message } of seen) counts.set(message.value.toString(), (counts.get(message.value.toString()) ?? 0) + 1)
  expect(seen).toHaveLength(total)
  expect(counts.size).toBe(total)
  expect([...counts.values()].every((n) => n === 1)).toBe(true)
})

test('send before connect rejects with kafkajs\'s error: KafkaJSError "The producer is disconnected"', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const producer = kafka.producer()
  try {
    const err = await producer.send({ topic, messages: [{ value: 'x' }] }).then(() => null, (e) => e)
    expect(err).toBeInstanceOf(KafkaJSError)
    expect({ name: err.name, message: err.message, retriable: err.retriable }).toEqual({ name: 'KafkaJSError', message: 'The producer is disconnected', retriable: true })
    const batchErr = await producer.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'x' }] }] }).then(() => null, (e) => e)
    expect(batchErr).toBeInstanceOf(KafkaJSError)
    expect(batchErr.message).toBe('The producer is disconnected')
  } finally {
    await producer.disconnect()
  }
  const offsets = await highWatermarks(topic)
  expect(offsets.map((o) => o.high)).toEqual(['0'])
})

test('invalid input rejects with a KafkaJSNonRetriableError naming the field, and the producer keeps working', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const producer = await connectedProducer()
  const failure = (promise) => promise.then(() => { throw new Error('expected a rejection') }, (e) => e)
  try {
    const notArray = await failure(producer.send({ topic, messages: 'not-an-array' }))
    expect(notArray).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(notArray.name).toBe('KafkaJSNonRetriableError')
    expect(notArray.retriable).toBe(false)
    expect(notArray.field).toBe('messages')

    const numberValue = await failure(producer.send({ topic, messages: [{ value: 'ok' }, { value: 42 }] }))
    expect(numberValue).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(numberValue.field).toBe('messages[1].value')
    expect(numberValue.message).toMatch(/messages\[1\]\.value/)

    const emptyTopic = await failure(producer.send({ topic: '', messages: [{ value: 'x' }] }))
    expect(emptyTopic).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(emptyTopic.field).toBe('topic')

    const batchNotArray = await failure(producer.sendBatch({ topicMessages: [{ topic, messages: null }] }))
    expect(batchNotArray).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(batchNotArray.field).toBe('messages')

    // Nothing of the rejected calls was written, and the producer still sends.
    const [meta] = await producer.send({ topic, messages: [{ value: 'after' }] })
    expect(meta).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' })
  } finally {
    await producer.disconnect()
  }
})

test('disconnect flushes every send still in flight', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 3, 1)
  const total = 5000
  const producer = await connectedProducer()
  const sends = []
  for (let i = 0; i < total; i++) sends.push(producer.send({ topic, messages: [{ key: `k${i % 50}`, value: String(i) }] }))
  await within(30000, producer.disconnect(), 'disconnect')
  const outcomes = await within(1000, Promise.allSettled(sends), 'settling the sends')
  const rejected = outcomes.filter((o) => o.status === 'rejected')
  expect(rejected.map((o) => o.reason && o.reason.message).slice(0, 3)).toEqual([])
  expect(outcomes.every((o) => o.status === 'fulfilled' && o.value[0].errorCode === 0)).toBe(true)
  const offsets = await highWatermarks(topic)
  expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(total)
})

test('send() lists its RecordMetadata by partition, as kafkajs does, whatever order the acknowledgements came in', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 3, 1)
  const messages = [2, 1, 0, 2].map((partition, i) => ({ partition, value: `v${i}` }))
  const shape = (result) => result.map((r) => [r.topicName, r.partition, r.errorCode])
  const ours = kafka.producer()
  await ours.connect()
  const theirs = new (require('kafkajs').Kafka)({ brokers: cluster.brokers, logLevel: 0 }).producer({ createPartitioner: KafkaJSPartitioners.DefaultPartitioner })
  await theirs.connect()
  try {
    const mine = await ours.send({ topic, messages })
    expect(shape(mine)).toEqual(shape(await theirs.send({ topic, messages })))
    expect(shape(mine)).toEqual([[topic, 0, 0], [topic, 1, 0], [topic, 2, 0]])
  } finally {
    await ours.disconnect()
    await theirs.disconnect()
  }
})

test('a message without value is refused as kafkajs refuses it; value: null is a tombstone', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const producer = kafka.producer()
  await producer.connect()
  try {
    const err = await producer.send({ topic, messages: [{ key: 'k' }] }).then(() => null, (e) => e)
    expect(err).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(err.message).toMatch(new RegExp(`^Invalid message without value for topic "${topic}"`))
    const [meta] = await producer.send({ topic, messages: [{ key: 'k', value: null }] })
    expect(meta.errorCode).toBe(0)
  } finally {
    await producer.disconnect()
  }
})

test('a producer with a JavaScript partitioner creates a missing topic on send, as kafkajs producers do (allowAutoTopicCreation)', async () => {
  const { Partitioners } = require('..')
  const topic = unique('new')
  const producer = kafka.producer({ createPartitioner: Partitioners.LegacyPartitioner })
  await producer.connect()
  try {
    const [meta] = await within(20000, producer.send({ topic, messages: [{ key: 'k', value: 'v' }] }), 'send to a new topic')
    expect(meta).toMatchObject({ topicName: topic, errorCode: 0 })
  } finally {
    await producer.disconnect()
  }
})
