/*
 * ferrokafka's `ssl` and `sasl` options against a real broker: tansu 0.6.0, with its own processes
 * on free ports (not the run's shared one), and throwaway certificates made by openssl at test time.
 *
 * What tansu 0.6.0 can do, read in its crate sources (~/.cargo/registry/src/.../tansu-*-0.6.0):
 * - TLS: none. tansu-cli/src/cli/broker.rs declares `--cert` and `--key` in one clap group
 *   (`#[arg(group = "tls", long)]` on both), and a clap group admits one member, so giving both
 *   is refused at parse time (measured below); with one of them `server_config` is never built
 *   (it needs both; load errors are dropped by `.ok()`). Even a built config goes nowhere:
 *   tansu-broker/src/broker.rs makes `let _acceptor = ...map(TlsAcceptor::from)` and then serves
 *   the accepted TcpStream as is. So the TLS cases here run through a TLS-terminating proxy (Node's
 *   tls server, security.js) in front of tansu, which tansu advertises as its address: the client's
 *   TLS is real (handshake, CA, hostname), the Kafka behind it is tansu.
 * - SASL (`--authentication`, tansu-broker/src/broker.rs → tansu_auth::configuration): rsasl is
 *   built with features oauthbearer and scram-sha-2 only (tansu-auth/Cargo.toml), so the broker
 *   offers SCRAM-SHA-512, SCRAM-SHA-256 and OAUTHBEARER; PLAIN is refused (NoSharedMechanism)
 *   although tansu-auth/src/lib.rs has a PLAIN branch (which would accept any password).
 *   Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate are served
 *   (tansu-service/src/frame.rs, BytesFrameService::is_authenticated); anything else fails with
 *   NotAuthenticated.
 * - SCRAM credentials come from storage (`Storage::user_scram_credential`, tansu-auth/src/lib.rs
 *   Callback::callback), written by AlterUserScramCredentials (API 51,
 *   tansu-storage/src/service/alter_user_scram_credentials.rs; the `tansu user create` CLI sends
 *   it). The memory storage (dynostore, the only engine of this build) stores nothing:
 *   tansu-storage/src/dynostore.rs `upsert_user_scram_credential` is `Ok(())` and
 *   `user_scram_credential` is `Ok(None)`, so every SCRAM login is "unknown-user". Creating a user
 *   first would not help (and on an authenticating broker API 51 itself needs a login first).
 * - OAUTHBEARER: tansu's callback never answers rsasl's OAuthBearerValidate request, so every
 *   token fails (`NoCallback(...OAuthBearerValidate)` in tansu's log).
 * So no SASL login can succeed on tansu 0.6.0: the success cases are skipped with that reason, and
 * what can be shown is shown: each mechanism arrives at tansu under its Kafka name with the
 * username, a refused login fails connect() within a bound, and no secret shows up anywhere.
 */
const { spawnSync } = require('child_process')
const { Kafka, logLevel, KafkaJSConnectionError, KafkaJSSASLAuthenticationError } = require('../..')
const { unique, within, consumeUntil } = require('../helpers')
const { skipOnTansu, figure, createTopic, produce } = require('./env')
const { ensureBinary, startTansu } = require('./tansu')
const { apiKeys } = require('./wire')
const { makeCertificates, startTlsProxy, saslSeenByTansu } = require('./security')

// A refused TLS or SASL handshake is final: connect() rejects with its reason as soon as the
// client's error callback saw it (src/handshake.rs), well before its own timeout (10 s).
const REFUSED_WITHIN_MS = 5000

// Why each SASL success case is skipped (the test below measures the three refusals).
const NO_SCRAM_USER = 'tansu 0.6.0 memory storage keeps no SCRAM credentials (tansu-storage dynostore.rs: ' +
  'upsert_user_scram_credential is Ok(()), user_scram_credential is Ok(None)), so every SCRAM login is unknown-user'
