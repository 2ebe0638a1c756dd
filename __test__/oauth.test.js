// kafkajs's `sasl.oauthBearerProvider`: when it is called, what it must return, how its token
// reaches librdkafka and is refreshed, and that the token is never printed.
//
// librdkafka's MockCluster has no SASL (rdkafka_mock_handlers.c has no SaslHandshake handler:
// it drops the connection), so no test here authenticates; the positive case stops where the
// client, holding the provider's token, starts the SASL handshake with the broker.
const { Kafka, logLevel, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSSASLAuthenticationError } = require('..')
const { startCluster, within, deferred } = require('./helpers')

let cluster
beforeAll(() => { ({ cluster } = startCluster(1)) })
afterAll(() => cluster.close())

/** An unsigned JWT with `sub` and an `exp` `seconds` from now, marked so a leak is findable. */
function jwt(seconds, marker) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'none' })}.${part({ sub: 'svc-orders', exp: Math.floor(Date.now() / 1000) + seconds, jti: marker })}.sig-${marker}`
}

/** A Kafka whose log lines (librdkafka's included) are kept, with a provider of `tokens()`. */
function oauthKafka(provider) {
  const lines = []
  const kafka = new Kafka({
    clientId: 'oauth-test', brokers: cluster.brokers, connectionTimeout: 1000, logLevel: logLevel.DEBUG,
    logCreator: () => ({ namespace, log }) => lines.push(`${namespace} ${log.facility ?? ''} ${log.message}`),
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider },
    rdkafka: { debug: 'security' },
  })
  return { kafka, lines }
}

test('the provider is called before the first connection and again before its token expires; librdkafka holds the token and starts the SASL handshake', async () => {
  const calls = []
  const expiries = []
  const second = deferred()
  const provider = async () => {
    calls.push(Date.now())
    if (calls.length === 2) second.resolve()
    // 20 s of life: librdkafka asks again at 80% of it (its refresh timer ticks every second).
    const value = jwt(20, `leak-canary-${calls.length}`)
    expiries.push(JSON.parse(Buffer.from(value.split('.')[1], 'base64url').toString()).exp * 1000)
    return { value }
  }
  const { kafka, lines } = oauthKafka(provider)
  const producer = kafka.producer()
  const connecting = producer.connect().then(() => null, (e) => e)
  await within(30_000, second.promise, 'the provider being asked for a second token')
  const error = await within(30_000, connecting, 'connect() against a broker without SASL')
  await producer.disconnect()
  console.log(`oauthBearerProvider: ${calls.length} calls, the second ${calls[1] - calls[0]} ms after the first, ${expiries[0] - calls[1]} ms before its token expired; connect: ${error?.name}`)
  expect(calls.length).toBeGreaterThanOrEqual(2)
  // The next token was fetched while the first was still valid: no window without one.
  expect(calls[1]).toBeLessThan(expiries[0])
  // The mock drops the SASL handshake, so connect() fails with kafkajs's class for a refused
  // login; what matters is that it got that far with a token, not that it was stopped without one.
  expect(error).toBeInstanceOf(KafkaJSSASLAuthenticationError)
  expect(error.message).toMatch(/SASL Handshake not supported by broker/)
  const log = lines.join('\n')
  // Holding a token, librdkafka went on to the handshake the mock does not answer.
  expect(log).toMatch(/SASL Handshake not supported by broker \(required by mechanism OAUTHBEARER\)/)
  expect(log).not.toMatch(/Failed to acquire SASL OAUTHBEARER token/)
  expect(log).not.toContain('leak-canary')
  expect(String(error.message)).not.toContain('leak-canary')
}, 60_000)

test('a provider that rejects: connect() rejects retriable, naming the option, with the cause kept', async () => {
  const { kafka } = oauthKafka(async () => { throw new Error('token endpoint down') })
  const producer = kafka.producer()
  const error = await producer.connect().then(() => null, (e) => e)
  expect(error).toBeInstanceOf(KafkaJSConnectionError)
  expect(error.retriable).toBe(true)
  expect(error.field).toBe('sasl.oauthBearerProvider')
  expect(error.cause.message).toBe('token endpoint down')
})

test.each([
  ['nothing', undefined, /must resolve to \{ value \}/],
  ['an empty value', { value: '' }, /must resolve to \{ value \}/],
  ['a non-string value', { value: 42 }, /must resolve to \{ value \}/],
])('a provider resolving to %s: connect() rejects non-retriable naming the option', async (_what, result, message) => {
  const { kafka } = oauthKafka(async () => result)
  const error = await kafka.consumer({ groupId: 'oauth-bad' }).connect().then(() => null, (e) => e)
  expect(error).toBeInstanceOf(KafkaJSNonRetriableError)
  expect(error.field).toBe('sasl.oauthBearerProvider')
  expect(error.message).toMatch(message)
})

test('a provider returning an already expired JWT is refused without echoing the token', async () => {
  const { kafka } = oauthKafka(async () => ({ value: jwt(-60, 'expired-canary') }))
  const error = await kafka.admin().connect().then(() => null, (e) => e)
  expect(error).toBeInstanceOf(KafkaJSNonRetriableError)
  expect(error.field).toBe('sasl.oauthBearerProvider')
  expect(error.message).toMatch(/expired/)
  expect(error.message).not.toContain('expired-canary')
})

test('oauthBearerProvider with another mechanism, or not a function, is refused when the Kafka is made', () => {
  expect(() => new Kafka({ brokers: cluster.brokers, sasl: { mechanism: 'plain', username: 'u', password: 'p', oauthBearerProvider: async () => ({ value: 't' }) } }))
    .toThrow(/oauthBearerProvider.*only used with mechanism 'oauthbearer'/)
  expect(() => new Kafka({ brokers: cluster.brokers, sasl: { mechanism: 'oauthbearer', oauthBearerProvider: 'token' } }))
    .toThrow(/sasl\.oauthBearerProvider.*must be a function/)
})

test('mechanism oauthbearer without a provider: librdkafka reports a clear token error naming the option', async () => {
  const lines = []
  const kafka = new Kafka({
    brokers: cluster.brokers, connectionTimeout: 1000, logLevel: logLevel.ERROR,
    logCreator: () => ({ log }) => lines.push(log.message), sasl: { mechanism: 'oauthbearer' },
  })
  const producer = kafka.producer()
  const error = await producer.connect().then(() => null, (e) => e)
  await producer.disconnect()
  // At once, with the reason: no token means no login (kafkajs's class for a refused one).
  expect(error).toBeInstanceOf(KafkaJSSASLAuthenticationError)
  expect(error.retriable).toBe(false)
  expect(error.message).toMatch(/sasl\.oauthBearerProvider/)
  expect(lines.join('\n')).toMatch(/Failed to acquire SASL OAUTHBEARER token: SASL\/OAUTHBEARER needs sasl\.oauthBearerProvider/)
}, 30_000)

test("the native code's tracing events reach logCreator too: rdkafka's own, under ferrokafka-native, at the client's level", async () => {
  const provider = async () => ({ value: jwt(600, 'leak-canary-trace') })
  const { kafka, lines } = oauthKafka(provider)
  const quiet = []
  const info = new Kafka({
    clientId: 'oauth-quiet', brokers: cluster.brokers, connectionTimeout: 1000, logLevel: logLevel.INFO,
    logCreator: () => ({ namespace, log }) => quiet.push(`${namespace} ${log.message}`),
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider },
  })
  const producers = [kafka.producer(), info.producer()]
  // librdkafka asks for a token as the client starts; rdkafka's handler logs (tracing, DEBUG)
  // that it set it. Connect itself fails: the mock drops the SASL handshake.
  await Promise.all(producers.map((p) => p.connect().catch(() => {})))
  await Promise.all(producers.map((p) => p.disconnect()))
  expect(lines.some((l) => /^ferrokafka-native rdkafka::client successfully set refreshed OAuth token$/.test(l))).toBe(true)
  expect(quiet.some((l) => l.startsWith('ferrokafka-native '))).toBe(false)
  expect(lines.join('\n')).not.toContain('leak-canary-trace')
}, 30_000)
