// A consumer that stops making progress is never silent, and one that is merely slow is never
// evicted: a handler running past the session timeout and librdkafka's max.poll.interval.ms
// costs no rebalance and no redelivery (kafkajs#1527, #1396); a fatal librdkafka error surfaces
// as CRASH and the consumer restarts per `retry` (kafkajs#1431, confluent-kafka-javascript#476).
const { Kafka, KafkaJSError, KafkaJSNumberOfRetriesExceeded, logLevel } = require('..')
const { MockCluster, failConsumer } = require('../testing')
const { unique, deferred, within, nextEvent, sendWith } = require('./helpers')

const SHORT_SESSION = { sessionTimeout: 6000, heartbeatInterval: 500 }
const POLL_BOUND_MS = 7000

let cluster
beforeAll(() => { cluster = new MockCluster({ brokers: 1 }) })
afterAll(() => cluster.close())

const kafkaWith = (extra = {}) => new Kafka({ clientId: 'liveness', brokers: cluster.brokers, logLevel: logLevel.NOTHING, ...extra })
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test('a handler running past the session timeout and max.poll.interval.ms causes no rebalance and no redelivery', async () => {
  const topic = unique('slow')
  cluster.createTopic(topic, 2, 1)
  const kafka = kafkaWith({ rdkafka: { 'max.poll.interval.ms': POLL_BOUND_MS, 'statistics.interval.ms': 100 } })
  const records = Array.from({ length: 6 }, (_, n) => ({ partition: n % 2, value: String(n) }))
  await sendWith(kafka, topic, records)

  const consumer = kafka.consumer({ groupId: unique('slow-group'), ...SHORT_SESSION })
  const seen = { joins: 0, rebalances: 0, crashes: 0 }
  consumer.on(consumer.events.GROUP_JOIN, () => seen.joins++)
  consumer.on(consumer.events.REBALANCING, () => seen.rebalances++)
  consumer.on(consumer.events.CRASH, () => seen.crashes++)
  const handled = []
  const all = deferred()
  // The workload itself is slow (twice the session timeout, past the poll bound): not a sync.
  const slowMs = 2 * SHORT_SESSION.sessionTimeout + 1000
  // Produced while the handler is away: the member must not buffer them meanwhile.
  const during = Array.from({ length: 3000 }, (_, n) => ({ partition: n % 2, value: `late-${n}` }))
  let buffered = null
  let statsAgeS = null
  let first = true
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (first) {
          first = false
          await pause(slowMs / 2)
          await sendWith(kafka, topic, during)
          await pause(slowMs / 2)
          // librdkafka's own count of records fetched and waiting, per partition.
          const stats = consumer.statistics()
          const partitions = Object.values(stats?.topics?.[topic]?.partitions ?? {})
          buffered = partitions.filter((p) => p.partition >= 0).reduce((n, p) => n + p.fetchq_cnt, 0)
          statsAgeS = Date.now() / 1000 - (stats?.time ?? 0)
        }
        handled.push(message.value.toString())
        if (handled.length >= records.length + during.length) all.resolve()
      },
    })
    await within(slowMs + 30_000, all.promise, 'every record handled')
  } finally {
    await consumer.disconnect()
  }
  console.log(`slow handler: ${slowMs} ms (session ${SHORT_SESSION.sessionTimeout} ms, poll bound ${POLL_BOUND_MS} ms); joins ${seen.joins}, rebalances ${seen.rebalances}, handled ${handled.length}, fetched and waiting at the end of it ${buffered} of the ${during.length} produced meanwhile`)
  expect(seen).toEqual({ joins: 1, rebalances: 0, crashes: 0 })
  expect([...handled].sort()).toEqual([...records, ...during].map((r) => r.value).sort())
  // Fresh figures (librdkafka reports them only while polled), and far fewer than were produced:
  // a handful queued before the pause, not the thousands a member still fetching would hold.
  expect(statsAgeS).toBeLessThan(2)
  expect(buffered).toBeLessThan(100)
}, 60_000)

async function produceNumbered(kafka, topic, from, count) {
  await sendWith(kafka, topic, Array.from({ length: count }, (_, i) => ({ key: `k${(from + i) % 17}`, value: String(from + i) })))
}

test('a fatal librdkafka error surfaces as CRASH { error, groupId, restart: true } and the consumer restarts with nothing lost', async () => {
  const topic = unique('fatal')
  cluster.createTopic(topic, 3, 1)
  const kafka = kafkaWith()
  await produceNumbered(kafka, topic, 0, 200)
  const groupId = unique('fatal-group')
  const consumer = kafka.consumer({ groupId, ...SHORT_SESSION, retry: { initialRetryTime: 100 } })
  const handled = new Map()
  let joins = 0
  consumer.on(consumer.events.GROUP_JOIN, () => joins++)
  const half = deferred()
  const every = deferred()
  const total = 400
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        const n = Number(message.value.toString())
        handled.set(n, (handled.get(n) ?? 0) + 1)
        if (handled.size >= 100) half.resolve()
        if (handled.size >= total) every.resolve()
      },
    })
    await within(20_000, half.promise, 'the first 100 records')
    const crash = nextEvent(consumer, consumer.events.CRASH)
    failConsumer(consumer, 'test: fenced by a newer instance')
    const { payload } = await within(20_000, crash, 'CRASH')
    expect(payload.groupId).toBe(groupId)
    expect(payload.restart).toBe(true)
    expect(payload.error).toBeInstanceOf(KafkaJSError)
    expect(payload.error.message).toMatch(/fenced/i)
    await produceNumbered(kafka, topic, 200, 200)
    await within(40_000, every.promise, 'every record after the restart')
  } finally {
    await consumer.disconnect()
  }
  const missing = Array.from({ length: total }, (_, n) => n).filter((n) => !handled.has(n))
  const duplicates = [...handled.values()].filter((c) => c > 1).length
  console.log(`fatal error: ${total} records, handled ${handled.size}, duplicates ${duplicates} (the uncommitted window), missing ${missing.length}, joins ${joins}`)
  expect(missing).toEqual([])
  expect(joins).toBeGreaterThanOrEqual(2)
}, 90_000)

