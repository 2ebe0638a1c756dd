// kafkajs `createPartitioner` (issue #9): a user's JavaScript partitioner runs while each batch is
// packed, gets kafkajs's { topic, partitionMetadata, message }, and its choice is where the records
// land (checked by consuming them). The Legacy partitioner keeps kafkajs 1.x's partitions.
const { Partitioners: KafkaJSPartitioners } = require('kafkajs')
const { Partitioners, KafkaJSNonRetriableError } = require('..')
const { unique, startCluster, consumeUntil } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

async function withProducer(config, fn) {
  const producer = kafka.producer(config)
  await producer.connect()
  try {
    return await fn(producer)
  } finally {
    await producer.disconnect()
  }
}

const consumeAll = (topic, count) => consumeUntil(kafka, { topics: [topic], done: (seen) => seen.length >= count })

test('a partitioner that always answers 2 puts every record on partition 2', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 4, 1)
  const meta = await withProducer({ createPartitioner: () => () => 2 }, (p) =>
    p.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) }))
  expect(meta).toEqual([expect.objectContaining({ topicName: topic, partition: 2, baseOffset: '0' })])
  const seen = await consumeAll(topic, 20)
  expect(new Set(seen.map((s) => s.partition))).toEqual(new Set([2]))
  expect(seen.map((s) => s.message.value.toString()).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort())
})

test('a partitioner routing by header, delegating to the default one otherwise, across sendBatch topics', async () => {
  const a = unique('t'), b = unique('t')
  cluster.createTopic(a, 3, 1)
  cluster.createTopic(b, 5, 1)
  const calls = []
  const createPartitioner = () => {
    const fallback = Partitioners.DefaultPartitioner()
    return (args) => {
      calls.push(args)
      const region = args.message.headers?.region?.toString()
      return region === 'eu' ? 0 : region === 'us' ? args.partitionMetadata.length - 1 : fallback(args)
    }
  }
  const messages = [
    { key: 'x1', value: 'eu-1', headers: { region: 'eu' } },
    { key: 'x2', value: 'us-1', headers: { region: Buffer.from('us') } },
    { key: 'x3', value: 'none' },
  ]
  await withProducer({ createPartitioner }, (p) => p.sendBatch({ topicMessages: [{ topic: a, messages }, { topic: b, messages }] }))

  // kafkajs's arguments: the topic, its partitions' metadata and the user's own message object.
  expect(calls).toHaveLength(6)
  expect(calls[0].topic).toBe(a)
  expect(calls[0].message).toBe(messages[0])
  expect(calls[0].partitionMetadata.map((p) => p.partitionId)).toEqual([0, 1, 2])
  expect(calls[0].partitionMetadata[0]).toEqual(expect.objectContaining({ partitionErrorCode: 0, leader: expect.any(Number), replicas: expect.any(Array), isr: expect.any(Array) }))
  expect(calls[3].partitionMetadata).toHaveLength(5)

  const expectedNone = (n) => KafkaJSPartitioners.DefaultPartitioner()({ topic: a, partitionMetadata: n === 3 ? calls[0].partitionMetadata : calls[3].partitionMetadata, message: messages[2] })
  for (const [topic, partitions] of [[a, 3], [b, 5]]) {
    const seen = await consumeAll(topic, 3)
    const where = Object.fromEntries(seen.map((s) => [s.message.value.toString(), s.partition]))
    expect(where).toEqual({ 'eu-1': 0, 'us-1': partitions - 1, none: expectedNone(partitions) })
  }
})

test('LegacyPartitioner puts each key where kafkajs LegacyPartitioner does', async () => {
  const topic = unique('t')
  const partitions = 7
  cluster.createTopic(topic, partitions, 1)
  const keys = Array.from({ length: 60 }, (_, i) => `legacy-key-${i}-${'x'.repeat(i % 9)}`)
  await withProducer({ createPartitioner: Partitioners.LegacyPartitioner }, (p) =>
    p.send({ topic, messages: keys.map((key) => ({ key, value: key })) }))
  const seen = await consumeAll(topic, keys.length)
  const legacy = KafkaJSPartitioners.LegacyPartitioner()
  const partitionMetadata = Array.from({ length: partitions }, (_, id) => ({ partitionErrorCode: 0, partitionId: id, leader: 1, replicas: [1], isr: [1] }))
  for (const s of seen) {
    const key = s.message.key.toString()
    expect({ key, partition: s.partition }).toEqual({ key, partition: legacy({ topic, partitionMetadata, message: { key } }) })
  }
  // The keys spread (a partitioner answering a constant would pass the loop above only by luck).
  expect(new Set(seen.map((s) => s.partition)).size).toBeGreaterThan(3)
})

test('a partitioner in a transaction decides the partitions of transactional sends', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 3, 1)
  const meta = await withProducer({ transactionalId: unique('tx'), createPartitioner: () => () => 1 }, async (p) => {
    const tx = await p.transaction()
    const m = await tx.send({ topic, messages: [{ value: 'in-tx' }] })
    await tx.commit()
    return m
  })
  expect(meta).toEqual([expect.objectContaining({ partition: 1 })])
})

test('a bad partition from the partitioner fails the send, naming createPartitioner', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 2, 1)
  await withProducer({ createPartitioner: () => () => 5 }, async (p) => {
    const err = await p.send({ topic, messages: [{ value: 'x' }] }).catch((e) => e)
    expect(err).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(err.field).toBe('createPartitioner')
    expect(err.message).toMatch(/from 0 to 1, got 5/)
  })
  expect(() => kafka.producer({ createPartitioner: () => 'nope' })).toThrow(/createPartitioner/)
})