const NO_PLAIN = 'tansu 0.6.0 builds rsasl without the plain feature (tansu-auth Cargo.toml): SaslHandshake PLAIN is NoSharedMechanism'
const NO_OAUTH = 'tansu 0.6.0 never answers rsasl\'s OAuthBearerValidate callback (tansu-auth lib.rs), so every OAUTHBEARER token is refused'

/** A Kafka whose every log entry (as the logCreator receives it) is kept in `logs`. */
function recordingKafka(config) {
  const logs = []
  const kafka = new Kafka({ logLevel: logLevel.DEBUG, logCreator: () => (entry) => logs.push(entry), ...config })
  return { kafka, logs }
}

/** Connects a producer that must be refused; resolves with the error and how long it took. */
async function refusedConnect(kafka) {
  const producer = kafka.producer()
  const started = Date.now()
  try {
    const err = await within(REFUSED_WITHIN_MS, producer.connect().then(() => null, (e) => e), 'a refused connect')
    if (!err) throw new Error('connect() resolved, expected it to be refused')
    return { err, ms: Date.now() - started }
  } finally {
    await producer.disconnect().catch(() => {})
  }
}

const messages = (logs) => logs.map((e) => String(e.log?.message))

test('tansu 0.6.0 refuses --cert together with --key, so it cannot be started with TLS', () => {
  const run = spawnSync(ensureBinary(), ['broker', '--cert', 'server.pem', '--key', 'server.key'], { encoding: 'utf8', timeout: 10000 })
  figure('tansu broker --cert --key', { status: run.status, stderr: run.stderr.split('\n')[0] })
  expect(run.status).toBe(2)
  expect(run.stderr).toMatch(/'--cert <CERT>' cannot be used with '--key <KEY>'/)
})

describe('TLS (a Node TLS proxy with a throwaway CA in front of tansu)', () => {
  let certs, proxy, tansu, brokers
  beforeAll(async () => {
    certs = makeCertificates()
    proxy = await startTlsProxy({ key: certs.serverKey, cert: certs.serverCert })
    tansu = await startTansu({ advertised: `localhost:${proxy.port}` })
    proxy.forwardTo(tansu.port)
    brokers = [`localhost:${proxy.port}`]
  })
  afterAll(async () => {
    await tansu?.stop()
    await proxy?.close()
    certs?.remove()
  })

  test('ssl: { ca: [caPem] }: admin, producer and consumer work over TLS', async () => {
    const kafka = new Kafka({ clientId: 'tls-ca', brokers, ssl: { ca: [certs.caPem] }, logLevel: logLevel.NOTHING })
    const topic = unique('tls')
    const before = proxy.handshakes
    await createTopic(kafka, topic)
    const [meta] = await produce(kafka, topic, [{ key: 'k', value: 'over tls' }])
    expect(meta).toMatchObject({ topicName: topic, partition: 0, errorCode: 0 })
    const seen = await consumeUntil(kafka, { topics: [topic], config: { sessionTimeout: 6000 }, done: (s) => s.length >= 1 })
    expect(seen.map((s) => [s.message.key.toString(), s.message.value.toString()])).toEqual([['k', 'over tls']])
    // Every connection, the advertised one included, went through the TLS proxy.
    expect(proxy.handshakes).toBeGreaterThan(before)
  })

  test('ssl: { ca: Buffer } (one PEM as a Buffer) sends as well', async () => {
    const kafka = new Kafka({ clientId: 'tls-buf', brokers, ssl: { ca: Buffer.from(certs.caPem) }, logLevel: logLevel.NOTHING })
    const topic = unique('tls')
    await createTopic(kafka, topic)
    const [meta] = await produce(kafka, topic, [{ value: 'buffer ca' }])
    expect(meta).toMatchObject({ topicName: topic, errorCode: 0 })
  })

  test('ssl: true (system CAs) and ssl: { ca: [another CA] } refuse the certificate: a KafkaJS error within the bound, logs name the verification', async () => {
    const results = await Promise.all([true, { ca: [certs.otherCaPem] }].map(async (ssl) => {
      const { kafka, logs } = recordingKafka({ clientId: 'tls-untrusted', brokers, ssl })
      return { ...(await refusedConnect(kafka)), logs }
    }))
    for (const { err, ms, logs } of results) {
      figure('connect error with an untrusted certificate', { name: err.name, code: err.code, retriable: err.retriable, ms })
      expect(err).toBeInstanceOf(KafkaJSConnectionError)
      expect(err.retriable).toBe(false)
      expect(err.message).toMatch(/^connect: .*SSL handshake failed: .*certificate verify failed/)
      expect(messages(logs).some((m) => /SSL handshake failed: .*certificate verify failed/.test(m))).toBe(true)
    }
  })

  test('ssl: { rejectUnauthorized: false } connects and sends without the CA', async () => {
    const kafka = new Kafka({ clientId: 'tls-noverify', brokers, ssl: { rejectUnauthorized: false }, logLevel: logLevel.NOTHING })
    const topic = unique('tls')
    await createTopic(kafka, topic)
    const [meta] = await produce(kafka, topic, [{ value: 'unverified' }])
    expect(meta).toMatchObject({ topicName: topic, errorCode: 0 })
  })
})

