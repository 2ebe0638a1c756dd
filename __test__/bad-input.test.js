// Bad input (issue #4): poison records reach the handler byte-exact; every wrong option or
// argument is a kafkajs error naming its field; no case crashes the process or hangs.
const path = require('path')
const { spawn } = require('child_process')
const { Kafka, MockCluster, logLevel, KafkaJSError, KafkaJSProtocolError, isKafkaJSError } = require('..')
const { cases, needsNative, acceptedUnknown, makeEnv, attempt } = require('./fixtures/bad-input-cases')
const { consumeUntil, unique, within } = require('./helpers')

const CASE_BOUND_MS = 10_000

/** Runs every case in a child process: its exit status tells a crash apart from a failure. */
function runChild() {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'bad-input-child.js')], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = '', err = ''
    proc.stdout.on('data', (d) => { out += d })
    proc.stderr.on('data', (d) => { err += d })
    const timer = setTimeout(() => proc.kill('SIGKILL'), 150_000)
    proc.on('exit', (code, signal) => {
      clearTimeout(timer)
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l))
      const done = new Map(lines.filter((l) => l.done).map((l) => [l.done, l]))
      const crashedAt = lines.filter((l) => l.start && !done.has(l.start)).map((l) => l.start)
      resolve({ code, signal, done, crashedAt, stderr: err })
    })
  })
}

/** The error must be a kafkajs class whose `field` and message name the argument at fault. */
function expectClear(result, field) {
  if (result.outcome !== 'threw') throw new Error(`expected an error naming \`${field}\`, but the call ${result.outcome === 'hang' ? `did not settle within ${CASE_BOUND_MS} ms` : 'succeeded'}`)
  const { error } = result
  expect(isKafkaJSError(error)).toBe(true)
  expect(error).toBeInstanceOf(KafkaJSError)
  expect(error.field).toBe(field)
  // librdkafka property errors name the property itself (`linger.ms`), not the `rdkafka.` path.
  expect(error.message).toContain(field.replace(/^rdkafka\./, ''))
}

const figures = { cases: 0, clear: 0, native: 0, nativeClear: 0 }
let child, cluster, env

beforeAll(async () => {
  child = await runChild()
  cluster = new MockCluster({ brokers: 1 })
  env = await makeEnv(cluster)
})

afterAll(async () => {
  await env?.close()
  cluster?.close()
  console.log(`bad-input: ${figures.cases} cases, ${figures.clear} answered by a clear error; checked natively: ${figures.native} cases, ${figures.nativeClear} clear; child process exit ${child?.code} signal ${child?.signal}, crashes ${child?.crashedAt.length}`)
})

test('no case crashes the Node process or hangs (every case run in a child process)', () => {
  const all = [...cases, ...needsNative].map(([name]) => name)
  expect({ signal: child.signal, crashedAt: child.crashedAt, code: child.code }).toEqual({ signal: null, crashedAt: [], code: 0 })
  expect([...child.done.keys()]).toEqual(all)
  const hangs = cases.filter(([name]) => child.done.get(name).outcome === 'hang').map(([name]) => name)
  console.log(`child process: ${child.done.size}/${all.length} cases settled, ${hangs.length} hangs, ${child.crashedAt.length} crashes`)
  expect(hangs).toEqual([])
})

/** A case runs in process only if it already survived the child process. */
async function runCase(name, run) {
  const seen = child.done.get(name)
  if (!seen) throw new Error(`case "${name}" crashed the child process (not run here)`)
  return attempt(env, run, CASE_BOUND_MS)
}

describe('wrong types, unknown or contradictory options, bad TLS/SASL/brokers', () => {
  test.each(cases)('%s → error naming `%s`', async (name, field, run) => {
    figures.cases++
    expectClear(await runCase(name, run), field)
    figures.clear++
  })
})

describe('unknown keys (accepted, as kafkajs does)', () => {
  test.each(acceptedUnknown)('%s does not throw', (name, run) => {
    expect(() => run(env)).not.toThrow()
  })
})

describe('checked natively', () => {
  test.each(needsNative)('%s → error naming `%s`', async (name, field, run) => {
    figures.native++
    expectClear(await runCase(name, run), field)
    figures.nativeClear++
  })
})

