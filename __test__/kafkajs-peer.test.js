// kafkajs 2.2.4 as a peer on the same MockCluster: what ferrokafka writes kafkajs reads and the
// other way round, field by field (key, value, headers, timestamp), and both clients' default
// and Legacy partitioners put the same key on the same partition.
const kafkajs = require('kafkajs')
const { Partitioners, logLevel } = require('..')
const { unique, startCluster, deferred, within, consumeUntil, sampleRecords, expectedRecord } = require('./helpers')

let cluster, kafka, peer
beforeAll(() => {
  ({ cluster, kafka } = startCluster())
  peer = new kafkajs.Kafka({ clientId: 'kafkajs-peer', brokers: cluster.brokers, logLevel: kafkajs.logLevel.NOTHING })
})
afterAll(() => cluster.close())

const records = sampleRecords
const expected = expectedRecord
const received = (m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp })

/** Consumes `count` records of `topic` with a kafkajs consumer; resolves with the messages in offset order. */
async function kafkajsConsume(topic, count) {
  const consumer = peer.consumer({ groupId: unique('kjs'), sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 6000 })
  const seen = []
  const done = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, message })
        if (seen.length >= count) done.resolve()
      },
    })
    await within(40000, done.promise, `kafkajs consuming ${topic}`)
    return seen
  } finally {
    await consumer.disconnect()
  }
}

async function kafkajsProduce(topic, messages, createPartitioner = kafkajs.Partitioners.DefaultPartitioner) {
  const producer = peer.producer({ createPartitioner })
  await producer.connect()
  try {
    return await producer.send({ topic, messages })
  } finally {
    await producer.disconnect()
  }
}

async function ferroProduce(topic, messages, config = {}) {
  const producer = kafka.producer(config)
  await producer.connect()
  try {
    return await producer.send({ topic, messages })
  } finally {
    await producer.disconnect()
  }
}

test('records ferrokafka produces are read by kafkajs with identical keys, values, headers and timestamps', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const sent = records('ferro')
  await ferroProduce(topic, sent)
  const seen = await kafkajsConsume(topic, sent.length)
  expect(seen.map((s) => s.message.offset)).toEqual(['0', '1', '2', '3', '4'])
  sent.forEach((r, i) => expect(received(seen[i].message)).toEqual(expected(r)))
}, 60000)

test('records kafkajs produces are read by ferrokafka with identical keys, values, headers and timestamps', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const sent = records('kjs')
  await kafkajsProduce(topic, sent)
  const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= sent.length })
  expect(seen.map((s) => s.message.offset)).toEqual(['0', '1', '2', '3', '4'])
  sent.forEach((r, i) => expect(received(seen[i].message)).toEqual(expected(r)))
})

/** kafkajs's partitionMetadata for a topic whose partitions all have a leader. */
const metadataOf = (partitions) => Array.from({ length: partitions }, (_, id) => ({ partitionErrorCode: 0, partitionId: id, leader: 1, replicas: [1], isr: [1] }))

/** Produces `keys` with ferrokafka in one batch and reads back where each key landed. */
async function ferroPartitions(keys, partitions, config) {
  const topic = unique('t')
  cluster.createTopic(topic, partitions, 1)
  await ferroProduce(topic, keys.map((key) => ({ key, value: 'x' })), config)
  const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= keys.length, timeoutMs: 40000 })
  return new Map(seen.map((s) => [s.message.key.toString(), s.partition]))
}

const tenThousandKeys = Array.from({ length: 10000 }, (_, i) => (i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `${i}` : `order/${i * 7919}/é`))

