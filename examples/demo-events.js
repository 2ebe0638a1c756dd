//! The demo's event-bus scenario: events published through the bus, a handler that fails a share
//! of them (transiently or for good), retries and dead-lettering decided in Rust, and a
//! DLQHandler replaying the dead letters. Ends with a reconciliation table: lost must be 0.
const { initializeEventBus, DLQHandler, NonRetryableError } = require('..')
const { progress } = require('./progress')

async function eventScenario(cluster, brokers, total = Number(process.env.DEMO_EVENTS || 5000)) {
  // Unmapped domain: the bus routes each event to the topic named by its type.
  const type = `demo${Date.now().toString(36)}.order_created`
  const topic = type
  if (cluster) for (const t of [topic, `dlq.${topic}`, 'manual.review.queue', 'quarantine.queue']) cluster.createTopic(t, 6, 1)
  // Handler failures are the point of this scenario: keep the log to what goes wrong unexpectedly.
  const cfg = { brokers, clientId: 'ferrokafka-demo-events', logLevel: 0 }
  const bus = await initializeEventBus(cfg)
  const seenOk = new Set()
  const attempts = new Map()
  const counts = { published: 0, handled: 0, retried: 0, deadLettered: 0 }
  let settle
  const allSettled = new Promise((r) => { settle = r })
  const dlq = new DLQHandler(cfg, { maxReprocessAttempts: 1, reprocessDelayMs: 200, quarantineAfterAttempts: 2, dlqTopics: [`dlq.${topic}`] })
  const bar = progress('events', total)
  const check = () => {
    const s = dlq.stats()
    bar.update(seenOk.size + s.sentToReview + s.quarantined)
    if (seenOk.size + s.sentToReview + s.quarantined >= total) settle()
  }
  await bus.subscribe(`${topic}-handlers`, [type], async (event, ctx) => {
    const n = event.data.n
    attempts.set(n, ctx.attempt)
    if (ctx.attempt > 1) counts.retried++
    // 2% fail once (a timeout downstream), 1% are poison and never succeed.
    if (n % 50 === 7 && ctx.attempt === 1 && !ctx.headers['dlq-reprocess-count']) throw new Error('downstream timeout')
    if (n % 100 === 13) throw new NonRetryableError(`order ${n} is invalid`)
    seenOk.add(n)
    counts.handled++
    check()
  }, { fromBeginning: true, retry: { maxRetries: 3, initialRetryTimeMs: 50 } })
  await dlq.start()
  const timer = setInterval(check, 200)
  for (let n = 0; n < total; n++) {
    await bus.publish({ id: `e-${n}`, type, aggregateId: `order-${n % 500}`, aggregateType: 'Order', version: 1, data: { n }, metadata: {}, timestamp: new Date().toISOString() })
    counts.published++
  }
  const bound = setTimeout(settle, 120_000)
  await allSettled
  clearTimeout(bound)
  clearInterval(timer)
  bar.finish(seenOk.size + dlq.stats().sentToReview + dlq.stats().quarantined)
  const s = dlq.stats()
  counts.deadLettered = s.received
  await dlq.stop()
  await bus.shutdown()
  const lost = total - seenOk.size - s.sentToReview - s.quarantined
  console.log('')
  console.log('event bus   published  handled  retried  dead-lettered  reprocessed  to-review  quarantined  lost')
  console.log(`            ${String(counts.published).padStart(9)} ${String(counts.handled).padStart(8)} ${String(counts.retried).padStart(8)} ${String(counts.deadLettered).padStart(14)} ${String(s.reprocessed).padStart(12)} ${String(s.sentToReview).padStart(10)} ${String(s.quarantined).padStart(12)} ${String(lost).padStart(5)}`)
  return lost
}

module.exports = { eventScenario }
