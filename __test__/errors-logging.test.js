// Errors keep kafkajs's classes and name the field at fault; librdkafka's logs reach logCreator;
// secrets never show up in errors, logs or util.inspect.
const util = require('util')
const net = require('net')
const {
  Kafka, logLevel, KafkaJSError, KafkaJSNonRetriableError, KafkaJSProtocolError, KafkaJSConnectionError,
  isKafkaJSError,
} = require('..')
const { startCluster, unique, within } = require('./helpers')

const CANARY = 'canary-secret-7f3a9c'

let cluster, kafka
beforeAll(() => ({ cluster, kafka } = startCluster(1)))
afterAll(() => cluster.close())

/** A loopback port with nothing listening. */
async function closedPort() {
  const server = net.createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  await new Promise((r) => server.close(r))
  return port
}

test('a bad option is a KafkaJSNonRetriableError naming the field, never its value', () => {
  const bad = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING, sasl: { mechanism: 'kerberos', username: 'u', password: CANARY } })
  let err
  try { bad.producer() } catch (e) { err = e }
  expect(err).toBeInstanceOf(KafkaJSNonRetriableError)
  expect(err).toBeInstanceOf(KafkaJSError)
  expect(isKafkaJSError(err)).toBe(true)
  expect(err.field).toBe('sasl.mechanism')
  expect(err.retriable).toBe(false)
  expect(`${err.message}${err.stack}${util.inspect(err)}`).not.toContain(CANARY)
})

test.each([
  [{ brokers: [] }, 'brokers'],
  [{ brokers: ['no-port'] }, 'brokers'],
  [{ brokers: ['localhost:9092'], ssl: { ca: '/etc/ssl/missing.pem' } }, 'ssl.ca'],
  [{ brokers: ['localhost:9092'], sasl: { mechanism: 'plain', username: 'u' } }, 'sasl.password'],
  [{ brokers: ['localhost:9092'], connectionTimeout: 'soon' }, 'connectionTimeout'],
  [{ brokers: ['localhost:9092'], rdkafka: { 'no.such.property': 1 } }, 'rdkafka.no.such.property'],
])('invalid config %j names %s', async (config, field) => {
  let err
  // A broker list at fault is an error of connect(), as kafkajs's; other options fail at once.
  try { await new Kafka(config).producer().connect() } catch (e) { err = e }
  expect(err).toBeInstanceOf(KafkaJSNonRetriableError)
  expect(err.field).toBe(field)
})

test('a consumer without groupId throws synchronously, as kafkajs does', () => {
  expect(() => kafka.consumer({})).toThrow(KafkaJSNonRetriableError)
})

test('idempotent with acks=1 is contradictory and named', () => {
  let err
  try { kafka.producer({ acks: 1 }) } catch (e) { err = e }
  expect(err.field).toBe('producer.acks')
})

test('util.inspect and JSON.stringify of clients show no credentials', () => {
  const k = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING, sasl: { mechanism: 'plain', username: 'user', password: CANARY } })
  const producer = k.producer()
  const consumer = k.consumer({ groupId: 'g' })
  for (const obj of [k, producer, consumer, k.admin()]) {
    expect(util.inspect(obj, { depth: 10, showHidden: true })).not.toContain(CANARY)
    expect(JSON.stringify(obj) ?? '').not.toContain(CANARY)
  }
})

test('an oversize record rejects with a non-retriable protocol error and others still deliver', async () => {
  const topic = unique('big')
  cluster.createTopic(topic, 1, 1)
  const producer = kafka.producer()
  await producer.connect()
  try {
    const ok = producer.send({ topic, messages: [{ value: 'small' }] })
    const err = await producer.send({ topic, messages: [{ value: Buffer.alloc(2 * 1024 * 1024) }] }).catch((e) => e)
    expect(err).toBeInstanceOf(KafkaJSProtocolError)
    expect({ type: err.type, code: err.code }).toEqual({ type: 'MESSAGE_TOO_LARGE', code: 10 })
    expect(err.retriable).toBe(false)
    const [meta] = await ok
    expect(meta.errorCode).toBe(0)
  } finally {
    await producer.disconnect()
  }
})

