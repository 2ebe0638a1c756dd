//! The other Node.js Kafka clients the bench races: @platformatic/kafka (pure JavaScript) and
//! kafka-crab-js (napi-rs over librdkafka). Both are optional: a library that does not install or
//! load is reported with its reason, and every step is bounded so a client that cannot talk to the
//! broker (an API version the MockCluster lacks, say) fails with its error instead of hanging.
const fs = require('fs')
const path = require('path')

// A step (connect, warm-up send, subscribe, close) gets this long; a timed loop may run as long as it
// keeps moving, and fails after this long without a single record produced or consumed.
const STEP_MS = 20_000
const IN_FLIGHT = 8
const BATCH = 1000

const now = () => Number(process.hrtime.bigint()) / 1e6
// Set once a library's client was created: it may outlive the call (see run.js' exit).
let used = false

/** Rejects with `what timed out` when `promise` has not settled within `ms`. */
function within(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Runs `loop(progress)` and rejects when `progress()` has not been called for STEP_MS: a client that
 * stops producing or consuming (it never joins the group, its fetches fail silently) is reported.
 */
function watched(what, n, loop) {
  let done = 0
  let moved = now()
  const progress = (count = 1) => { done += count; moved = now() }
  let timer
  const stalled = new Promise((_, reject) => {
    timer = setInterval(() => {
      if (now() - moved <= STEP_MS) return
      reject(new Error(`${what}: no progress for ${STEP_MS / 1000} s after ${done} of ${n} records`))
    }, 250)
  })
  return Promise.race([loop(progress), stalled]).finally(() => clearInterval(timer))
}

/** The package.json of an installed package, found from the file `require.resolve` gives. */
function packageJson(name) {
  let dir = path.dirname(require.resolve(name))
  for (;;) {
    const file = path.join(dir, 'package.json')
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
      if (pkg.name === name) return pkg
    }
    const up = path.dirname(dir)
    if (up === dir) return {}
    dir = up
  }
}

/** Loads `name`; returns `{ lib, version }` or `{ reason }` (never throws). */
function load(name) {
  try {
    require.resolve(name)
  } catch {
    return { reason: 'not installed' }
  }
  const pkg = packageJson(name)
  try {
    return { lib: require(name), version: pkg.version }
  } catch (e) {
    // napi-rs' loader error runs on for pages of nested causes; its first sentence is the point.
    const first = String(e.message).split('\n')[0].split('. ')[0]
    const engines = pkg.engines?.node ? `; ${name} ${pkg.version} declares engines node "${pkg.engines.node}", this is Node ${process.version.slice(1)}` : ''
    const why = engines && /native binding/i.test(first) ? `${engines} (npm leaves out an optional platform package whose engines field this Node does not satisfy)` : engines
    return { version: pkg.version, reason: `${first}${why}` }
  }
}

/**
 * The bench's produce loop: n records from `batchOf(from, count)`, 1000 per `send` call, 8 calls
 * in flight; `progress(count)` after each call. Resolves with msg/s. run.js times ferrokafka and
 * kafkajs with it too.
 */
