// A plain consumer that stops making progress is never silent (issue #9; kafkajs#1431,
// confluent-kafka-javascript#476 and #497). A stuck handler keeps its member in the group (no
// rebalance), so with `stallTimeout` the watchdog is the signal: consumer.stalled with the
// partition and its lag, health() stalled, then consumer.recovered once the handler settles.
const dc = require('diagnostics_channel')
const { Kafka, logLevel } = require('..')
const { MockCluster } = require('../testing')
const { unique, deferred, within, nextEvent, inbox, sendWith } = require('./helpers')

const SHORT_SESSION = { sessionTimeout: 6000, heartbeatInterval: 500 }
const STALL_MS = 800

let cluster, kafka
beforeAll(() => {
  cluster = new MockCluster({ brokers: 1 })
  kafka = new Kafka({ clientId: 'stall', brokers: cluster.brokers, logLevel: logLevel.NOTHING })
})
afterAll(() => cluster.close())

/** Collects what a diagnostics channel publishes while `fn` runs. */
async function observing(name, fn) {
  const seen = inbox()
  const sub = (message) => seen.push(message)
  dc.subscribe(name, sub)
  try {
    return await fn(seen)
  } finally {
    dc.unsubscribe(name, sub)
  }
}

/** A running consumer of `topic` whose handler blocks on records valued `block` until `gate` resolves. */
async function blockingConsumer(topic, gate, config = {}, handled = inbox()) {
  const consumer = kafka.consumer({ groupId: unique('g'), ...SHORT_SESSION, ...config })
  const entered = inbox()
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = message.value.toString()
      entered.push(value)
      if (value === 'block') await gate.promise
      handled.push(value)
    },
  })
  return { consumer, entered, handled }
}

test('a handler stuck while records arrive: STALLED with the partition and lag, health() stalled, RECOVERED once it settles', async () => {
  const topic = unique('stuck')
  cluster.createTopic(topic, 1, 1)
  const gate = deferred()
  const { consumer, entered, handled } = await blockingConsumer(topic, gate, { stallTimeout: STALL_MS })
  const groupId = consumer.health().groupId
  try {
    expect(consumer.health()).toMatchObject({ groupId, running: true, stalled: false, topics: [topic], stallTimeout: STALL_MS, stall: null })
    await observing('ferrokafka:consumer.stalled', async (published) => {
      const stalled = nextEvent(consumer, consumer.events.STALLED)
      await sendWith(kafka, topic, [{ value: 'block' }, { value: 'a' }, { value: 'b' }])
      await entered.waitFor((v) => v === 'block')
      await sendWith(kafka, topic, [{ value: 'c' }])
      const event = await within(STALL_MS * 10, stalled, 'consumer.stalled')
      const report = event.payload
      expect(report).toMatchObject({
        groupId,
        inFlight: { topic, partition: 0, offset: '0' },
        lagging: [{ topic, partition: 0, assigned: true, position: '0' }],
      })
      // The stuck record and the two fetched behind it at least; 'c' too once watermarks are read live.
      expect(report.lagging[0].lag).toBeGreaterThanOrEqual(3)
      expect(report.stalledForMs).toBeGreaterThanOrEqual(STALL_MS)
      expect(await published.waitFor(() => true)).toBe(event)

      const health = consumer.health()
      expect(health).toMatchObject({ running: true, stalled: true, stall: report, inFlight: report.inFlight })
      expect(health.lastProgressAt).toBe(report.lastProgressAt)
      expect(handled.seen).toEqual([])
    })

    await observing('ferrokafka:consumer.recovered', async (published) => {
      const recovered = nextEvent(consumer, consumer.events.RECOVERED)
      gate.resolve()
      const event = await within(10_000, recovered, 'consumer.recovered')
      expect(event.payload).toEqual({ groupId, stalledForMs: expect.any(Number) })
      expect(event.payload.stalledForMs).toBeGreaterThanOrEqual(STALL_MS)
      expect(await published.waitFor(() => true)).toBe(event)
    })
    await handled.waitFor((v) => v === 'c')
    expect(handled.seen).toEqual(['block', 'a', 'b', 'c'])
    const health = consumer.health()
    expect(health).toMatchObject({ running: true, stalled: false, stall: null, inFlight: null })
    expect(health.lastProgressAt).toBeGreaterThan(Date.now() - 10_000)
  } finally {
    gate.resolve()
    await consumer.disconnect()
  }
  expect(consumer.health()).toMatchObject({ running: false, stalled: false })
}, 60_000)

test('an eachBatch handler stuck before resolving is stalled; resolving an offset is progress', async () => {
  const topic = unique('stuck-batch')
  cluster.createTopic(topic, 1, 1)
  const gate = deferred()
  const consumer = kafka.consumer({ groupId: unique('g'), ...SHORT_SESSION, stallTimeout: STALL_MS })
  const resolvedAll = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        await gate.promise
        for (const m of batch.messages) resolveOffset(m.offset)
        resolvedAll.resolve()
      },
    })
    const stalled = nextEvent(consumer, consumer.events.STALLED)
    await sendWith(kafka, topic, [{ value: 'x' }, { value: 'y' }])
    const { payload } = await within(STALL_MS * 10, stalled, 'consumer.stalled')
    expect(payload).toMatchObject({ inFlight: { topic, partition: 0, offset: '0' }, lagging: [{ topic, partition: 0, lag: 2 }] })
    expect(consumer.health().stalled).toBe(true)
    const recovered = nextEvent(consumer, consumer.events.RECOVERED)
    gate.resolve()
    await within(10_000, recovered, 'consumer.recovered')
    await resolvedAll.promise
    expect(consumer.health()).toMatchObject({ stalled: false, stall: null })
  } finally {
    gate.resolve()
    await consumer.disconnect()
  }
}, 60_000)

