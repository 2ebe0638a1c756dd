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
  /** The sizes of the first `batches` batches of a one-partition topic holding N records. */
  async function batchSizes(topic, run, batches) {
    const consumer = kafka.consumer({ groupId: unique('g') })
    const sizes = []
    const enough = deferred()
    consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
      sizes.push(e.payload.batchSize)
      if (sizes.length === batches) enough.resolve()
    })
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run(run)
      await within(30000, enough.promise, `${batches} batches`)
    } finally {
      await consumer.disconnect()
    }
    return sizes
  }

  // The batch after the first was read ahead while the first was handled, at the first's size:
  // the new size shows from the third.
  test('fast handlers get fetches larger than the first 2,000; slow ones at most 500', async () => {
    const topic = await filledTopic('fetch-size', 30000)
    const fast = await batchSizes(topic, { eachBatch: async () => {} }, 3)
    expect(fast.slice(0, 2).every((n) => n <= 2000)).toBe(true)
    expect(fast[2]).toBeGreaterThan(2000)
    // About 1 ms a message: 2,000 take two seconds, twenty times the 100 ms a fetch should last.
    const slow = await batchSizes(topic, { eachMessage: () => new Promise((r) => setTimeout(r, 1)) }, 3)
    expect(slow.slice(0, 2).every((n) => n <= 2000)).toBe(true)
    expect(slow[2]).toBeLessThanOrEqual(500)
  }, 60000)
})
