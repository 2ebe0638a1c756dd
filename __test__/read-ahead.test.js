// The consumer drains the next batch while handlers run the current one (src/consumer_ahead.rs).
// A partition moved meanwhile (paused, sought, rewound for a retry) must lose no record and
// replay none out of order: each test holds more records than the first fetch (2,000), and moves
// the partition in the middle of the first batch, while the second is being read ahead.
const { unique, startCluster, deferred, within, sendWith } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const N = 6000
const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i)

/** A one-partition topic holding the values 0..N-1 in offset order. */
async function filledTopic(prefix, count = N) {
  const topic = unique(prefix)
  cluster.createTopic(topic, 1, 1)
  await sendWith(kafka, topic, range(0, count).map((i) => ({ value: String(i) })))
  return topic
}

/**
 * Runs `onValue(i, payload)` for each record until the value N-1 has been handled after `moved()`
 * became true; returns every value handled, in order.
 */
async function consume(topic, onValue, config = {}) {
  const consumer = kafka.consumer({ groupId: unique('g'), ...config })
  const seen = []
  const last = deferred()
  let state = { moved: false }
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async (payload) => {
        const i = Number(payload.message.value.toString())
        seen.push(i)
        await onValue(i, payload, consumer, state)
        if (i === N - 1 && state.moved) last.resolve()
      },
    })
    await within(60_000, last.promise, 'the last record')
    return seen
  } finally {
    await consumer.disconnect()
  }
}

test('pauses in the middle of batches, with the next one read ahead: every record once, in order', async () => {
  const topic = await filledTopic('ra-pause')
  const paused = new Set()
  const seen = await consume(topic, (i, { pause }, _c, state) => {
    // Several pauses, so that some fall while a full batch is read ahead.
    if (i % 1000 === 500 && !paused.has(i)) {
      paused.add(i)
      state.moved = paused.size >= 5
      const resume = pause()
      setTimeout(resume, 50)
    }
  })
  expect(seen).toEqual(range(0, N))
})

test('a seek back in the middle of a batch: the read-ahead rows are not delivered before the sought ones', async () => {
  const topic = await filledTopic('ra-seek')
  const seen = await consume(topic, (i, { partition }, consumer, state) => {
    if (i === 1000 && !state.moved) {
      state.moved = true
      consumer.seek({ topic, partition, offset: '100' })
    }
  })
  expect(seen).toEqual([...range(0, 1001), ...range(100, N)])
})

test('a retried failure in the middle of a batch: the failed record comes again, then the rest in order', async () => {
  const topic = await filledTopic('ra-retry')
  const seen = await consume(topic, (i, _p, _c, state) => {
    if (i === 1500 && !state.moved) {
      state.moved = true
      throw new Error('transient')
    }
  }, { retry: { initialRetryTime: 50, retries: 5 } })
  expect(seen).toEqual([...range(0, 1501), ...range(1500, N)])
})

describe('fetch size follows the handlers (js/consumer-run.ts nextBatchSize)', () => {
  /**
   * The sizes of a one-partition topic's batches, until `enough(sizes)` is true (or every record
   * of the topic came).
   */
  async function batchSizes(topic, total, run, enough) {
    const consumer = kafka.consumer({ groupId: unique('g') })
    const sizes = []
    const done = deferred()
    consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
      sizes.push(e.payload.batchSize)
      if (enough(sizes) || sizes.reduce((a, n) => a + n, 0) >= total) done.resolve()
    })
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run(run)
      await within(30000, done.promise, 'the batches')
    } finally {
      await consumer.disconnect()
    }
    return sizes
  }

  // A batch is read ahead while the one before is handled, at the size current then; a first
  // fetch of under 100 records (one record batch of the MockCluster) says nothing of the
  // handlers' speed. So the new size shows from the third batch after a full one.
  test('fast handlers get fetches larger than the first 2,000; slow ones at most 500', async () => {
    const total = 30000
    const topic = await filledTopic('fetch-size', total)
    const fast = await batchSizes(topic, total, { eachBatch: async () => {} }, (sizes) => sizes.some((n) => n > 2000))
    console.log(`fast handler: batches of ${fast.join(', ')}`)
    expect(fast.slice(0, 2).every((n) => n <= 2000)).toBe(true)
    expect(Math.max(...fast)).toBeGreaterThan(2000)
    // About 1 ms a message: 2,000 take two seconds, twenty times the 100 ms a fetch should last.
    const slow = await batchSizes(topic, total, { eachMessage: () => new Promise((r) => setTimeout(r, 1)) }, (sizes) => sizes.length >= 5)
    console.log(`slow handler: batches of ${slow.join(', ')}`)
    expect(slow.slice(0, 2).every((n) => n <= 2000)).toBe(true)
    expect(slow.slice(2).some((n) => n <= 500)).toBe(true)
    expect(slow.slice(2).every((n) => n <= 2000)).toBe(true)
  }, 90000)
})