test('without stallTimeout nothing is reported, and a caught-up idle consumer with it is not stalled', async () => {
  const stuckTopic = unique('stuck-quiet')
  const idleTopic = unique('idle')
  cluster.createTopic(stuckTopic, 1, 1)
  cluster.createTopic(idleTopic, 1, 1)
  const gate = deferred()
  const reports = []
  // The yardstick: the same stuck handler, watched, in a group of its own.
  const watched = await blockingConsumer(stuckTopic, gate, { stallTimeout: STALL_MS })
  const plain = await blockingConsumer(stuckTopic, gate)
  const idle = await blockingConsumer(idleTopic, gate, { stallTimeout: STALL_MS })
  for (const c of [plain, idle]) {
    c.consumer.on(c.consumer.events.STALLED, (e) => reports.push(e.payload))
  }
  try {
    await sendWith(kafka, idleTopic, [{ value: 'done' }])
    await idle.handled.waitFor((v) => v === 'done')
    const yardstick = nextEvent(watched.consumer, watched.consumer.events.STALLED)
    await sendWith(kafka, stuckTopic, [{ value: 'block' }, { value: 'waiting' }])
    await plain.entered.waitFor((v) => v === 'block')
    const { payload } = await within(STALL_MS * 10, yardstick, 'the watched consumer\'s consumer.stalled')
    // The plain consumer has been stuck as long, and the idle one caught up for longer.
    expect(Date.now() - payload.lastProgressAt).toBeGreaterThanOrEqual(STALL_MS)
    expect(reports).toEqual([])
    expect(plain.consumer.health()).toEqual({
      groupId: expect.any(String), running: true, stalled: false, topics: [stuckTopic], stallTimeout: 0, lastProgressAt: null, inFlight: null, stall: null,
    })
    expect(idle.consumer.health()).toMatchObject({ stalled: false, stallTimeout: STALL_MS, inFlight: null })
  } finally {
    gate.resolve()
    await Promise.all([watched, plain, idle].map((c) => c.consumer.disconnect()))
  }
}, 60_000)

test('an eachBatch that pauses its partition (back-pressure) and returns is no failure: no STALLED once it resumes and handles', async () => {
  const topic = unique('backpressure')
  cluster.createTopic(topic, 1, 1)
  const consumer = kafka.consumer({ groupId: unique('g'), ...SHORT_SESSION, stallTimeout: STALL_MS })
  const stalls = []
  consumer.on(consumer.events.STALLED, ({ payload }) => stalls.push(payload))
  const handled = inbox()
  let paused = false
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch, pause, resolveOffset }) => {
        if (!paused) {
          paused = true
          // The workload: a downstream that wants a break longer than the stall timeout.
          const resume = pause()
          setTimeout(resume, STALL_MS * 2)
          return
        }
        // The workload again: the downstream takes half the stall timeout for this batch. The
        // watchdog (a check every STALL_MS / 4) runs meanwhile: had the paused batch counted as a
        // failure, this record's second start would be no progress, a stall at the first check.
        await new Promise((r) => setTimeout(r, STALL_MS / 2))
        for (const m of batch.messages) { handled.push(m.value.toString()); resolveOffset(m.offset) }
      },
    })
    await sendWith(kafka, topic, [{ value: 'a' }, { value: 'b' }])
    await within(20_000, handled.waitFor((v) => v === 'b'), 'the records after the pause')
    expect(stalls).toEqual([])
    expect(consumer.health()).toMatchObject({ stalled: false, stall: null })
  } finally {
    await consumer.disconnect()
  }
})

test("the stall's WARN line and the recovery's INFO line are logged under the consumer's namespace", async () => {
  const topic = unique('stall-log')
  cluster.createTopic(topic, 1, 1)
  const entries = []
  const logged = new Kafka({ clientId: 'stall-log', brokers: cluster.brokers, logLevel: logLevel.INFO, logCreator: () => (e) => entries.push(e) })
  const consumer = logged.consumer({ groupId: unique('g'), ...SHORT_SESSION, stallTimeout: STALL_MS })
  const gate = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async () => { await gate.promise } })
    const stalled = nextEvent(consumer, consumer.events.STALLED)
    const recovered = nextEvent(consumer, consumer.events.RECOVERED)
    await sendWith(kafka, topic, [{ value: 'block' }, { value: 'a' }])
    await within(20_000, stalled, 'STALLED')
    gate.resolve()
    await within(20_000, recovered, 'RECOVERED')
    const lines = entries.filter((e) => /stall/i.test(e.log.message)).map((e) => [e.namespace, e.level, e.log.message])
    expect(lines).toEqual([
      ['Consumer', logLevel.WARN, 'Consumer stalled: records waiting and no handler progress'],
      ['Consumer', logLevel.INFO, 'Consumer recovered from a stall'],
    ])
  } finally {
    gate.resolve()
    await consumer.disconnect()
  }
})