test("librdkafka's logs reach logCreator with kafkajs levels, without the password", async () => {
  const port = await closedPort()
  const entries = []
  const logCreator = () => (entry) => entries.push(entry)
  const k = new Kafka({
    brokers: [`127.0.0.1:${port}`], logLevel: logLevel.DEBUG, logCreator, connectionTimeout: 1000,
    sasl: { mechanism: 'plain', username: 'user', password: CANARY }, rdkafka: { debug: 'all' },
  })
  const producer = k.producer()
  const err = await within(30_000, producer.connect().catch((e) => e), 'connect')
  expect(err).toBeInstanceOf(KafkaJSError)
  // As kafkajs: unreachable brokers end in KafkaJSNumberOfRetriesExceeded, the connection error its cause.
  expect(err.name).toMatch(/KafkaJSNumberOfRetriesExceeded|KafkaJS(Connection|RequestTimeout)Error|KafkaJSError/)
  await producer.disconnect()
  const native = entries.filter((e) => e.namespace === 'librdkafka')
  expect(native.length).toBeGreaterThan(0)
  for (const e of native) {
    expect([1, 2, 4, 5]).toContain(e.level)
    expect(typeof e.log.message).toBe('string')
    expect(typeof e.log.timestamp).toBe('string')
  }
  expect(JSON.stringify(entries)).not.toContain(CANARY)
  expect(`${err.message}${util.inspect(err)}`).not.toContain(CANARY)
})

test("a lone consumer's librdkafka lines follow its own logLevel, whatever other clients are alive", async () => {
  const topic = unique('lone-log')
  cluster.createTopic(topic, 1, 1)
  const entries = (level) => {
    const seen = []
    const k = new Kafka({ brokers: cluster.brokers, logLevel: level, logCreator: () => (e) => seen.push(e), rdkafka: { debug: 'cgrp' } })
    return { seen, consumer: k.consumer({ groupId: unique('g') }) }
  }
  // The only client alive: nothing else asks for debug lines on its behalf.
  const debug = entries(logLevel.DEBUG)
  await debug.consumer.connect()
  await debug.consumer.subscribe({ topics: [topic] })
  await debug.consumer.run({ eachMessage: async () => {} })
  await debug.consumer.disconnect()
  const lines = debug.seen.filter((e) => e.namespace === 'librdkafka' && e.level === logLevel.DEBUG).map((e) => e.log.message)
  // Group membership is logged from librdkafka's main thread after the client's creation.
  expect(lines.filter((m) => /JoinGroup|Joining group/.test(m)).length).toBeGreaterThan(0)

  // Beside a client at DEBUG, a client at WARN gets no debug line although `debug` is set.
  const loud = entries(logLevel.DEBUG)
  const quiet = entries(logLevel.WARN)
  await Promise.all([loud, quiet].map(async ({ consumer }) => {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic] })
    await consumer.run({ eachMessage: async () => {} })
  }))
  await Promise.all([loud, quiet].map(({ consumer }) => consumer.disconnect()))
  expect(loud.seen.filter((e) => e.namespace === 'librdkafka' && e.level === logLevel.DEBUG).length).toBeGreaterThan(0)
  expect(quiet.seen.filter((e) => e.level > logLevel.WARN)).toEqual([])
})

test('instrumentation rejects unknown event names and returns a remover', () => {
  const producer = kafka.producer()
  expect(() => producer.on('nope', () => {})).toThrow(KafkaJSNonRetriableError)
  const remove = producer.on(producer.events.CONNECT, () => {})
  expect(typeof remove).toBe('function')
  remove()
})

test('KafkaJSConnectionError keeps the kafkajs hierarchy', () => {
  const e = new KafkaJSConnectionError('x')
  expect(e).toBeInstanceOf(KafkaJSError)
  expect(e.retriable).toBe(true)
  expect(e.name).toBe('KafkaJSConnectionError')
})

