// The kafkajs Producer's broker-side failures on a MockCluster over TCP, against kafkajs on the
// same cluster where it can run: a missing topic without auto-creation, retried produce errors,
// an unknown server error, and per-send acks on an idempotent producer.
const { Kafka: KafkaJS } = require('kafkajs')
const { KafkaJSNonRetriableError } = require('..')
const { unique, startCluster, within, connectedProducer: connected } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const connectedProducer = (config) => connected(kafka, config)

test('allowAutoTopicCreation: false: a send to a missing topic rejects UNKNOWN_TOPIC_OR_PARTITION once the retries are spent, as kafkajs, and creates nothing', async () => {
  const topic = unique('absent')
  const config = { allowAutoTopicCreation: false, retry: { retries: 2, initialRetryTime: 100 } }
  /** The root cause of a library's rejection (kafkajs wraps it in KafkaJSNumberOfRetriesExceeded). */
  const rejection = async (client) => {
    const producer = client.producer(config)
    await producer.connect()
    try {
      const error = await within(20000, producer.send({ topic, messages: [{ value: 'v' }] }).then(() => null, (e) => e), 'send')
      let root = error
      while (root?.cause) root = root.cause
      return { name: root?.name, type: root?.type, code: root?.code }
    } finally {
      await producer.disconnect()
    }
  }
  const ours = await rejection(kafka)
  expect(ours).toEqual(await rejection(new KafkaJS({ brokers: cluster.brokers, logLevel: 0 })))
  expect(ours).toEqual({ name: 'KafkaJSProtocolError', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3 })
  const admin = kafka.admin()
  await admin.connect()
  try {
    expect(await admin.listTopics()).not.toContain(topic)
  } finally {
    await admin.disconnect()
  }
})

test('a non-idempotent producer resends a failed produce request retry.retries times, as kafkajs', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const sendWith = async (retries) => {
    const producer = await connectedProducer({ idempotent: false, retry: { retries } })
    try {
      await producer.send({ topic, messages: [{ value: 'warm' }] }) // metadata known before the fault
      cluster.pushRequestErrors('Produce', ['NOT_ENOUGH_REPLICAS'])
      return await producer.send({ topic, messages: [{ value: `r${retries}` }] }).then((m) => m[0].errorCode, (e) => e.type)
    } finally {
      cluster.clearRequestErrors('Produce')
      await producer.disconnect()
    }
  }
  expect(await sendWith(0)).toBe('NOT_ENOUGH_REPLICAS')
  expect(await sendWith(1)).toBe(0)
})

test('a broker\'s UNKNOWN_SERVER_ERROR (-1) rejects as kafkajs names it: KafkaJSProtocolError, type UNKNOWN, code -1, not retriable', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const producer = await connectedProducer({ idempotent: false, retry: { retries: 0 } })
  try {
    await producer.send({ topic, messages: [{ value: 'warm' }] })
    cluster.pushRequestErrors('Produce', ['UNKNOWN'])
    const error = await producer.send({ topic, messages: [{ value: 'v' }] }).then(() => null, (e) => e)
    expect(error).toMatchObject({ name: 'KafkaJSProtocolError', type: 'UNKNOWN', code: -1, retriable: false })
  } finally {
    cluster.clearRequestErrors('Produce')
    await producer.disconnect()
  }
})

test('a per-send acks other than -1 is refused by a producer created idempotent: true, as kafkajs; the default producer sends it', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const strict = await connectedProducer({ idempotent: true })
  const plain = await connectedProducer()
  try {
    const err = await strict.send({ topic, acks: 1, messages: [{ value: 'v' }] }).catch((e) => e)
    expect(err).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(err.field).toBe('acks')
    expect(await plain.send({ topic, acks: 1, messages: [{ value: 'v' }] })).toEqual([expect.objectContaining({ errorCode: 0 })])
  } finally {
    await strict.disconnect()
    await plain.disconnect()
  }
})

test('an idempotent producer refuses retries: 0 and warns about a bounded number of them, as kafkajs; the default producer takes either', () => {
  const kafkajs = require('kafkajs')
  const seen = {}
  for (const [name, lib] of [['kafkajs', kafkajs], ['ferrokafka', require('..')]]) {
    const warnings = []
    const client = new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.WARN, logCreator: () => ({ level, log }) => { if (level === lib.logLevel.WARN) warnings.push(log.message) } })
    const refused = (() => {
      try { client.producer({ idempotent: true, retry: { retries: 0 } }); return null } catch (e) { return [e.name, e.message] }
    })()
    client.producer({ idempotent: true, retry: { retries: 3 } })
    client.producer({ retry: { retries: 0 } })
    seen[name] = { refused, warnings: warnings.filter((m) => /idempotent/i.test(m)) }
  }
  expect(seen.kafkajs.refused).toEqual(['KafkaJSNonRetriableError', 'Idempotent producer must allow retries to protect against transient errors'])
  expect(seen.kafkajs.warnings).toEqual(['Limiting retries for the idempotent producer may invalidate EoS guarantees'])
  expect(seen.ferrokafka).toEqual(seen.kafkajs)
})
