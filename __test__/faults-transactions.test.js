// Fault suite, case 8 (RELIABILITY.md): a transaction while its transaction coordinator is down
// commits after the coordinator recovers, or aborts cleanly; what a read_committed consumer then
// reads; and the error a producer gets when the broker says a newer instance fenced it.
//
// MockCluster's limits, stated where they bound a case: it writes no commit/abort markers (so an
// aborted record is not hidden from read_committed readers, transactions.test.js) and it hands a
// second producer with the same transactionalId a new producer id instead of bumping the epoch
// (rdkafka_mock_handlers.c, InitProducerId), so the fencing answer is injected as the broker's
// reply to EndTxn rather than provoked by a second producer.
const { unique, startCluster, within, consumeUntil, adminOf } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const COORDINATOR = 2
const DOWN_MS = 3000

/** A transactional producer whose coordinator is broker {@link COORDINATOR}. */
async function producerOn(transactionalId) {
  cluster.setCoordinator('transaction', transactionalId, COORDINATOR)
  const producer = kafka.producer({ transactionalId, maxInFlightRequests: 1 })
  await producer.connect()
  return producer
}

/** Takes the coordinator down for {@link DOWN_MS} around `operation()`; reports whether it settled while down. */
async function withCoordinatorDown(operation) {
  cluster.brokerDown(COORDINATOR)
  const started = Date.now()
  let settledWhileDown = false
  const pending = operation()
  pending.then(() => { settledWhileDown = settledWhileDown || Date.now() - started < DOWN_MS }, () => {})
  // The outage lasts a fixed time (the fault's length), then the broker comes back.
  await new Promise((resolve) => setTimeout(resolve, DOWN_MS))
  const downFor = Date.now() - started
  cluster.brokerUp(COORDINATOR)
  await within(60_000, pending, 'the transaction operation after the coordinator came back')
  return { settledWhileDown, downFor, tookMs: Date.now() - started }
}

const totalHigh = async (topic) =>
  (await adminOf(kafka, (admin) => admin.fetchTopicOffsets(topic))).reduce((n, o) => n + Number(o.high), 0)

test('8a. commit while the transaction coordinator is down succeeds once it is back; read_committed reads each record once', async () => {
  const topic = unique('tx8a')
  cluster.createTopic(topic, 3, 3)
  const producer = await producerOn(unique('tx8a'))
  const values = Array.from({ length: 300 }, (_, i) => `r${i}`)
  try {
    const tx = await producer.transaction()
    await tx.send({ topic, messages: values.map((value, i) => ({ key: `k${i % 30}`, value })) })
    const figures = await withCoordinatorDown(() => tx.commit())
    console.log(`case 8a: commit with the coordinator down ${figures.downFor} ms settled after ${figures.tookMs} ms`)
    expect(figures.settledWhileDown).toBe(false)
    expect(tx.isActive()).toBe(false)
  } finally {
    await producer.disconnect()
  }
  const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= values.length, config: { readUncommitted: false } })
  const read = seen.map((s) => s.message.value.toString())
  // Retried requests were idempotent: the log holds each record once (no markers on the mock).
  expect(await totalHigh(topic)).toBe(values.length)
  expect(read.length).toBe(values.length)
  expect([...new Set(read)].sort()).toEqual([...values].sort())
}, 90_000)

test('8b. abort while the coordinator is down completes once it is back, and the producer goes on with a new transaction', async () => {
  const topic = unique('tx8b')
  cluster.createTopic(topic, 1, 3)
  const producer = await producerOn(unique('tx8b'))
  try {
    const aborted = await producer.transaction()
    await aborted.send({ topic, messages: [{ value: 'aborted-0' }, { value: 'aborted-1' }] })
    const figures = await withCoordinatorDown(() => aborted.abort())
    console.log(`case 8b: abort with the coordinator down ${figures.downFor} ms settled after ${figures.tookMs} ms`)
    expect(figures.settledWhileDown).toBe(false)
    expect(aborted.isActive()).toBe(false)

    const next = await within(30_000, producer.transaction(), 'the next transaction')
    const meta = await next.send({ topic, messages: [{ value: 'committed' }] })
    await within(30_000, next.commit(), 'its commit')
    // The aborted records came first in the log (the mock keeps them, without a marker).
    expect(meta).toEqual([expect.objectContaining({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '2' })])
  } finally {
    await producer.disconnect()
  }
}, 90_000)

test('8c. a broker answering PRODUCER_FENCED (a newer instance took the transactionalId): commit rejects with a clear, non-retriable error', async () => {
  const topic = unique('tx8c')
  cluster.createTopic(topic, 1, 3)
  const transactionalId = unique('tx8c')
  const producer = await producerOn(transactionalId)
  try {
    const tx = await producer.transaction()
    await tx.send({ topic, messages: [{ value: 'fenced' }] })
    cluster.pushRequestErrors('EndTxn', ['PRODUCER_FENCED'])
    const error = await within(30_000, tx.commit().then(() => null, (e) => e), 'the fenced commit')
    console.log(`case 8c: fenced commit rejected: ${error?.name}: ${error?.message}`)
    expect(error).not.toBeNull()
    expect(error.name).toBe('KafkaJSNonRetriableError')
    expect(error.retriable).toBe(false)
    expect(error.message).toMatch(/fenced/i)
    // Never the whole config, and nothing but the id the user chose about the producer.
    expect(error.message).not.toMatch(/sasl|password/i)
    // A fenced producer is finished: the next transaction fails at once instead of hanging.
    const again = await within(30_000, producer.transaction().then(() => null, (e) => e), 'a transaction after fencing')
    expect(again).not.toBeNull()
    expect(again.message).toMatch(/fenced|fatal/i)
  } finally {
    cluster.clearRequestErrors('EndTxn')
    await producer.disconnect()
  }
}, 60_000)