describe('poison records', () => {
  // Bytes that are not UTF-8: a lone continuation byte, an overlong form, a truncated sequence, NUL.
  const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0x00, 0xc0, 0xaf])
  const TWO_MB = Buffer.alloc(2 * 1024 * 1024, 0).map((_, i) => (i * 131 + 7) & 0xff)
  const headers1000 = {}
  for (let i = 0; i < 1000; i++) headers1000[`h${i}`] = Buffer.concat([INVALID_UTF8, Buffer.from([i & 0xff, i >> 8])])

  test('reach the handler intact: invalid UTF-8, empty vs null, 1,000 headers, a 2 MB value', async () => {
    const topic = unique('poison')
    cluster.createTopic(topic, 1, 1)
    // librdkafka's producer refuses records over message.max.bytes (1,000,000 by default); the
    // mock broker itself accepts requests up to 100 MB and the consumer's fetch sizes are upper
    // bounds a single larger record still passes (Fetch v3+ returns at least one record).
    const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING, rdkafka: { 'message.max.bytes': 3_000_000 } })
    const poison = [
      { name: 'invalid UTF-8 key, value and header', message: { key: INVALID_UTF8, value: INVALID_UTF8, headers: { bad: INVALID_UTF8 } } },
      { name: 'empty Buffers', message: { key: Buffer.alloc(0), value: Buffer.alloc(0) } },
      { name: 'null key and value', message: { key: null, value: null } },
      { name: 'empty strings', message: { key: '', value: '' } },
      { name: 'lone surrogate string', message: { key: '\uD800k', value: 'v\uDC00' } },
      { name: '1,000 headers', message: { value: 'h', headers: headers1000 } },
      { name: 'repeated header', message: { value: 'r', headers: { multi: ['a', INVALID_UTF8, ''] } } },
      { name: '2 MB value', message: { value: TWO_MB } },
    ]
    const producer = kafka.producer()
    await producer.connect()
    try {
      for (const p of poison) await within(20_000, producer.send({ topic, messages: [p.message] }), `send ${p.name}`)
    } finally {
      await producer.disconnect()
    }
    const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= poison.length, config: { sessionTimeout: 6000 } })
    const got = seen.map((s) => s.message)
    const bytes = (v) => (v === null || v === undefined ? null : Buffer.from(v))
    let exact = 0
    poison.forEach((p, i) => {
      const m = got[i]
      expect([p.name, m.key]).toEqual([p.name, bytes(p.message.key)])
      expect([p.name, m.value]).toEqual([p.name, bytes(p.message.value)])
      for (const [h, v] of Object.entries(p.message.headers ?? {})) {
        expect([p.name, h, m.headers[h]]).toEqual([p.name, h, Array.isArray(v) ? v.map(bytes) : bytes(v)])
      }
      exact++
    })
    // Buffers, never strings, and null stays null (not an empty Buffer) — kafkajs's shape.
    expect(Buffer.isBuffer(got[1].key) && got[1].key.length === 0).toBe(true)
    expect(got[2].key).toBeNull()
    expect(got[2].value).toBeNull()
    expect(Object.keys(got[5].headers)).toHaveLength(1000)
    expect(got[7].value.equals(TWO_MB)).toBe(true)
    console.log(`poison: ${poison.length} records sent, ${exact} consumed byte-exact (largest ${TWO_MB.length} B, 1,000 headers)`)
  })

  test('a value larger than allowed is a non-retriable MSG_SIZE_TOO_LARGE; the producer goes on', async () => {
    const topic = unique('oversize')
    cluster.createTopic(topic, 1, 1)
    const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    const rejected = []
    try {
      // 1,000,001 bytes: one over librdkafka's default message.max.bytes.
      for (const size of [1_000_001, 2 * 1024 * 1024]) {
        const err = await within(CASE_BOUND_MS, producer.send({ topic, messages: [{ value: Buffer.alloc(size) }] }).then(() => null, (e) => e), 'oversize send')
        expect(err).toBeInstanceOf(KafkaJSProtocolError)
        // As kafkajs reports it: the Kafka protocol's name and number.
        expect({ type: err.type, code: err.code }).toEqual({ type: 'MESSAGE_TOO_LARGE', code: 10 })
        expect(err.retriable).toBe(false)
        expect(err.message).toContain(topic)
        rejected.push(size)
      }
      const [meta] = await within(CASE_BOUND_MS, producer.send({ topic, messages: [{ value: 'after' }] }), 'send after oversize')
      expect(meta.errorCode).toBe(0)
    } finally {
      await producer.disconnect()
    }
    console.log(`oversize: ${rejected.length} rejected (${rejected.join(', ')} B), next send delivered`)
  })
})
