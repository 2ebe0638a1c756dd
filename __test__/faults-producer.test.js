// Fault suite, producer side (RELIABILITY.md, cases 1-4 and 9): what the default idempotent
// producer survives on MockCluster, each case printing its figures before asserting them.
const path = require('path')
const { execFile } = require('child_process')
const { KafkaJSError } = require('..')
const { unique, startCluster, within, deferred, adminOf } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

/** Reads `count` records of `topic` (all partitions) with eachBatch; values by partition, in offset order. */
async function drain(topic, count, timeoutMs = 60_000) {
  const consumer = kafka.consumer({ groupId: unique('drain') })
  const byPartition = new Map()
  let seen = 0
  const done = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const list = byPartition.get(batch.partition) ?? []
        for (const m of batch.messages) list.push(m.value.toString())
        byPartition.set(batch.partition, list)
        seen += batch.messages.length
        if (seen >= count) done.resolve()
      },
    })
    await within(timeoutMs, done.promise, `reading ${count} records of ${topic}`)
    return byPartition
  } finally {
    await consumer.disconnect()
  }
}

/**
 * Compares what was read with what was sent (`sent`: partition -> values in send order) and
 * returns the figures: delivered, duplicates, gaps (missing), out-of-order positions.
 */
function audit(sent, read) {
  let delivered = 0
  let duplicates = 0
  let gaps = 0
  let outOfOrder = 0
  for (const [partition, values] of sent) {
    const got = read.get(partition) ?? []
    delivered += got.length
    const counts = new Map()
    for (const v of got) counts.set(v, (counts.get(v) ?? 0) + 1)
    for (const c of counts.values()) duplicates += c - 1
    for (const v of values) if (!counts.has(v)) gaps++
    const order = new Map(values.map((v, i) => [v, i]))
    for (let i = 1; i < got.length; i++) if (order.get(got[i]) < order.get(got[i - 1])) outOfOrder++
  }
  return { delivered, duplicates, gaps, outOfOrder }
}

const totalHigh = async (topic) =>
  (await adminOf(kafka, (admin) => admin.fetchTopicOffsets(topic))).reduce((n, o) => n + Number(o.high), 0)

test('1. 100,000 idempotent sends over 6 partitions while a leader goes down for 5 s, moves and comes back', async () => {
  const topic = unique('fault-leader')
  const partitions = 6
  const total = 100_000
  const perSend = 500
  cluster.createTopic(topic, partitions, 3)
  for (let p = 0; p < partitions; p++) cluster.setPartitionLeader(topic, p, (p % 3) + 1)
  // One request in flight per connection: MockCluster does not check idempotent sequence numbers
  // of non-transactional producers (see mockcluster.test.js), so a retried batch overtaken by a
  // later one would be appended out of order there, where a real broker refuses it.
  const producer = kafka.producer({ maxInFlightRequests: 1 })
  await producer.connect()
  const sent = new Map(Array.from({ length: partitions }, (_, p) => [p, []]))
  let confirmed = 0
  const sends = []
  const halfway = deferred()
  let brokerIsDown = false
  let confirmedAtFault = 0
  try {
    for (let from = 0; from < total; from += perSend) {
      const messages = []
      for (let i = from; i < from + perSend; i++) {
        const partition = i % partitions
        sent.get(partition).push(String(i))
        messages.push({ partition, key: `k${i % 97}`, value: String(i) })
      }
      sends.push(producer.send({ topic, messages }).then((meta) => {
        confirmed += messages.length
        if (confirmed >= total / 5) halfway.resolve()
        return meta
      }))
      // Let the event loop breathe so the fault lands while sends are in flight.
      if (from % 20_000 === 0) await new Promise(setImmediate)
    }
    await within(60_000, halfway.promise, 'the first fifth of the confirmations')
    // Broker 1 leads partitions 0 and 3: down for 5 s; after 1 s their leadership moves to 2.
    cluster.brokerDown(1)
    brokerIsDown = true
    confirmedAtFault = confirmed
    const downAt = Date.now()
    await new Promise((r) => setTimeout(r, 1000)) // the fault's duration, not a synchronisation
    cluster.setPartitionLeader(topic, 0, 2)
    cluster.setPartitionLeader(topic, 3, 2)
    await new Promise((r) => setTimeout(r, 5000 - (Date.now() - downAt)))
    cluster.brokerUp(1)
    brokerIsDown = false
    const results = (await within(120_000, Promise.all(sends), 'every send confirmed')).flat()
    expect(results.every((r) => r.errorCode === 0)).toBe(true)
  } finally {
    if (brokerIsDown) cluster.brokerUp(1)
    await producer.disconnect()
  }
  const read = await drain(topic, total, 120_000)
  const figures = { sent: total, confirmed, high: await totalHigh(topic), ...audit(sent, read) }
  console.log(`fault 1 (leader down 5 s, moved, back; ${confirmedAtFault} confirmed when it went down): ${JSON.stringify(figures)}`)
  expect(figures).toEqual({ sent: total, confirmed: total, high: total, delivered: total, duplicates: 0, gaps: 0, outOfOrder: 0 })
}, 240_000)

