// Secrets canary (issue #4): a password and a token set through config and through KAFKA_*
// variables, with librdkafka's debug=all on, appear 0 times in logs, errors, util.inspect /
// JSON.stringify of clients, services and configs, events, and health/stats output.
// MockCluster speaks no SASL or TLS, so every secured client fails its handshake: the failures
// are part of what is searched.
const util = require('util')
const {
  Kafka, MockCluster, logLevel, configFromEnv, KafkaService, EventBus, EventProducer, EventConsumer, DLQHandler, TopicManager,
} = require('..')
const { within, deferred } = require('./helpers')

const PASSWORD = 'canary-Pw-7f3a9'
const TOKEN = 'canary-Tok-4c1d8'
const CANARIES = [PASSWORD, TOKEN, ...[PASSWORD, TOKEN].map((c) => Buffer.from(c).toString('base64'))]

/** Everything a user or an operator could see, as text, with where it came from. */
const seen = []
const record = (where, value) => {
  const text = typeof value === 'string' ? value : util.inspect(value, { depth: 12, showHidden: true, getters: true })
  seen.push({ where, text })
  if (typeof value !== 'string') seen.push({ where: `${where} (JSON)`, text: JSON.stringify(value) ?? '' })
}
const hits = () => seen.flatMap(({ where, text }) => CANARIES.filter((c) => text.includes(c)).map((c) => `${where}: ${c}`))

/** An error and everything hanging off it. */
function recordError(where, err) {
  for (let e = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    record(`${where} message`, String(e.message))
    record(`${where} stack`, String(e.stack))
    record(`${where} error`, e)
  }
}

const logs = []
/** The log lines that arrive from now on are also checked against `pred` as they come. */
const logWaiters = new Set()
const logCreator = () => (entry) => {
  const line = JSON.stringify(entry)
  logs.push(line)
  for (const w of logWaiters) if (w.pred(line)) { logWaiters.delete(w); w.d.resolve() }
}
const nextLog = (pred) => { const w = { pred, d: deferred() }; logWaiters.add(w); return w.d.promise }

let cluster
const savedEnv = { ...process.env }
beforeAll(() => { cluster = new MockCluster({ brokers: 1 }) })
afterAll(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('KAFKA_') && !(k in savedEnv)) delete process.env[k]
  Object.assign(process.env, savedEnv)
  cluster.close()
  const found = hits()
  const native = logs.filter((l) => l.includes('"namespace":"librdkafka"')).length
  console.log(`secrets: ${logs.length} log lines (${native} from librdkafka debug=all), ${seen.length} texts searched (errors, inspect/JSON, events, health), canary hits: ${found.length}`)
})

const debug = { logLevel: logLevel.DEBUG, logCreator, connectionTimeout: 1000, rdkafka: { debug: 'all' } }
const secured = {
  plain: { sasl: { mechanism: 'plain', username: 'alice', password: PASSWORD } },
  'scram-sha-256': { sasl: { mechanism: 'scram-sha-256', username: 'alice', password: PASSWORD } },
  'scram-sha-512': { sasl: { mechanism: 'scram-sha-512', username: 'alice', password: PASSWORD } },
  oauthbearer: {
    sasl: { mechanism: 'oauthbearer', oauthbearerConfig: `principal=alice extension_traceToken=${TOKEN}` },
    rdkafka: { debug: 'all', 'enable.sasl.oauthbearer.unsecure.jwt': true },
  },
  'ssl + plain': { ssl: { rejectUnauthorized: false, passphrase: PASSWORD }, sasl: { mechanism: 'plain', username: 'alice', password: PASSWORD } },
}

/** Connects a producer and an admin, and runs a consumer, each failing its handshake; records all. */
async function exercise(name, kafka) {
  const producer = kafka.producer()
  const admin = kafka.admin()
  const consumer = kafka.consumer({ groupId: `secrets-${name}`, sessionTimeout: 6000 })
  for (const client of [producer, admin, consumer]) {
    for (const type of Object.values(client.events)) {
      try { client.on(type, (event) => record(`${name} event ${type}`, event)) } catch { /* not emitted by ferrokafka */ }
    }
  }
  const failed = (what) => (e) => recordError(`${name} ${what}`, e)
  const consumerFailed = nextLog((l) => l.includes(`secrets-${name}`) || /SASL|Authentication|SSL handshake/.test(l))
  await consumer.subscribe({ topics: ['secrets'] })
  const running = consumer.run({ eachMessage: async () => {} }).catch(failed('run'))
  await Promise.all([
    producer.connect().then(() => producer.send({ topic: 'secrets', messages: [{ value: 'x' }] })).catch(failed('producer')),
    admin.connect().then(() => admin.listTopics()).catch(failed('admin')),
    within(15_000, consumerFailed, `${name} consumer failure log`).catch(failed('consumer wait')),
  ])
  for (const client of [kafka, producer, admin, consumer]) record(`${name} ${client.constructor.name}`, client)
  await Promise.all([producer.disconnect().catch(failed('producer disconnect')), admin.disconnect().catch(failed('admin disconnect')), consumer.disconnect().catch(failed('consumer disconnect'))])
  await within(5_000, running, `${name} run() settles after disconnect`)
}