test('restartOnFailure resolving false: CRASH says restart: false and the consumer stays stopped', async () => {
  const topic = unique('fatal-stop')
  cluster.createTopic(topic, 1, 1)
  const kafka = kafkaWith()
  await produceNumbered(kafka, topic, 0, 5)
  const asked = []
  const consumer = kafka.consumer({
    groupId: unique('fatal-stop-group'), ...SHORT_SESSION,
    retry: { initialRetryTime: 100, restartOnFailure: async (e) => { asked.push(e.message); return false } },
  })
  const got = []
  const five = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { got.push(message.value.toString()); if (got.length === 5) five.resolve() } })
    await within(20_000, five.promise, 'the first records')
    const crash = nextEvent(consumer, consumer.events.CRASH)
    failConsumer(consumer, 'test: fatal')
    const { payload } = await within(20_000, crash, 'CRASH')
    expect(payload.restart).toBe(false)
    expect(asked).toHaveLength(1)
  } finally {
    await within(10_000, consumer.disconnect(), 'disconnect after a crash')
  }
  expect(got).toEqual(['0', '1', '2', '3', '4'])
}, 60_000)

test('a handler out of retries: CRASH carries KafkaJSNumberOfRetriesExceeded (cause: the handler error), restartOnFailure is asked, the record is retried again', async () => {
  const topic = unique('retries')
  cluster.createTopic(topic, 1, 1)
  const kafka = kafkaWith()
  await sendWith(kafka, topic, [{ value: 'flaky' }, { value: 'next' }])
  const asked = []
  const consumer = kafka.consumer({
    groupId: unique('retries-group'), ...SHORT_SESSION,
    retry: { retries: 2, initialRetryTime: 20, restartOnFailure: async (e) => { asked.push(e); return true } },
  })
  const attempts = []
  const handled = []
  const done = deferred()
  const commits = []
  consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => commits.push(payload))
  let joined
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => { joined = payload })
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const crash = nextEvent(consumer, consumer.events.CRASH)
    await consumer.run({
      eachMessage: async ({ message }) => {
        const v = message.value.toString()
        if (v === 'flaky') {
          attempts.push(v)
          if (attempts.length <= 3) throw new Error(`flaky failure ${attempts.length}`)
        }
        handled.push(v)
        if (handled.includes('next')) done.resolve()
      },
    })
    const { payload } = await within(20_000, crash, 'CRASH after the retries')
    expect(payload.error).toBeInstanceOf(KafkaJSNumberOfRetriesExceeded)
    expect(payload.error.cause.message).toBe('flaky failure 3')
    expect(payload.error.retryCount).toBe(2)
    expect(payload.restart).toBe(true)
    expect(asked).toEqual([payload.error])
    await within(20_000, done.promise, 'the record handled after the crash, then the next one')
  } finally {
    await consumer.disconnect()
  }
  expect(handled).toEqual(['flaky', 'next'])
  // kafkajs's COMMIT_OFFSETS payload, the final commit of disconnect() included.
  expect(commits.at(-1)).toMatchObject({ groupId: joined.groupId, memberId: joined.memberId, topics: [{ topic, partitions: [{ partition: '0', offset: '2' }] }] })
}, 60_000)

test('a partition the idle keeper paused after librdkafka reported its end resumes at the next record, not past it', async () => {
  // With enable.partition.eof, the end of the partition comes through librdkafka's batch call as an
  // element of its own, which moves librdkafka's position one past it; a pause that resumed from
  // that position skipped the first record produced after the end.
  const topic = unique('eof')
  cluster.createTopic(topic, 1, 1)
  const kafka = kafkaWith({ rdkafka: { 'max.poll.interval.ms': POLL_BOUND_MS, 'enable.partition.eof': true } })
  await sendWith(kafka, topic, [{ value: 'first' }])
  const consumer = kafka.consumer({ groupId: unique('eof-group'), ...SHORT_SESSION })
  const handled = []
  const second = deferred()
  // The workload: the first handler outlasts a third of the poll bound, so the idle keeper
  // pauses the partition, and the next fetch resumes it.
  const slowMs = POLL_BOUND_MS / 3 + 1500
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        handled.push(message.value.toString())
        if (handled.length === 1) {
          await sendWith(kafka, topic, [{ value: 'second' }])
          await pause(slowMs)
        } else second.resolve()
      },
    })
    await within(30_000, second.promise, 'the record produced after the end of the partition')
    expect(handled).toEqual(['first', 'second'])
  } finally {
    await consumer.disconnect()
  }
}, 60_000)