test("each client logs under kafkajs's namespace (Producer, Consumer, Admin), as kafkajs's own do", async () => {
  const KafkaJS = require('kafkajs')
  const namespaces = async (lib) => {
    const entries = []
    const client = new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.INFO, logCreator: () => (e) => entries.push(e) })
    const clients = { Producer: client.producer(), Consumer: client.consumer({ groupId: unique('g') }), Admin: client.admin() }
    for (const [name, c] of Object.entries(clients)) c.logger().info(`from ${name}`)
    client.logger().info('from the client')
    return entries.filter((e) => e.log.message.startsWith('from ')).map((e) => [e.log.message, e.namespace ?? ''])
  }
  const ours = await namespaces(require('..'))
  expect(ours).toEqual(await namespaces(KafkaJS))
  expect(ours).toEqual([['from Producer', 'Producer'], ['from Consumer', 'Consumer'], ['from Admin', 'Admin'], ['from the client', '']])
  // A real client's own lines carry it too: the consumer's crash-free connect and disconnect.
  const entries = []
  const client = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.INFO, logCreator: () => (e) => entries.push(e) })
  const consumer = client.consumer({ groupId: unique('g'), partitionAssigners: [() => ({ name: 'Custom', version: 0, assign: async () => [], protocol: () => ({}) })] })
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1) // so run() resolves at the join, not at its bound
  await consumer.connect()
  await consumer.subscribe({ topics: [topic] })
  await consumer.run({ eachMessage: async () => {} })
  await consumer.disconnect()
  const warning = entries.find((e) => /partition assigner/i.test(e.log.message))
  expect(warning && warning.namespace).toBe('Consumer')
})

test('KAFKAJS_LOG_LEVEL overrides logLevel, as in kafkajs', async () => {
  const before = process.env.KAFKAJS_LOG_LEVEL
  process.env.KAFKAJS_LOG_LEVEL = 'info'
  try {
    const entries = []
    const client = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.ERROR, logCreator: () => (e) => entries.push(e) })
    client.logger().info('shown at INFO')
    client.logger().debug('not shown at INFO')
    expect(entries.map((e) => [e.label, e.log.message])).toEqual([['INFO', 'shown at INFO']])
  } finally {
    if (before === undefined) delete process.env.KAFKAJS_LOG_LEVEL
    else process.env.KAFKAJS_LOG_LEVEL = before
  }
})

test('an unreachable cluster is logged once per kind of client error, not once per reconnect attempt', async () => {
  const entries = []
  const k = new Kafka({ brokers: ['127.0.0.1:1', '127.0.0.1:2'], logLevel: logLevel.ERROR, logCreator: () => (e) => entries.push(e), connectionTimeout: 1000 })
  const producer = k.producer()
  const err = await within(30_000, producer.connect().catch((e) => e), 'connect')
  expect(err.name).toBe('KafkaJSNumberOfRetriesExceeded')
  await producer.disconnect()
  const errors = entries.filter((e) => e.level === logLevel.ERROR).map((e) => e.log.message)
  // librdkafka reported the refused connections on each attempt of each broker thread for the
  // whole connect() (at least 10 s); each kind of error is logged once in that time.
  const global = errors.filter((m) => m.startsWith('Global error'))
  const kinds = global.map((m) => m.split(' (')[0])
  expect(kinds).toEqual(expect.arrayContaining(['Global error: BrokerTransportFailure', 'Global error: AllBrokersDown']))
  expect(new Set(kinds).size).toBe(kinds.length)
})

test("a consumer's lifecycle INFO lines are kafkajs's: Starting, the join (ConsumerGroup), Stopped on every stop", async () => {
  const KafkaJS = require('kafkajs')
  const topic = unique('life')
  cluster.createTopic(topic, 1, 1)
  const lifecycle = async (lib) => {
    const entries = []
    const client = new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.INFO, logCreator: () => (e) => entries.push(e) })
    const consumer = client.consumer({ groupId: unique('g') })
    const joined = new Promise((r) => consumer.on(consumer.events.GROUP_JOIN, r))
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: [topic] })
      await consumer.run({ eachMessage: async () => {} })
      await within(20000, joined, 'GROUP_JOIN')
      await consumer.stop()
    } finally { await consumer.disconnect() }
    // One that never ran: its disconnect stops it too.
    const idle = client.consumer({ groupId: unique('g') })
    await idle.connect()
    await idle.disconnect()
    return entries.filter((e) => /^Consumer/.test(e.namespace ?? '') && e.level === lib.logLevel.INFO).map((e) => `${e.namespace}: ${e.log.message}`)
  }
  const ours = await lifecycle(require('..'))
  expect(ours).toEqual(await lifecycle(KafkaJS))
  expect(ours).toEqual(['Consumer: Starting', 'ConsumerGroup: Consumer has joined the group', 'Consumer: Stopped', 'Consumer: Stopped', 'Consumer: Stopped'])
})
