// The Producer contract against tansu: records round-trip field by field, sendBatch over two
// topics, keys spread over partitions as kafkajs's DefaultPartitioner spreads them, and every
// compression codec, checked in the batches tansu stored, idempotent and acks=1 producers.
// tansu 0.6.0 has no EndTxn, so transactions cannot commit: those cases are skipped by name.
const { Partitioners: KafkaJSPartitioners } = require('kafkajs')
const { CompressionTypes, KafkaJSNonRetriableError } = require('../..')
const { unique, consumeUntil, sampleRecords, expectedRecord } = require('../helpers')
const { tansuKafka, tansuBrokers, createTopic, produce, skipOnTansu, figure } = require('./env')
const { fetchBatchHeaders } = require('./wire')

const kafka = tansuKafka('interop-producer')
const port = () => Number(tansuBrokers()[0].split(':')[1])

const records = sampleRecords
const expected = expectedRecord
const received = ({ message: m }) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp })
const consumeAll = (topics, count) => consumeUntil(kafka, { topics, done: (seen) => seen.length >= count, timeoutMs: 30000 })

test('send: keys, values, headers and timestamps come back from tansu identical, with string offsets', async () => {
  const topic = unique('t')
  await createTopic(kafka, topic, 1)
  const sent = records('send')
  const meta = await produce(kafka, topic, sent)
  expect(meta).toEqual([{ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: expect.any(String) }])

  const seen = await consumeAll([topic], sent.length)
  expect(seen.map(received)).toEqual(sent.map(expected))
  expect(seen.map((s) => s.message.offset)).toEqual(['0', '1', '2', '3', '4'])
})

test('sendBatch writes to two topics in one call, each in order', async () => {
  const a = unique('ta')
  const b = unique('tb')
  await createTopic(kafka, a, 1)
  await createTopic(kafka, b, 1)
  const producer = kafka.producer()
  await producer.connect()
  let meta
  try {
    meta = await producer.sendBatch({
      topicMessages: [
        { topic: a, messages: Array.from({ length: 20 }, (_, i) => ({ key: `a${i}`, value: `a-${i}` })) },
        { topic: b, messages: Array.from({ length: 10 }, (_, i) => ({ key: `b${i}`, value: `b-${i}`, headers: { i: String(i) } })) },
      ],
    })
  } finally {
    await producer.disconnect()
  }
  expect(meta.map((m) => m.topicName).sort()).toEqual([a, b].sort())

  const seen = await consumeAll([a, b], 30)
  const values = (t) => seen.filter((s) => s.topic === t).map((s) => s.message.value.toString())
  expect(values(a)).toEqual(Array.from({ length: 20 }, (_, i) => `a-${i}`))
  expect(values(b)).toEqual(Array.from({ length: 10 }, (_, i) => `b-${i}`))
  expect(seen.filter((s) => s.topic === b).map((s) => s.message.headers.i.toString())).toEqual(Array.from({ length: 10 }, (_, i) => String(i)))
})

test('keyed records spread over 6 partitions exactly as kafkajs\'s DefaultPartitioner spreads them', async () => {
  const topic = unique('t')
  const partitions = 6
  await createTopic(kafka, topic, partitions)
  const keys = Array.from({ length: 60 }, (_, i) => `key-${i}-${i * 7919}`)
  await produce(kafka, topic, keys.map((key) => ({ key, value: `v-${key}` })))

  const pick = KafkaJSPartitioners.DefaultPartitioner()
  const partitionMetadata = Array.from({ length: partitions }, (_, id) => ({ partitionErrorCode: 0, partitionId: id, leader: 1, replicas: [1], isr: [1] }))
  const want = new Map(keys.map((key) => [key, pick({ topic, partitionMetadata, message: { key, value: 'x' } })]))

  const seen = await consumeAll([topic], keys.length)
  const got = new Map(seen.map((s) => [s.message.key.toString(), s.partition]))
  expect(got).toEqual(want)
  const perPartition = Array.from({ length: partitions }, (_, p) => seen.filter((s) => s.partition === p).length)
  figure('records per partition (60 keys, 6 partitions)', perPartition)
  expect(perPartition.filter((n) => n > 0).length).toBeGreaterThan(1)
  // Within a partition, records keep the order they were sent in.
  for (let p = 0; p < partitions; p++) {
    const order = seen.filter((s) => s.partition === p).map((s) => keys.indexOf(s.message.key.toString()))
    expect(order).toEqual([...order].sort((x, y) => x - y))
  }
})

const codecs = [['GZIP', 'gzip'], ['Snappy', 'snappy'], ['LZ4', 'lz4'], ['ZSTD', 'zstd']]
const sizes = {}
afterAll(() => { if (Object.keys(sizes).length) figure('stored bytes of 200 JSON records per codec', sizes) })