test('config: SASL plain/SCRAM/OAUTHBEARER and TLS with debug=all leak nothing', async () => {
  const started = logs.length
  await Promise.all(Object.entries(secured).map(([name, extra]) => exercise(name, new Kafka({ brokers: cluster.brokers, ...debug, ...extra }))))
  const lines = logs.slice(started)
  // The canary reached librdkafka (its config dump shows the property) and was redacted there.
  expect(lines.some((l) => l.includes('sasl.password = [redacted]'))).toBe(true)
  expect(lines.some((l) => l.includes('sasl.oauthbearer.config = [redacted]'))).toBe(true)
  expect(lines.filter((l) => l.includes('"namespace":"librdkafka"')).length).toBeGreaterThan(100)
  for (const l of lines) record('log', l)
  expect(hits()).toEqual([])
}, 60_000)

test('configuration errors never echo the secret', () => {
  const bad = [
    { sasl: { mechanism: 'kerberos', username: 'alice', password: PASSWORD } },
    { sasl: { mechanism: 'plain', password: PASSWORD } },
    { sasl: { mechanism: 'oauthbearer', oauthbearerConfig: TOKEN }, rdkafka: { 'sasl.oauthbearer.method': TOKEN } },
    { rdkafka: { 'sasl.password': PASSWORD, 'no.such.property': PASSWORD } },
    { rdkafka: { 'linger.ms': PASSWORD } },
    { ssl: { key: `-----BEGIN PRIVATE KEY-----\n${PASSWORD}\n-----END PRIVATE KEY-----\n`, cert: `-----BEGIN CERTIFICATE-----\n${TOKEN}\n-----END CERTIFICATE-----\n`, passphrase: PASSWORD } },
    { ssl: { ca: [PASSWORD] } },
  ]
  let thrown = 0
  for (const [i, extra] of bad.entries()) {
    try {
      new Kafka({ brokers: cluster.brokers, ...debug, ...extra }).producer()
    } catch (e) {
      thrown++
      recordError(`config error ${i}`, e)
    }
  }
  expect(thrown).toBe(bad.length)
  expect(hits()).toEqual([])
})

test('env: configFromEnv and KafkaService keep KAFKA_SASL_PASSWORD out of every output', async () => {
  Object.assign(process.env, { KAFKA_BROKERS: cluster.brokers.join(','), KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: PASSWORD })
  const env = configFromEnv()
  expect(env.sasl.password).toBe(PASSWORD) // still usable: only its printed forms are redacted
  record('configFromEnv()', env)
  record('configFromEnv().sasl', env.sasl)
  record('template literal of configFromEnv()', `${JSON.stringify({ ...env })}`)
  for (const vars of [{ KAFKA_SASL_MECHANISM: 'kerberos', KAFKA_SASL_PASSWORD: PASSWORD }, { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: PASSWORD }]) {
    try { configFromEnv(vars) } catch (e) { recordError('configFromEnv error', e) }
  }
  const devLines = []
  const fallback = new KafkaService({ ...debug, devFallback: true, log: (l) => devLines.push(l) })
  const strict = new KafkaService({ ...debug })
  record('KafkaService before init', fallback)
  await Promise.all([
    within(30_000, fallback.initialize(), 'devFallback initialize'),
    within(30_000, strict.initialize().then(() => { throw new Error('connected through SASL to a mock without SASL') }, (e) => recordError('KafkaService.initialize', e)), 'strict initialize'),
  ])
  await fallback.send('secrets', { hello: 'world' })
  for (const [name, s] of [['fallback', fallback], ['strict', strict]]) {
    record(`KafkaService ${name}`, s)
    record(`KafkaService ${name} healthCheck()`, await s.healthCheck())
    record(`KafkaService ${name} isHealthy()`, String(await s.isHealthy()))
  }
  expect(devLines.length).toBeGreaterThan(0)
  for (const l of devLines) record('KafkaService dev log', l)
  await Promise.all([fallback.disconnect(), strict.disconnect()])
  for (const l of logs) record('log', l)
  expect(hits()).toEqual([])
}, 60_000)

test('util.inspect / JSON.stringify of the event layer and its stats show no credentials', () => {
  const cfg = { brokers: cluster.brokers, logLevel: logLevel.NOTHING, sasl: { mechanism: 'plain', username: 'alice', password: PASSWORD } }
  const bus = new EventBus(cfg)
  const objects = {
    EventBus: bus, 'EventBus.stats': bus.stats, EventProducer: new EventProducer(cfg),
    EventConsumer: new EventConsumer(cfg, { groupId: 'secrets-events' }), DLQHandler: new DLQHandler(cfg), TopicManager: new TopicManager(cfg),
  }
  objects['DLQHandler.stats()'] = objects.DLQHandler.stats()
  for (const [name, obj] of Object.entries(objects)) record(name, obj)
  expect(hits()).toEqual([])
})