test('2. Produce answered with NOT_LEADER, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT and transport errors', async () => {
  const topic = unique('fault-errors')
  cluster.createTopic(topic, 3, 3)
  const producer = kafka.producer({ maxInFlightRequests: 1 }) // see case 1
  const fatal = []
  producer.on(producer.events.REQUEST_TIMEOUT, (e) => fatal.push(e))
  await producer.connect()
  const total = 3000
  const sent = new Map([[0, []], [1, []], [2, []]])
  try {
    await producer.send({ topic, messages: [{ partition: 0, value: 'warm-up' }] })
    sent.get(0).push('warm-up')
    cluster.pushRequestErrors('Produce', [
      'NOT_LEADER_FOR_PARTITION', 'NOT_ENOUGH_REPLICAS', 'REQUEST_TIMED_OUT', '_TRANSPORT',
      'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'NOT_LEADER_FOR_PARTITION', '_TRANSPORT', 'REQUEST_TIMED_OUT',
    ])
    const sends = []
    for (let from = 0; from < total; from += 100) {
      const messages = Array.from({ length: 100 }, (_, i) => ({ partition: (from + i) % 3, value: String(from + i) }))
      for (const m of messages) sent.get(m.partition).push(m.value)
      sends.push(producer.send({ topic, messages }))
    }
    const results = (await within(60_000, Promise.all(sends), 'sends through injected errors')).flat()
    expect(results.every((r) => r.errorCode === 0)).toBe(true)
  } finally {
    cluster.clearRequestErrors('Produce')
    await producer.disconnect()
  }
  const read = await drain(topic, total + 1)
  const figures = { sent: total + 1, high: await totalHigh(topic), ...audit(sent, read), fatal: fatal.length }
  console.log(`fault 2 (retriable Produce errors): ${JSON.stringify(figures)}`)
  expect(figures).toEqual({ sent: total + 1, high: total + 1, delivered: total + 1, duplicates: 0, gaps: 0, outOfOrder: 0, fatal: 0 })
})

