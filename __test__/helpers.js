// Shared by the suites: one MockCluster per file, a unique topic and group per test.
const { Kafka, MockCluster, logLevel } = require('..')

let seq = 0
/** A name no other test uses, so tests never see each other's records or groups. */
const unique = (prefix) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`

/** Starts a 3-broker MockCluster and a Kafka bound to it. */
function startCluster(brokers = 3) {
  const cluster = new MockCluster({ brokers })
  const kafka = new Kafka({ clientId: 'test', brokers: cluster.brokers, logLevel: logLevel.NOTHING })
  return { cluster, kafka }
}

/** Resolves when `predicate()` is true, checked after each call of `tick` (an event, not a sleep). */
function deferred() {
  let resolve, reject
  const promise = new Promise((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** Rejects if `promise` does not settle within `ms` (a bound, never a synchronisation). */
function within(ms, promise, what = 'operation') {
  let timer
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms) })
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer))
}

/**
 * Runs a consumer (eachMessage) until `done(seen)` is true, then disconnects it, even on failure.
 * `seen` holds `{ topic, partition, message }` in delivery order. Bounded by `timeoutMs`.
 */
async function consumeUntil(kafka, { topics, groupId = unique('g'), config = {}, fromBeginning = true, done, timeoutMs = 30000, onMessage }) {
  const consumer = kafka.consumer({ groupId, ...config })
  const seen = []
  const finished = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics, fromBeginning })
    await consumer.run({
      eachMessage: async (payload) => {
        if (onMessage) await onMessage(payload)
        seen.push({ topic: payload.topic, partition: payload.partition, message: payload.message })
        if (done(seen)) finished.resolve()
      },
    })
    await within(timeoutMs, finished.promise, `consuming ${topics.join(',')}`)
    return seen
  } finally {
    await consumer.disconnect()
  }
}

/** Resolves with the first event `type` emitted by `client` whose payload satisfies `accept`. */
function nextEvent(client, type, accept = () => true) {
  const d = deferred()
  const remove = client.on(type, (event) => {
    if (accept(event.payload)) { remove(); d.resolve(event) }
  })
  return d.promise
}

/**
 * Collects items pushed from handlers; `waitFor(pred)` resolves with the first item (already seen
 * or still to come) that satisfies `pred`, or rejects after `ms`.
 */
function inbox() {
  const seen = []
  const waiters = new Set()
  return {
    seen,
    push(item) {
      seen.push(item)
      for (const w of waiters) if (w.pred(item)) { waiters.delete(w); w.d.resolve(item) }
    },
    waitFor(pred, ms = 20000, what = `a message matching ${pred}`) {
      // By index: an item already seen may itself be falsy (0, '').
      const at = seen.findIndex(pred)
      if (at >= 0) return Promise.resolve(seen[at])
      const w = { pred, d: deferred() }
      waiters.add(w)
      return within(ms, w.d.promise, what).finally(() => waiters.delete(w))
    },
  }
}

/** Runs `fn` with a connected admin client of `kafka`, disconnecting it afterwards. */
async function adminOf(kafka, fn) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

/** Sends `messages` to `topic` with a short-lived producer of `kafka`. */
async function sendWith(kafka, topic, messages) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    return await producer.send({ topic, messages })
  } finally {
    await producer.disconnect()
  }
}

/**
 * Runs `node script ...args` and calls `onLine` for each line it prints. `closed` resolves with
 * the signal or exit code after every byte of stdout was read, so no line printed before a kill
 * is missed.
 */
function spawnLines(script, args, onLine, env = process.env) {
  const { spawn } = require('child_process')
  const proc = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  let buffer = ''
  proc.stdout.on('data', (chunk) => {
    buffer += chunk
    const lines = buffer.split('\n')
    buffer = lines.pop()
    lines.forEach((line) => onLine(line))
  })
  const closed = new Promise((resolve) => proc.on('close', (code, signal) => resolve(signal ?? code)))
  return { proc, closed }
}

const binary = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a])
/** Records covering string and binary keys, null keys and values, repeated and binary headers, set timestamps. */
const sampleRecords = (tag) => [
  { key: `${tag}-string`, value: 'plain text ✓', headers: { 'content-type': 'text/plain', trace: Buffer.from('abc') }, timestamp: '1700000000001' },
  { key: binary, value: binary, headers: { bin: binary, many: ['one', 'two'] }, timestamp: '1700000000002' },
  { key: null, value: `${tag}-keyless`, timestamp: '1700000000003' },
  { key: `${tag}-tombstone`, value: null, timestamp: '1700000000004' },
  { key: `${tag}-json`, value: JSON.stringify({ n: 1, s: 'é' }), headers: { empty: '' }, timestamp: '1700000000005' },
]

const asBuffer = (v) => (v === null || v === undefined ? null : Buffer.from(v))
/** What a consumer must hand back for a produced record, in kafkajs's types. */
function expectedRecord(r) {
  const headers = {}
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k] = Array.isArray(v) ? v.map(asBuffer) : asBuffer(v)
  return { key: asBuffer(r.key), value: asBuffer(r.value), headers, timestamp: r.timestamp }
}

/** The offset `groupId` committed for one partition of `topic` (`'-1'` when none), read with `admin`. */
async function committedOffset(admin, groupId, topic, partition = 0) {
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  return offsets.find((o) => o.topic === topic).partitions.find((p) => p.partition === partition).offset
}

/** `[f(0), ..., f(n - 1)]`. */
const range = (n, f) => Array.from({ length: n }, (_, i) => f(i))

/** A connected producer of `kafka` that the test must disconnect (done in `finally` blocks). */
async function connectedProducer(kafka, config) {
  const producer = kafka.producer(config)
  await producer.connect()
  return producer
}

module.exports = {
  range, unique, startCluster, deferred, within, consumeUntil, nextEvent, inbox, adminOf, sendWith, spawnLines, sampleRecords, expectedRecord,
  committedOffset, connectedProducer,
}