async function sendInFlight(n, batchOf, send, progress = () => {}) {
  let next = 0
  const started = now()
  const worker = async () => {
    while (next < n) {
      const from = next
      const count = Math.min(BATCH, n - from)
      next += count
      await send(batchOf(from, count))
      progress(count)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  return (n * 1000) / (now() - started)
}

/** `sendInFlight` for another library: a loop that stops moving fails instead of hanging. */
function sendAll(what, n, batchOf, send) {
  return watched(what, n, (progress) => sendInFlight(n, batchOf, send, progress))
}

/** Consumes n records one at a time through an awaited handler, timed from the first; returns msg/s. */
function readAll(what, n, next) {
  return watched(what, n, async (progress) => {
    let count = 0
    let first = 0
    const handle = async () => { if (!first) first = now(); count++; progress() }
    while (count < n) {
      const message = await next()
      if (message === undefined) throw new Error(`${what}: the stream ended after ${count} of ${n} records`)
      await handle(message)
    }
    return (n * 1000) / (now() - first)
  })
}

/**
 * @platformatic/kafka 2.12 declares Node >= 22.22 and calls `Promise.withResolvers` (ES2024, Node 22).
 * On an older Node the bench defines that standard method so the library can still be measured, and
 * says so in its output (`note`).
 */
function loadPlatformatic() {
  const loaded = load('@platformatic/kafka')
  if (loaded.lib && typeof Promise.withResolvers !== 'function') {
    Promise.withResolvers = function withResolvers() {
      let resolve
      let reject
      const promise = new this((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
    loaded.note = `Promise.withResolvers defined by the bench: Node ${process.version.slice(1)} lacks it`
  }
  return loaded
}

const platformatic = {
  name: '@platformatic/kafka',
  key: 'platformatic',
  load: loadPlatformatic,

  async produce(brokers, topic, n, batchOf) {
    const { Producer, ProduceAcks } = require('@platformatic/kafka')
    used = true
    const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: brokers, acks: ProduceAcks.ALL })
    try {
      const send = (messages) => producer.send({ messages: messages.map((m) => ({ topic, key: m.key, value: m.value })) })
      // Like the others: connections and metadata are set up before the clock starts.
      await within(send(batchOf(0, 1)), STEP_MS, '@platformatic/kafka warm-up send')
      return await sendAll('@platformatic/kafka produce', n, batchOf, send)
    } finally {
      await within(producer.close(), STEP_MS, '@platformatic/kafka producer close').catch(() => producer.close(true))
    }
  },

  async consume(brokers, topic, n) {
    const { Consumer } = require('@platformatic/kafka')
    used = true
    const consumer = new Consumer({ groupId: `${topic}-platformatic`, clientId: 'bench-platformatic', bootstrapBrokers: brokers })
    const requests = unanswered()
    let stream
    try {
      stream = await within(consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: true }),
        STEP_MS, '@platformatic/kafka consume()')
      const iterator = stream[Symbol.asyncIterator]()
      return await readAll('@platformatic/kafka consume', n, async () => (await iterator.next()).value)
    } catch (e) {
      throw new Error(`${dedupe(e.message)}${requests.pending().length ? `; unanswered when it failed: ${requests.pending().join(', ')}` : ''}`)
    } finally {
      requests.stop()
      if (stream) await within(stream.close(), STEP_MS, '@platformatic/kafka stream close').catch(() => {})
      await within(consumer.close(true), STEP_MS, '@platformatic/kafka consumer close').catch(() => {})
    }
  },
}

/** `joinGroup failed 4 times. Connection closed Connection closed ...` says its cause once. */
const dedupe = (message) => String(message).replace(/([A-Z][\w ]*?)(?: \1)+\s*$/, '$1')

/**
 * The requests @platformatic/kafka sent that got no response, through its documented diagnostics
 * channel: when a broker closes a connection, they name the request it refused.
 */
function unanswered() {
  const { connectionsApiChannel, protocolAPIsById } = require('@platformatic/kafka')
  const open = new Set()
  const handlers = {
    start: (d) => { if (d.apiKey !== undefined) open.add(d) },
    error: (d) => { if (d.error?.message !== 'Connection closed') open.delete(d) },
    asyncEnd: (d) => open.delete(d),
    end: () => {},
    asyncStart: () => {},
  }
  connectionsApiChannel.subscribe(handlers)
  return {
    pending: () => [...new Set([...open].map((d) => `${protocolAPIsById[d.apiKey] ?? d.apiKey} v${d.apiVersion}`))],
    stop: () => connectionsApiChannel.unsubscribe(handlers),
  }
}

const crab = {
  name: 'kafka-crab-js',
  key: 'crab',
  load: () => load('kafka-crab-js'),

  client(brokers) {
    const { KafkaClient } = require('kafka-crab-js')
    used = true
    return new KafkaClient({ brokers: brokers.join(','), clientId: 'bench-crab', logLevel: 'error' })
  },

  async produce(brokers, topic, n, batchOf) {
    // kafka-crab-js' producer has no close: its librdkafka handle goes with the object. Each send
    // ends in a flush bounded by queueTimeout; with the default, a run on this 2-core machine failed
    // with `Flush error: OperationTimedOut`.
    const producer = crab.client(brokers).createProducer({ queueTimeout: STEP_MS, configuration: { acks: 'all' } })
    const send = (messages) => producer.send({ topic, messages: messages.map((m) => ({ key: m.key, payload: m.value })) })
    await within(send(batchOf(0, 1)), STEP_MS, 'kafka-crab-js warm-up send')
    return sendAll('kafka-crab-js produce', n, batchOf, send)
  },

  async consume(brokers, topic, n) {
    // The serial Web Stream: one message per read, its README's counterpart of eachMessage.
    const { consumer, stream } = crab.client(brokers).createWebStreamConsumer({
      groupId: `${topic}-crab`, enableAutoCommit: true, configuration: { 'auto.offset.reset': 'earliest' },
    })
    const reader = stream.getReader()
    try {
      await within(consumer.subscribe(topic), STEP_MS, 'kafka-crab-js subscribe')
      return await readAll('kafka-crab-js consume', n, async () => {
        const { value, done } = await reader.read()
        return done ? undefined : value
      })
    } finally {
      await within(reader.cancel(), STEP_MS, 'kafka-crab-js reader cancel').catch(() => {})
      reader.releaseLock()
      await within(consumer.disconnect(), STEP_MS, 'kafka-crab-js disconnect').catch(() => {})
    }
  },
}

/** The libraries compared besides ferrokafka and kafkajs, in table order. */
module.exports = { libraries: [platformatic, crab], used: () => used, sendInFlight }