test('3. a permanent error rejects at once as non-retriable; other sends in flight are unaffected', async () => {
  const topic = unique('fault-permanent')
  cluster.createTopic(topic, 1, 1)
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: [{ value: 'warm-up' }] })
    // An oversize record (past message.max.bytes, 1 MB by default) among ordinary sends.
    const others = Array.from({ length: 20 }, (_, i) => producer.send({ topic, messages: [{ value: `ok-${i}` }] }))
    const started = Date.now()
    const oversize = await producer.send({ topic, messages: [{ value: Buffer.alloc(2_000_000, 1) }] }).catch((e) => e)
    const oversizeMs = Date.now() - started
    const results = (await within(20_000, Promise.all(others), 'the other sends')).flat()
    expect(oversize).toBeInstanceOf(KafkaJSError)
    expect(oversize.retriable).toBe(false)
    expect(oversize.message).toMatch(/too large|size/i)
    expect(results.every((r) => r.errorCode === 0)).toBe(true)

    // A broker answering MSG_SIZE_TOO_LARGE: one attempt only. The error is injected once, so a
    // retry would have succeeded: the rejection proves there was none.
    cluster.pushRequestErrors('Produce', ['MSG_SIZE_TOO_LARGE'])
    const answered = await within(20_000, producer.send({ topic, messages: [{ value: 'rejected-by-broker' }] }).catch((e) => e), 'the rejected send')
    expect(answered).toBeInstanceOf(KafkaJSError)
    expect(answered.retriable).toBe(false)
    const after = await producer.send({ topic, messages: [{ value: 'after' }] })
    expect(after[0].errorCode).toBe(0)
    console.log(`fault 3 (permanent errors): oversize rejected in ${oversizeMs} ms: "${oversize.message}"; broker MSG_SIZE_TOO_LARGE: "${answered.message}"; ${results.length} other sends delivered`)
  } finally {
    cluster.clearRequestErrors('Produce')
    await producer.disconnect()
  }
  expect(await totalHigh(topic)).toBe(1 + 20 + 1)
})

test('4. all brokers down with a short message timeout: every pending send settles with a timeout; disconnect returns', async () => {
  const own = startCluster(2)
  const topic = unique('fault-down')
  own.cluster.createTopic(topic, 2, 1)
  const producer = own.kafka.producer({ timeout: 3000 })
  try {
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'warm-up' }] })
    own.cluster.brokerDown(1)
    own.cluster.brokerDown(2)
    const started = Date.now()
    const outcomes = await within(15_000, Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => producer.send({ topic, messages: [{ partition: i % 2, value: String(i) }] })),
    ), 'the pending sends to settle')
    const settledMs = Date.now() - started
    const rejected = outcomes.filter((o) => o.status === 'rejected')
    const kinds = new Set(rejected.map((o) => o.reason.name))
    console.log(`fault 4 (all brokers down, timeout 3000 ms): ${rejected.length}/50 rejected in ${settledMs} ms with ${[...kinds].join(', ')}: "${rejected[0] && rejected[0].reason.message}"`)
    expect(rejected).toHaveLength(50)
    for (const o of rejected) {
      expect(o.reason).toBeInstanceOf(KafkaJSError)
      expect(o.reason.message).toMatch(/timed out/i)
    }
  } finally {
    await within(10_000, producer.disconnect(), 'disconnect with every broker down')
    own.cluster.close()
  }
})

test('9. disconnect() with 10,000 sends in flight: every promise settles and the process exits on its own', async () => {
  const topic = unique('fault-inflight')
  cluster.createTopic(topic, 3, 1)
  const child = path.join(__dirname, 'fixtures', 'disconnect-inflight.js')
  const outcome = await within(60_000, new Promise((resolve) => {
    execFile(process.execPath, [child, cluster.bootstrapServers, topic, '10000'], { timeout: 45_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ killed: !!(error && error.killed), code: error ? error.code : 0, stdout, stderr }))
  }), 'the child process')
  const report = JSON.parse(outcome.stdout.trim().split('\n').pop() || '{}')
  console.log(`fault 9 (disconnect with 10,000 in flight): ${JSON.stringify(report)}, exit code ${outcome.code}, killed ${outcome.killed}`)
  expect({ killed: outcome.killed, code: outcome.code }).toEqual({ killed: false, code: 0 })
  expect(report.settled).toBe(10_000)
  expect(report.fulfilled + report.rejected).toBe(10_000)
  // disconnect flushes: what it resolved is on the broker.
  expect(await totalHigh(topic)).toBe(report.fulfilled)
  expect(report.fulfilled).toBe(10_000)
})