test.each(codecs)('compression %s: tansu stores %s batches and the records read back intact', async (name, codec) => {
  const topic = unique(`t-${codec}`)
  await createTopic(kafka, topic, 1)
  const messages = Array.from({ length: 200 }, (_, i) => ({
    key: `k${i}`,
    value: JSON.stringify({ i, text: 'the quick brown fox jumps over the lazy dog '.repeat(4) }),
    headers: { codec },
  }))
  await produce(kafka, topic, messages, {}, { compression: CompressionTypes[name] })

  const batches = await fetchBatchHeaders(port(), topic, 0)
  expect(batches.length).toBeGreaterThan(0)
  expect(new Set(batches.map((b) => b.codec))).toEqual(new Set([codec]))
  expect(batches.reduce((n, b) => n + b.records, 0)).toBe(200)
  sizes[codec] = batches.reduce((n, b) => n + b.bytes, 0)

  const seen = await consumeAll([topic], 200)
  expect(seen.map((s) => s.message.value.toString())).toEqual(messages.map((m) => m.value))
  expect(seen.map((s) => s.message.key.toString())).toEqual(messages.map((m) => m.key))
  expect(seen.every((s) => s.message.headers.codec.toString() === codec)).toBe(true)
})

test('uncompressed batches as a baseline: codec none, and larger than every compressed one', async () => {
  const topic = unique('t-none')
  await createTopic(kafka, topic, 1)
  const messages = Array.from({ length: 200 }, (_, i) => ({
    key: `k${i}`,
    value: JSON.stringify({ i, text: 'the quick brown fox jumps over the lazy dog '.repeat(4) }),
    headers: { codec: 'none' },
  }))
  await produce(kafka, topic, messages)
  const batches = await fetchBatchHeaders(port(), topic, 0)
  expect(new Set(batches.map((b) => b.codec))).toEqual(new Set(['none']))
  sizes.none = batches.reduce((n, b) => n + b.bytes, 0)
  for (const [, codec] of codecs) if (sizes[codec] !== undefined) expect(sizes[codec]).toBeLessThan(sizes.none)
})

test('the default (idempotent) producer: 10,000 records in 100 concurrent sends, each consumed exactly once, in order per partition', async () => {
  const topic = unique('t')
  await createTopic(kafka, topic, 3)
  const producer = kafka.producer()
  await producer.connect()
  const started = Date.now()
  try {
    await Promise.all(Array.from({ length: 100 }, (_, s) => producer.send({
      topic, messages: Array.from({ length: 100 }, (_, j) => ({ key: `k${s * 100 + j}`, value: String(s * 100 + j) })),
    })))
  } finally {
    await producer.disconnect()
  }
  const sentMs = Date.now() - started
  const seen = await consumeUntil(kafka, { topics: [topic], done: (all) => all.length >= 10000, timeoutMs: 40000 })
  const values = seen.map((x) => Number(x.message.value.toString()))
  figure('idempotent producer, 10,000 records', { sentMs, consumedMs: Date.now() - started - sentMs, delivered: values.length, distinct: new Set(values).size })
  expect(values).toHaveLength(10000)
  expect(new Set(values).size).toBe(10000)
  // Each send's records went out in order: per partition, values from one send ascend.
  for (let p = 0; p < 3; p++) {
    const mine = seen.filter((x) => x.partition === p).map((x) => Number(x.message.value.toString()))
    for (let s = 0; s < 100; s++) {
      const fromSend = mine.filter((v) => Math.floor(v / 100) === s)
      expect(fromSend).toEqual([...fromSend].sort((a, b) => a - b))
    }
  }
})

test('a non-idempotent producer with acks 1 delivers every record with its metadata', async () => {
  const topic = unique('t')
  await createTopic(kafka, topic, 2)
  const meta = await produce(kafka, topic, Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `m${i}` })), { idempotent: false, acks: 1 })
  expect(meta.map((m) => m.partition).sort()).toEqual([0, 1])
  expect(meta.every((m) => m.errorCode === 0 && m.baseOffset === '0')).toBe(true)
  const seen = await consumeAll([topic], 10)
  expect(seen.map((x) => x.message.value.toString()).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort())
})

const NO_END_TXN = 'tansu 0.6.0 has no EndTxn (API key 26), so no transaction can commit or abort'
skipOnTansu('a transaction commits atomically and a read_committed consumer sees its records once', NO_END_TXN)
skipOnTansu('an aborted transaction\'s records are never seen by a read_committed consumer', NO_END_TXN)
skipOnTansu('sendOffsets commits consumed offsets with the transaction', NO_END_TXN)

test('on a broker without EndTxn, commit rejects promptly with a non-retriable error naming EndTxn', async () => {
  const topic = unique('t')
  await createTopic(kafka, topic, 1)
  const producer = kafka.producer({ transactionalId: unique('tx'), timeout: 10000 })
  const started = Date.now()
  try {
    await producer.connect()
    const tx = await producer.transaction()
    await tx.send({ topic, messages: [{ value: 'in a transaction' }] })
    const error = await tx.commit().then(() => null, (e) => e)
    figure('transactional commit on tansu: ms to the error', Date.now() - started)
    expect(error).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(error.message).toMatch(/EndTxn/)
  } finally {
    await producer.disconnect()
  }
})
