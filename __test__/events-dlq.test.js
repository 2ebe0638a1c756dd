// Seed 002's DLQHandler on a MockCluster over TCP: replay with dlq-reprocess-count, manual review,
// quarantine, stats, and delays that do not block other records. The other seed 002 clients
// (TopicManager, EventProducer, EventConsumer): events-clients.test.js.
const { DLQHandler, QUARANTINE_TOPIC, MANUAL_REVIEW_TOPIC } = require('..')
const { unique, inbox } = require('./helpers')
const support = require('./events-support')
const { createTopics, headerText, produce } = support

let cluster, kafka, cfg
// The review and quarantine topics are shared by every DLQHandler test: records are told apart by
// their unique keys.
beforeAll(() => ({ cluster, kafka, cfg } = support.startWithReviewTopics('events-dlq-test')))
afterAll(() => cluster.close())

/** Records of `topics` with these keys, as they arrive, each stamped with its arrival time. */
async function watchKeys(topics, keys) {
  const consumer = kafka.consumer({ groupId: unique('watch') })
  const arrivals = inbox()
  await consumer.connect()
  await consumer.subscribe({ topics, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const key = message.key && message.key.toString()
      if (keys.includes(key)) arrivals.push({ topic, key, message, at: Date.now() })
    },
  })
  return { arrivals, stop: () => consumer.disconnect() }
}