describe('SASL (tansu --authentication; SASL_SSL through the TLS proxy)', () => {
  let certs, proxy, tansu, plainBrokers, tlsBrokers
  beforeAll(async () => {
    certs = makeCertificates()
    proxy = await startTlsProxy({ key: certs.serverKey, cert: certs.serverCert })
    // Metadata is refused before a login, so readiness is an ApiVersions answer.
    tansu = await startTansu({
      args: ['--authentication'], advertised: `localhost:${proxy.port}`, rustLog: 'warn,tansu_auth=debug',
      ready: async (port) => (await apiKeys(port, 1000)).size > 0,
    })
    proxy.forwardTo(tansu.port)
    plainBrokers = tansu.brokers
    tlsBrokers = [`localhost:${proxy.port}`]
  })
  afterAll(async () => {
    await tansu?.stop()
    await proxy?.close()
    certs?.remove()
  })

  for (const mechanism of ['scram-sha-256', 'scram-sha-512']) {
    skipOnTansu(`${mechanism} with the right password produces and consumes`, NO_SCRAM_USER)
  }
  skipOnTansu('plain with the right password produces and consumes', NO_PLAIN)
  skipOnTansu('oauthbearer with oauthBearerProvider produces and consumes', NO_OAUTH)
  skipOnTansu('SASL_SSL (ssl + scram-sha-256) with the right password produces and consumes', NO_SCRAM_USER)

  test('each mechanism reaches tansu\'s SaslHandshake under its Kafka name, SCRAM with the username; tansu\'s refusals are the ones its sources predict', async () => {
    const tag = unique('u')
    const configs = [
      { mechanism: 'scram-sha-256', username: `${tag}-256`, password: 'never-logged-256' },
      { mechanism: 'scram-sha-512', username: `${tag}-512`, password: 'never-logged-512' },
      { mechanism: 'plain', username: `${tag}-plain`, password: 'never-logged-plain' },
      { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 'never-logged-token' }) },
    ]
    const results = await Promise.all(configs.map(async (sasl) => {
      const { kafka, logs } = recordingKafka({ clientId: `sasl-${sasl.mechanism}`, brokers: plainBrokers, sasl })
      return { sasl, logs, ...(await refusedConnect(kafka)) }
    }))
    const seen = saslSeenByTansu(tansu.logFile)
    figure('SaslHandshake mechanisms tansu received', [...new Set(seen.handshakes)])
    expect(new Set(seen.handshakes)).toEqual(new Set(['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN', 'OAUTHBEARER']))
    expect(seen.authIds).toEqual(expect.arrayContaining([`Scram256:${tag}-256`, `Scram512:${tag}-512`]))
    // The limits behind the skips above, as measured: if a tansu upgrade lifts one, this fails.
    expect(seen.log).toMatch(/err=NoSharedMechanism mechanism=MECHANISM\(PLAIN\)/)
    expect(seen.log).toMatch(/NoCallback\("rsasl::mechanisms::oauthbearer::properties::OAuthBearerValidate"\)/)
    const scram = results.filter((r) => r.sasl.mechanism.startsWith('scram'))
    for (const { logs } of scram) expect(messages(logs).some((m) => /SASL SCRAM authentication failed: broker responded with unknown-user/.test(m))).toBe(true)
    for (const { err, logs } of results) {
      expect(err).toBeInstanceOf(KafkaJSSASLAuthenticationError)
      expect(err.retriable).toBe(false)
      const secret = err.message.includes('never-logged') || JSON.stringify(logs).includes('never-logged')
      expect(secret).toBe(false)
    }
  })

  test('a refused password: connect() rejects within the bound with a KafkaJS error; neither it nor any log entry holds the password', async () => {
    const password = `pw-${unique('secret')}`
    const { kafka, logs } = recordingKafka({ clientId: 'sasl-wrong', brokers: plainBrokers, sasl: { mechanism: 'scram-sha-512', username: 'alice', password } })
    const { err, ms } = await refusedConnect(kafka)
    figure('connect error of a refused SCRAM login', { name: err.name, code: err.code, retriable: err.retriable, ms })
    // kafkajs's class for a refused login, non-retriable, with librdkafka's reason.
    expect(err).toBeInstanceOf(KafkaJSSASLAuthenticationError)
    expect(err.retriable).toBe(false)
    expect(err.message).toMatch(/^connect: .*SASL authentication error: /)
    expect(messages(logs).some((m) => /SASL authentication error/.test(m))).toBe(true)
    // The admin client fails the same way.
    const admin = kafka.admin()
    const adminErr = await within(REFUSED_WITHIN_MS, admin.connect().then(() => null, (e) => e), 'a refused admin connect')
    await admin.disconnect().catch(() => {})
    expect(adminErr).toBeInstanceOf(KafkaJSSASLAuthenticationError)
    // And the consumer: kafkajs's consumer.connect() reaches the cluster too.
    const consumer = kafka.consumer({ groupId: unique('sasl-wrong') })
    const consumerErr = await within(REFUSED_WITHIN_MS, consumer.connect().then(() => null, (e) => e), 'a refused consumer connect')
    await consumer.disconnect().catch(() => {})
    expect(consumerErr).toBeInstanceOf(KafkaJSSASLAuthenticationError)
    expect(logs.length).toBeGreaterThan(0)
    for (const text of [err.message, err.stack, JSON.stringify(err), adminErr.message, consumerErr.message, JSON.stringify(logs)]) {
      expect(String(text).includes(password)).toBe(false)
    }
  })

  test('SASL_SSL: ssl + scram-sha-256 completes TLS with the CA, then its SCRAM handshake reaches tansu', async () => {
    const username = unique('tls-user')
    const password = `pw-${unique('secret')}`
    const before = proxy.handshakes
    const { kafka, logs } = recordingKafka({
      clientId: 'sasl-ssl', brokers: tlsBrokers, ssl: { ca: [certs.caPem] },
      sasl: { mechanism: 'scram-sha-256', username, password },
    })
    const { err } = await refusedConnect(kafka)
    expect(err).toBeInstanceOf(KafkaJSSASLAuthenticationError)
    expect(proxy.handshakes).toBeGreaterThan(before)
    expect(saslSeenByTansu(tansu.logFile).authIds).toContain(`Scram256:${username}`)
    expect(messages(logs).some((m) => /sasl_ssl:\/\/.*SASL authentication error/.test(m))).toBe(true)
    expect(JSON.stringify(logs).includes(password) || err.message.includes(password)).toBe(false)
  })
})
