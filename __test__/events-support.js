// What the event-layer suites share: one MockCluster per suite, and helpers to create topics,
// read a topic, send with an EventProducer, read committed offsets and high watermarks, and run a
// started bus.
const { logLevel, initializeEventBus, EventProducer, CorrelationTracker, MANUAL_REVIEW_TOPIC, QUARANTINE_TOPIC } = require('..')
const { unique, startCluster, adminOf, consumeUntil, committedOffset } = require('./helpers')

/** The running suite's cluster, core client and event-layer config (set by `start`). */
const state = {}

/** Starts the suite's cluster; returns `{ cluster, kafka, cfg }`. Call from beforeAll. */
function start(clientId) {
  const { cluster, kafka } = startCluster()
  Object.assign(state, { cluster, kafka, cfg: { brokers: cluster.brokers, clientId, logLevel: logLevel.NOTHING } })
  return state
}

/** `start`, plus the manual-review and quarantine topics DLQHandler and TopicManager expect. */
function startWithReviewTopics(clientId) {
  start(clientId)
  state.cluster.createTopic(MANUAL_REVIEW_TOPIC, 1, 1)
  state.cluster.createTopic(QUARANTINE_TOPIC, 1, 1)
  return state
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i
const DLQ_HEADERS = [
  'dlq-original-topic', 'dlq-original-partition', 'dlq-original-offset', 'dlq-original-timestamp',
  'dlq-consumer-group', 'dlq-error-name', 'dlq-error-message', 'dlq-error-stack', 'dlq-failed-at',
  'dlq-attempts', 'dlq-correlation-id', 'dlq-non-retryable',
]

/** A fresh event domain (the part of an event type before the first dot); no dots inside. */
const domain = (prefix = 'd') => unique(prefix).replace(/[^a-zA-Z0-9]/g, '')

const createTopics = (...topics) => { for (const t of topics) state.cluster.createTopic(t, 1, 1) }
/** For topics several tests share (fsm.projects): creates it unless it exists. */
const ensureTopic = (topic) => {
  try { state.cluster.createTopic(topic, 1, 1) } catch (e) { if (!/already exists/i.test(e.message)) throw e }
}

/** Records of `topic` (from the beginning) until `done(records)`, with a plain core consumer. */
const readUntil = (topic, done, timeoutMs = 20000) => consumeUntil(state.kafka, { topics: [topic], done, timeoutMs })

/** Every record of `topic` until `n` were read. */
const readTopic = (topic, n, timeoutMs = 20000) => readUntil(topic, (s) => s.length >= n, timeoutMs)

/** Sends `messages` to `topic` with a short-lived EventProducer. */
async function produce(topic, messages) {
  const producer = new EventProducer(state.cfg)
  await producer.connect()
  try {
    return await producer.send(topic, messages)
  } finally {
    await producer.disconnect()
  }
}

const headerText = (message, name) => message.headers[name] === undefined ? undefined : message.headers[name].toString()

/** The committed offset of partition 0 of `topic` for `groupId` ('-1' when none). */
const committed = (groupId, topic) => adminOf(state.kafka, (admin) => committedOffset(admin, groupId, topic))

/** The high watermark of partition 0 of `topic`. */
const highWatermark = (topic) => adminOf(state.kafka, async (admin) => (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 0).high)

/**
 * Polls the committed offset until it reaches `target`. The consumer's COMMIT_OFFSETS event does
 * not fire (see the report), so the broker is asked; bounded by `ms`.
 */
async function committedReaches(groupId, topic, target, ms = 15000) {
  const until = Date.now() + ms
  for (;;) {
    const offset = await committed(groupId, topic)
    if (Number(offset) >= target) return offset
    if (Date.now() > until) throw new Error(`committed offset of ${groupId} on ${topic} stayed ${offset}, expected ${target}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Runs `fn(bus)` with a started bus, shutting it down afterwards. */
async function withBus(fn, config = state.cfg) {
  const bus = await initializeEventBus(config)
  try {
    return await fn(bus)
  } finally {
    await bus.shutdown()
  }
}

/** A domain event as `publish(event)` takes it. */
const domainEvent = (type, data, extra = {}) => ({
  id: CorrelationTracker.generate(), type, aggregateId: `agg-${data.n ?? 0}`, aggregateType: 'Thing', version: 1,
  data, metadata: {}, timestamp: new Date().toISOString(), ...extra,
})

module.exports = {
  start, startWithReviewTopics, UUID_V4, DLQ_HEADERS, domain, createTopics, ensureTopic, readUntil, readTopic, produce, headerText, committed,
  highWatermark, committedReaches, withBus, domainEvent,
}