/** Polls `pred` (no event exists for it) until true; bounded by `ms`. */
async function until(pred, ms, what) {
  const limit = Date.now() + ms
  while (!pred()) {
    if (Date.now() > limit) throw new Error(`${what} did not happen within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A dead-letter record as the consumer's DLQ policy writes it. */
const deadLetter = (key, originalTopic, { count, failedAt = Date.now() - 60_000, value = `value-of-${key}` } = {}) => ({
  key, value,
  headers: {
    'dlq-original-topic': originalTopic, 'dlq-original-partition': '0', 'dlq-original-offset': '7',
    'dlq-failed-at': new Date(failedAt).toISOString(), 'dlq-error-name': 'Error', 'dlq-error-message': 'boom',
    'dlq-consumer-group': 'orders-service', 'event-type': 'order.created',
    ...(count === undefined ? {} : { 'dlq-reprocess-count': String(count) }),
  },
})

describe('DLQHandler', () => {
  test('replays to the original topic with dlq-reprocess-count + 1; count 2 -> manual review, count 3 -> quarantine; stats()', async () => {
    const original = unique('orders')
    const dlqTopic = `dlq.${original}`
    createTopics(original, dlqTopic)
    const k = (name) => `${name}-${original}`
    await produce(dlqTopic, [
      deadLetter(k('fresh'), original),
      deadLetter(k('once'), original, { count: 1 }),
      deadLetter(k('twice'), original, { count: 2 }),
      deadLetter(k('thrice'), original, { count: 3 }),
    ])
    const handler = new DLQHandler(cfg, { maxReprocessAttempts: 2, reprocessDelayMs: 100, quarantineAfterAttempts: 3, dlqTopics: [dlqTopic], groupId: unique('dlq-g') })
    const watch = await watchKeys([original, MANUAL_REVIEW_TOPIC, QUARANTINE_TOPIC], [k('fresh'), k('once'), k('twice'), k('thrice')])
    try {
      await handler.start()
      const fresh = await watch.arrivals.waitFor((a) => a.key === k('fresh'))
      const once = await watch.arrivals.waitFor((a) => a.key === k('once'))
      const twice = await watch.arrivals.waitFor((a) => a.key === k('twice'))
      const thrice = await watch.arrivals.waitFor((a) => a.key === k('thrice'))

      expect(fresh.topic).toBe(original)
      expect(headerText(fresh.message, 'dlq-reprocess-count')).toBe('1')
      expect(fresh.message.value.toString()).toBe(`value-of-${k('fresh')}`)
      expect(headerText(fresh.message, 'dlq-source-topic')).toBe(dlqTopic)
      expect(headerText(fresh.message, 'dlq-original-topic')).toBe(original)
      expect(headerText(fresh.message, 'event-type')).toBe('order.created')

      expect(once.topic).toBe(original)
      expect(headerText(once.message, 'dlq-reprocess-count')).toBe('2')

      expect(twice.topic).toBe(MANUAL_REVIEW_TOPIC)
      expect(headerText(twice.message, 'dlq-reprocess-count')).toBe('3')
      expect(headerText(twice.message, 'dlq-original-topic')).toBe(original)
      expect(twice.message.value.toString()).toBe(`value-of-${k('twice')}`)

      expect(thrice.topic).toBe(QUARANTINE_TOPIC)
      expect(headerText(thrice.message, 'dlq-reprocess-count')).toBe('4')

      // Each record went to exactly one place.
      expect(watch.arrivals.seen.map((a) => a.key).sort()).toEqual([k('fresh'), k('once'), k('thrice'), k('twice')].sort())
    } finally {
      await watch.stop()
      await handler.stop()
    }
    expect(handler.stats()).toEqual({ received: 4, reprocessed: 2, sentToReview: 1, quarantined: 1, failed: 0 })
  })

  test('quarantineAfterAttempts below maxReprocessAttempts: quarantine at its count, before the replays run out', async () => {
    const original = unique('items')
    const dlqTopic = `dlq.${original}`
    createTopics(original, dlqTopic)
    const k = (name) => `${name}-${original}`
    await produce(dlqTopic, [deadLetter(k('once'), original, { count: 1 }), deadLetter(k('twice'), original, { count: 2 })])
    const handler = new DLQHandler(cfg, { maxReprocessAttempts: 3, reprocessDelayMs: 100, quarantineAfterAttempts: 2, dlqTopics: [dlqTopic], groupId: unique('dlq-g') })
    const watch = await watchKeys([original, MANUAL_REVIEW_TOPIC, QUARANTINE_TOPIC], [k('once'), k('twice')])
    try {
      await handler.start()
      expect((await watch.arrivals.waitFor((a) => a.key === k('once'))).topic).toBe(original)
      expect((await watch.arrivals.waitFor((a) => a.key === k('twice'))).topic).toBe(QUARANTINE_TOPIC)
    } finally {
      await watch.stop()
      await handler.stop()
    }
    expect(handler.stats()).toMatchObject({ received: 2, reprocessed: 1, sentToReview: 0, quarantined: 1 })
  })

  // The handler is already waiting out the delay of a recent record when a record that is due
  // (it failed long ago: written late, e.g. by another service) is written after it. The DLQ
  // policy writes one record at a time, so the two never share a fetch here.
  test('a record waiting out its delay does not block a later record of the same DLQ partition that is already due', async () => {
    const original = unique('pay')
    const dlqTopic = `dlq.${original}`
    createTopics(original, dlqTopic)
    const delayMs = 3000
    const recentAt = Date.now()
    const recent = `recent-${original}`
    const old = `old-${original}`
    await produce(dlqTopic, [deadLetter(recent, original, { failedAt: recentAt })])
    const handler = new DLQHandler(cfg, { maxReprocessAttempts: 2, reprocessDelayMs: delayMs, quarantineAfterAttempts: 3, dlqTopics: [dlqTopic], groupId: unique('dlq-g') })
    const watch = await watchKeys([original], [recent, old])
    try {
      await handler.start()
      await until(() => handler.stats().received === 1, 10000, 'the recent record to be taken up')
      await produce(dlqTopic, [deadLetter(old, original, { failedAt: recentAt - 60_000 })])
      const oldArrival = await watch.arrivals.waitFor((a) => a.key === old, 10000, 'the replay of the old record')
      const recentArrival = await watch.arrivals.waitFor((a) => a.key === recent, 10000, 'the replay of the recent record')
      // The recent record waits out its delay...
      expect(recentArrival.at).toBeGreaterThanOrEqual(recentAt + delayMs)
      // ...while the old one, already due, goes at once.
      expect(oldArrival.at).toBeLessThan(recentArrival.at)
      expect(oldArrival.at).toBeLessThan(recentAt + delayMs)
    } finally {
      await watch.stop()
      await handler.stop()
    }
    expect(handler.stats()).toEqual(expect.objectContaining({ received: 2, reprocessed: 2 }))
  })

  test('two records in one write wait side by side: the due one is not held back by the recent one', async () => {
    const original = unique('pay')
    const dlqTopic = `dlq.${original}`
    createTopics(original, dlqTopic)
    const delayMs = 3000
    const recentAt = Date.now()
    const recent = `recent-${original}`
    const old = `old-${original}`
    await produce(dlqTopic, [deadLetter(recent, original, { failedAt: recentAt }), deadLetter(old, original, { failedAt: recentAt - 60_000 })])
    const handler = new DLQHandler(cfg, { maxReprocessAttempts: 2, reprocessDelayMs: delayMs, quarantineAfterAttempts: 3, dlqTopics: [dlqTopic], groupId: unique('dlq-g') })
    const watch = await watchKeys([original], [recent, old])
    try {
      await handler.start()
      const oldArrival = await watch.arrivals.waitFor((a) => a.key === old, 10000, 'the replay of the old record')
      const recentArrival = await watch.arrivals.waitFor((a) => a.key === recent, 10000, 'the replay of the recent record')
      expect(recentArrival.at).toBeGreaterThanOrEqual(recentAt + delayMs)
      expect(oldArrival.at).toBeLessThan(recentArrival.at)
      expect(oldArrival.at).toBeLessThan(recentAt + delayMs)
    } finally {
      await watch.stop()
      await handler.stop()
    }
  })

  test('a record waiting out its delay in one DLQ topic does not block a due record of another DLQ topic', async () => {
    const a = unique('svc-a')
    const b = unique('svc-b')
    createTopics(a, b, `dlq.${a}`, `dlq.${b}`)
    const delayMs = 3000
    const recentAt = Date.now()
    const recent = `recent-${a}`
    const old = `old-${b}`
    await produce(`dlq.${a}`, [deadLetter(recent, a, { failedAt: recentAt })])
    const handler = new DLQHandler(cfg, { maxReprocessAttempts: 2, reprocessDelayMs: delayMs, quarantineAfterAttempts: 3, dlqTopics: [`dlq.${a}`, `dlq.${b}`], groupId: unique('dlq-g') })
    const watch = await watchKeys([a, b], [recent, old])
    try {
      await handler.start()
      await until(() => handler.stats().received === 1, 10000, 'the recent record to be taken up')
      await produce(`dlq.${b}`, [deadLetter(old, b, { failedAt: recentAt - 60_000 })])
      const oldArrival = await watch.arrivals.waitFor((x) => x.key === old, 10000, 'the replay of the old record')
      const recentArrival = await watch.arrivals.waitFor((x) => x.key === recent, 10000, 'the replay of the recent record')
      expect(recentArrival.at).toBeGreaterThanOrEqual(recentAt + delayMs)
      expect(oldArrival.topic).toBe(b)
      expect(oldArrival.at).toBeLessThan(recentArrival.at)
      expect(oldArrival.at).toBeLessThan(recentAt + delayMs)
    } finally {
      await watch.stop()
      await handler.stop()
    }
  })
})
