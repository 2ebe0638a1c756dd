// configFromEnv(): every KAFKA_* variable of the README table, and every bad value. A bad value
// is an error naming the variable; no error, inspect or JSON form ever contains the password.
const { inspect } = require('util')
const { configFromEnv, EventBus } = require('..')

const CANARY = 'Endpoint=sb://canary-5f3a.servicebus.windows.net/;SharedAccessKey=s3cret-canary'
const sasl = (mechanism, extra = {}) => ({ KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: '$ConnectionString', KAFKA_SASL_PASSWORD: CANARY, ...extra })

/** Everything a caller could print of a thrown error or a config. */
const texts = (x) => [String(x?.message ?? ''), String(x?.stack ?? ''), inspect(x, { depth: 5, showHidden: true }), JSON.stringify(x) ?? '']
const rejected = (env) => {
  try {
    configFromEnv(env)
  } catch (e) {
    return e
  }
  throw new Error(`configFromEnv accepted ${JSON.stringify(Object.keys(env))}`)
}

describe('each variable', () => {
  test('defaults: localhost:9092, client id ferrokafka (or the caller default), no TLS or SASL, enabled', () => {
    const c = configFromEnv({})
    expect(JSON.parse(JSON.stringify(c))).toEqual({ brokers: ['localhost:9092'], clientId: 'ferrokafka', ssl: false, enabled: true })
    expect(configFromEnv({}, 'svc').clientId).toBe('svc')
  })

  test('KAFKA_BROKERS: a comma list, blanks around entries and empty entries dropped', () => {
    expect(configFromEnv({ KAFKA_BROKERS: 'kafka:29092' }).brokers).toEqual(['kafka:29092'])
    expect(configFromEnv({ KAFKA_BROKERS: ' localhost:9092, localhost:9093 ,,[::1]:9094' }).brokers).toEqual(['localhost:9092', 'localhost:9093', '[::1]:9094'])
  })

  test('KAFKA_CLIENT_ID wins over the caller default', () => {
    expect(configFromEnv({ KAFKA_CLIENT_ID: 'narad' }, 'svc').clientId).toBe('narad')
  })

  test.each([
    ['true', true], ['TRUE', true], ['1', true], ['yes', true], ['on', true],
    ['false', false], ['0', false], ['no', false], ['off', false], ['', false],
  ])('KAFKA_SSL=%j and KAFKA_SSL_ENABLED=%j -> ssl %s', (value, ssl) => {
    expect(configFromEnv({ KAFKA_SSL: value }).ssl).toBe(ssl)
    expect(configFromEnv({ KAFKA_SSL_ENABLED: value }).ssl).toBe(ssl)
  })

  test('KAFKA_SSL is read before KAFKA_SSL_ENABLED', () => {
    expect(configFromEnv({ KAFKA_SSL: 'false', KAFKA_SSL_ENABLED: 'true' }).ssl).toBe(false)
    expect(configFromEnv({ KAFKA_SSL: 'true', KAFKA_SSL_ENABLED: 'false' }).ssl).toBe(true)
  })

  test.each([
    ['PLAINTEXT', false, undefined],
    ['SSL', true, undefined],
    ['SASL_PLAINTEXT', false, 'plain'],
    ['SASL_SSL', true, 'plain'],
    ['sasl_ssl', true, 'plain'],
  ])('KAFKA_SECURITY_PROTOCOL=%s -> ssl %s, sasl %s (over KAFKA_SSL)', (protocol, ssl, mechanism) => {
    const opposite = ssl ? 'false' : 'true'
    const c = configFromEnv({ KAFKA_SECURITY_PROTOCOL: protocol, KAFKA_SSL: opposite, KAFKA_SSL_ENABLED: opposite, KAFKA_SASL_USERNAME: 'user', KAFKA_SASL_PASSWORD: CANARY })
    expect(c.ssl).toBe(ssl)
    expect(c.sasl?.mechanism).toBe(mechanism)
    if (mechanism) expect([c.sasl.username, c.sasl.password]).toEqual(['user', CANARY])
  })

  test('seed 004: Azure Event Hubs (SASL_SSL, PLAIN, $ConnectionString and a connection string)', () => {
    const c = configFromEnv({ KAFKA_BROKERS: 'ns.servicebus.windows.net:9093', KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', ...sasl('PLAIN') })
    expect(c.brokers).toEqual(['ns.servicebus.windows.net:9093'])
    expect(c.ssl).toBe(true)
    expect([c.sasl.mechanism, c.sasl.username, c.sasl.password]).toEqual(['plain', '$ConnectionString', CANARY])
    // Readable for the client, hidden from anything that prints the config.
    for (const t of texts(c)) expect(t).not.toContain('s3cret-canary')
  })

  test.each(['plain', 'scram-sha-256', 'scram-sha-512', 'SCRAM-SHA-512'])('KAFKA_SASL_MECHANISM=%s with username and password', (mechanism) => {
    const c = configFromEnv(sasl(mechanism))
    expect(c.sasl.mechanism).toBe(mechanism.toLowerCase())
    expect(c.sasl.username).toBe('$ConnectionString')
    expect(c.sasl.password).toBe(CANARY)
    for (const t of texts(c)) expect(t).not.toContain('s3cret-canary')
  })

  test('KAFKA_SASL_MECHANISM=oauthbearer needs no username or password', () => {
    const c = configFromEnv({ KAFKA_SASL_MECHANISM: 'oauthbearer' })
    expect(c.sasl.mechanism).toBe('oauthbearer')
    expect(c.sasl.username ?? null).toBeNull()
    expect(c.sasl.password ?? null).toBeNull()
  })

  test("credentials without KAFKA_SASL_MECHANISM mean SASL plain (seed 003's documented default), never dropped silently", () => {
    expect(configFromEnv({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: CANARY }).sasl).toEqual({ mechanism: 'plain', username: 'u', password: CANARY })
    // One credential alone is a mistake, named; an explicit PLAINTEXT listener keeps SASL off.
    expect(() => configFromEnv({ KAFKA_SASL_USERNAME: 'u' })).toThrow(/`KAFKA_SASL_PASSWORD`: is required when a SASL credential is set \(mechanism plain\)/)
    expect(configFromEnv({ KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: CANARY }).sasl).toBeUndefined()
    // A disabled service connects nowhere: a leftover credential does not stop it.
    expect(configFromEnv({ KAFKA_ENABLED: 'false', KAFKA_SASL_USERNAME: 'u' })).toMatchObject({ enabled: false })
  })

  test.each([
    ['true', true], ['1', true], ['yes', true], ['', true],
    ['false', false], ['FALSE', false], ['0', false], ['no', false], ['off', false],
  ])('KAFKA_ENABLED=%j -> enabled %s', (value, enabled) => {
    expect(configFromEnv({ KAFKA_ENABLED: value }).enabled).toBe(enabled)
  })

  test('KAFKA_DLQ_TOPIC (blank = unset)', () => {
    expect(configFromEnv({ KAFKA_DLQ_TOPIC: ' dlq.all ' }).dlqTopic).toBe('dlq.all')
    expect(configFromEnv({ KAFKA_DLQ_TOPIC: '  ' }).dlqTopic).toBeUndefined()
  })

  test('KAFKA_<DOMAIN>_TOPIC overrides and extends the domain map; KAFKA_DLQ_TOPIC is not a domain', async () => {
    const saved = { ...process.env }
    let bus
    try {
      Object.assign(process.env, { KAFKA_PROJECTS_TOPIC: 'prod.projects', KAFKA_BILLING_TOPIC: ' fsm.billing ', KAFKA_DLQ_TOPIC: 'dlq.all', KAFKA_EMPTY_TOPIC: ' ' })
      // Silent and shut down: its client must not log connection failures after the suite ended.
      bus = new EventBus({ brokers: ['127.0.0.1:1'], logLevel: 0 })
      expect(bus.topicFor('projects.service_order.created')).toBe('prod.projects')
      expect(bus.topicFor('billing.invoice.created')).toBe('fsm.billing')
      expect(bus.topicFor('assignments.created')).toBe('fsm.assignments')
      expect(bus.topicFor('dlq.thing')).toBe('dlq.thing')
      expect(bus.topicFor('empty.thing')).toBe('empty.thing')
    } finally {
      await bus?.shutdown()
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  })
})

describe('bad values: the error names the variable and never contains the password', () => {
  test.each([
    ['an empty KAFKA_BROKERS', { KAFKA_BROKERS: '' }, 'KAFKA_BROKERS', /at least one host:port/],
    ['a KAFKA_BROKERS of commas', { KAFKA_BROKERS: ' , ,' }, 'KAFKA_BROKERS', /at least one host:port/],
    ['a KAFKA_BROKERS entry without a port', { KAFKA_BROKERS: 'localhost:9092,kafka' }, 'KAFKA_BROKERS', /kafka.*host:port/],
    ['a KAFKA_BROKERS port out of range', { KAFKA_BROKERS: 'kafka:70000' }, 'KAFKA_BROKERS', /host:port/],
    ['a KAFKA_BROKERS entry without a host', { KAFKA_BROKERS: ':9092' }, 'KAFKA_BROKERS', /host:port/],
    ['a bad KAFKA_SSL', { KAFKA_SSL: 'maybe' }, 'KAFKA_SSL', /true or false/],
    ['a bad KAFKA_SSL_ENABLED', { KAFKA_SSL_ENABLED: 'enabled' }, 'KAFKA_SSL_ENABLED', /true or false/],
    ['a bad KAFKA_ENABLED', { KAFKA_ENABLED: 'nope' }, 'KAFKA_ENABLED', /true or false/],
    ['a bad KAFKA_SECURITY_PROTOCOL', { KAFKA_SECURITY_PROTOCOL: 'TLS' }, 'KAFKA_SECURITY_PROTOCOL', /PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL/],
    ['a bad KAFKA_SASL_MECHANISM', sasl('gssapi'), 'KAFKA_SASL_MECHANISM', /plain, scram-sha-256, scram-sha-512 or oauthbearer/],
    ['SASL without a username', { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: CANARY }, 'KAFKA_SASL_USERNAME', /required when KAFKA_SASL_MECHANISM is set \(mechanism plain\)/],
    ['SASL with an empty username', sasl('scram-sha-256', { KAFKA_SASL_USERNAME: '' }), 'KAFKA_SASL_USERNAME', /required/],
    ['SASL without a password', { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: '' }, 'KAFKA_SASL_PASSWORD', /required/],
    ['SASL_SSL without a username', { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_PASSWORD: CANARY }, 'KAFKA_SASL_USERNAME', /required when KAFKA_SECURITY_PROTOCOL is SASL_SSL \(mechanism plain\)/],
    ['SASL_PLAINTEXT without a password', { KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: '' }, 'KAFKA_SASL_PASSWORD', /required when KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT/],
    ['a mechanism under PLAINTEXT', sasl('scram-sha-256', { KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT' }), 'KAFKA_SASL_MECHANISM', /KAFKA_SECURITY_PROTOCOL=PLAINTEXT has no SASL: use SASL_PLAINTEXT or SASL_SSL/],
    ['a mechanism under SSL', sasl('plain', { KAFKA_SECURITY_PROTOCOL: 'ssl' }), 'KAFKA_SASL_MECHANISM', /KAFKA_SECURITY_PROTOCOL=SSL has no SASL/],
  ])('%s', (_what, env, variable, allowed) => {
    // The password is set wherever a case allows one, so an echo of the environment would show it.
    const e = rejected({ KAFKA_SASL_PASSWORD: CANARY, ...env })
    expect(e.name).toBe('KafkaJSNonRetriableError')
    expect(e.code).toBe('ERR_CONFIG')
    expect(e.field).toBe(variable)
    expect(e.message).toContain(`\`${variable}\``)
    expect(e.message).toMatch(allowed)
    for (const t of texts(e)) expect(t).not.toContain('s3cret-canary')
  })
})