for (const [label, ours, theirs] of [
  ['default', undefined, kafkajs.Partitioners.DefaultPartitioner],
  ['Legacy', Partitioners.LegacyPartitioner, kafkajs.Partitioners.LegacyPartitioner],
]) {
  test(`for 10,000 keys ferrokafka's ${label} partitioner picks kafkajs's ${label} partition`, async () => {
    const partitions = 12
    const where = await ferroPartitions(tenThousandKeys, partitions, ours ? { createPartitioner: ours } : {})
    const partitionMetadata = metadataOf(partitions)
    const theirPartition = theirs()
    const differing = []
    for (const key of tenThousandKeys) {
      const want = theirPartition({ topic: 't', partitionMetadata, message: { key, value: 'x' } })
      if (where.get(key) !== want) differing.push({ key, ferrokafka: where.get(key), kafkajs: want })
    }
    expect(where.size).toBe(tenThousandKeys.length)
    expect(differing.slice(0, 5)).toEqual([])
    expect(new Set(where.values()).size).toBe(partitions)
  }, 60000)

  test(`a sample of keys produced by both clients with the ${label} partitioner lands on the same partitions`, async () => {
    const partitions = 5
    const keys = tenThousandKeys.slice(0, 50)
    const ferro = await ferroPartitions(keys, partitions, ours ? { createPartitioner: ours } : {})
    const topic = unique('t')
    cluster.createTopic(topic, partitions, 1)
    await kafkajsProduce(topic, keys.map((key) => ({ key, value: 'x' })), theirs)
    const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= keys.length })
    const peerWhere = new Map(seen.map((s) => [s.message.key.toString(), s.partition]))
    expect(Object.fromEntries(ferro)).toEqual(Object.fromEntries(peerWhere))
  })
}

test('CONNECT and DISCONNECT events of a producer and an admin carry no payload, as kafkajs emits them', async () => {
  const ferro = require('..')
  const shapes = {}
  for (const [name, lib] of [['kafkajs', kafkajs], ['ferrokafka', ferro]]) {
    const client = new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.NOTHING })
    const seen = []
    for (const c of [client.producer(), client.admin()]) {
      for (const event of [c.events.CONNECT, c.events.DISCONNECT]) {
        c.on(event, (e) => seen.push([e.type, 'payload' in e, e.payload]))
      }
      await c.connect()
      await c.disconnect()
    }
    // Listeners run on a later tick in both clients.
    await new Promise((resolve) => setImmediate(resolve))
    shapes[name] = seen
  }
  expect(shapes.ferrokafka).toEqual(shapes.kafkajs)
  expect(shapes.ferrokafka).toHaveLength(4)
})

test('subscribe() with allowAutoTopicCreation: false rejects for a topic no broker hosts and resolves for one that exists, as kafkajs', async () => {
  const ferro = require('..')
  const existing = unique('exists')
  cluster.createTopic(existing, 1, 1)
  const outcomes = {}
  for (const [name, lib] of [['kafkajs', kafkajs], ['ferrokafka', ferro]]) {
    const consumer = new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.NOTHING }).consumer({ groupId: unique('g'), allowAutoTopicCreation: false })
    await consumer.connect()
    try {
      const missing = await consumer.subscribe({ topics: [unique('missing')] }).then(() => 'resolved', (e) => [e.name, e.type, e.retriable])
      const present = await consumer.subscribe({ topics: [existing] }).then(() => 'resolved', (e) => e.message)
      outcomes[name] = { missing, present }
    } finally {
      await consumer.disconnect()
    }
  }
  expect(outcomes.kafkajs).toEqual({ missing: ['KafkaJSProtocolError', 'UNKNOWN_TOPIC_OR_PARTITION', true], present: 'resolved' })
  expect(outcomes.ferrokafka).toEqual(outcomes.kafkajs)
})

test('a consumer whose heartbeatInterval is not below its sessionTimeout is refused at creation with kafkajs\'s error', () => {
  const ferro = require('..')
  const refusal = (lib, config) => {
    try { new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.NOTHING }).consumer({ groupId: 'g', ...config }); return null } catch (e) { return [e.name, e.message] }
  }
  for (const config of [{ sessionTimeout: 6000, heartbeatInterval: 8000 }, { heartbeatInterval: 30000 }, { sessionTimeout: 6000 }]) {
    expect([config, refusal(ferro, config)]).toEqual([config, refusal(kafkajs, config)])
  }
  expect(refusal(ferro, { heartbeatInterval: 30000 })?.[0]).toBe('KafkaJSNonRetriableError')
})
