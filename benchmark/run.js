//! `npm run bench`: ferrokafka against kafkajs, @platformatic/kafka and kafka-crab-js (where they
//! install and load: `others.js`) and against librdkafka driven directly from Rust (the ceiling), on
//! one MockCluster (or KAFKA_BROKERS), in one run. Prints a table; with `--json` the last line is
//! one JSON object of medians. `--quick` keeps it under a minute.
const { execFileSync } = require('child_process')
const path = require('path')
const ferro = require('..')
const others = require('./others')
const { sendInFlight } = others

const argv = process.argv.slice(2)
const flag = (name) => argv.includes(`--${name}`)
const option = (name, fallback) => {
  const hit = argv.find((a) => a.startsWith(`--${name}=`))
  return hit ? Number(hit.split('=')[1]) : fallback
}
const QUICK = flag('quick')
const JSON_OUT = flag('json')
const N = option('messages', QUICK ? 50_000 : 300_000)
// --quick: one run of each (a smoke figure in under a minute); the full bench takes the median of 3.
const RUNS = option('runs', QUICK ? 1 : 3)
// @platformatic/kafka and kafka-crab-js: the same workload; --quick gives them 20,000 records per run
// (their set-up, group join and failure timeouts weigh more than their records) to stay under 50 s.
const OTHER_N = option('other-messages', QUICK ? Math.min(N, 20_000) : N)
const PARTITIONS = 24
const CEILING = path.join(__dirname, '..', 'target', 'release', 'ferrokafka-ceiling')

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`)
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] }
const now = () => Number(process.hrtime.bigint()) / 1e6

const external = process.env.KAFKA_BROKERS
const cluster = external ? null : new ferro.MockCluster({ brokers: 3 })
const brokers = external ? external.split(',') : cluster.brokers
let topicSeq = 0
async function newTopic(partitions = PARTITIONS, name = `bench-${process.pid}-${++topicSeq}`) {
  if (cluster) cluster.createTopic(name, partitions, 3)
  else {
    const admin = new ferro.Kafka({ brokers, logLevel: 0 }).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }] })
    await admin.disconnect()
  }
  return name
}

const value = Buffer.alloc(100, 'v')
const keys = Array.from({ length: 1000 }, (_, i) => Buffer.from(`key-${String(i).padStart(12, '0')}`))
const batchOf = (from, count) => Array.from({ length: count }, (_, i) => ({ key: keys[(from + i) % keys.length], value }))

/** Produces N records in batches of 1000 with 8 sends in flight; returns msg/s. */
function produceWith(producer, topic, n, useBatch) {
  return sendInFlight(n, batchOf, (messages) =>
    useBatch ? producer.sendBatch({ topicMessages: [{ topic, messages }] }) : producer.send({ topic, messages }))
}

function clients(lib) {
  const Kafka = lib === 'kafkajs' ? require('kafkajs').Kafka : ferro.Kafka
  return new Kafka({ clientId: `bench-${lib}`, brokers, logLevel: 0 })
}

async function produceBench(lib, useBatch = false) {
  const kafka = clients(lib)
  const producer = lib === 'kafkajs' ? kafka.producer({ createPartitioner: require('kafkajs').Partitioners.DefaultPartitioner }) : kafka.producer()
  await producer.connect()
  const topic = await newTopic()
  // Like the ceiling: connection and producer-id set-up happen before the clock starts.
  await producer.send({ topic, messages: [{ key: 'warm-up', value }] })
  const rate = await produceWith(producer, topic, N, useBatch)
  await producer.disconnect()
  return rate
}

/** A new topic holding n records, written by ferrokafka. */
async function filledTopic(n) {
  const topic = await newTopic()
  const filler = clients('ferro').producer()
  await filler.connect()
  await produceWith(filler, topic, n, false)
  await filler.disconnect()
  return topic
}

/** Fills a topic with N records (with ferrokafka), then times a consumer from its first message. */
async function consumeBench(lib, mode) {
  const topic = await filledTopic(N)
  const kafka = clients(lib)
  const consumer = kafka.consumer({ groupId: `${topic}-${lib}-${mode}` })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let count = 0
  let first = 0
  let done
  const finished = new Promise((r) => { done = r })
  const handlers = mode === 'eachBatch'
    ? { eachBatch: async ({ batch }) => { if (!first) first = now(); count += batch.messages.length; if (count >= N) done(now()) } }
    : { eachMessage: async () => { if (!first) first = now(); if (++count >= N) done(now()) } }
  await consumer.run(handlers)
  const end = await finished
  await consumer.disconnect()
  return (N * 1000) / (end - first)
}

function ceiling(mode, topic, n) {
  const out = execFileSync(CEILING, [mode, brokers.join(','), topic, String(n)], { encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').pop()).msgPerSec
}

/** The consume ceilings read a topic filled like ferrokafka's consume bench: only the consumer differs. */
async function ceilingBench(mode) {
  if (mode === 'produce') return ceiling('produce', await newTopic(), N)
  return ceiling(mode, await filledTopic(N), N)
}

/** Sequential awaited one-record sends: what a request handler does. Returns [p50, p99] ms. */
async function singleSendLatency(lib) {
  const kafka = clients(lib)
  const producer = kafka.producer()
  await producer.connect()
  const topic = await newTopic(3)
  const samples = []
  const n = QUICK ? 300 : 1000
  for (let i = 0; i < n; i++) {
    const t = now()
    await producer.send({ topic, messages: [{ key: keys[i % keys.length], value }] })
    samples.push(now() - t)
  }
  await producer.disconnect()
  return [pct(samples, 50), pct(samples, 99)]
}

/** Produce at a fixed 1,000 msg/s; latency from send to eachMessage. Returns [p50, p99] ms. */
async function endToEnd() {
  const kafka = clients('ferro')
  const topic = await newTopic(6)
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: `${topic}-e2e` })
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const samples = []
  let warm
  const warmedUp = new Promise((r) => { warm = r })
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.key?.toString() === 'warm-up') warm()
      else samples.push(now() - Number(message.value.toString()))
    },
  })
  // Steady state: the fetchers of a fresh assignment start within ~100 ms of run() resolving.
  await producer.send({ topic, messages: Array.from({ length: 6 }, (_, partition) => ({ key: 'warm-up', value: '0', partition })) })
  await warmedUp
  const seconds = QUICK ? 3 : 10
  const started = now()
  let sent = 0
  while (now() - started < seconds * 1000) {
    const due = Math.floor(now() - started) // one record per elapsed millisecond
    const sends = []
    while (sent < due) { sends.push(producer.send({ topic, messages: [{ value: String(now()) }] })); sent++ }
    await Promise.all(sends)
    await new Promise((r) => setTimeout(r, 1))
  }
  while (samples.length < sent) await new Promise((r) => setTimeout(r, 20))
  await consumer.disconnect()
  await producer.disconnect()
  return [pct(samples, 50), pct(samples, 99)]
}

/** A long produce+consume run: RSS at the early and late marks. Returns growth in percent. */
async function rssGrowth() {
  const total = QUICK ? 200_000 : 1_000_000
  const early = QUICK ? 60_000 : 200_000
  const kafka = clients('ferro')
  const topic = await newTopic(48)
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: `${topic}-rss` })
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let consumed = 0
  let rssEarly = 0
  let done
  const finished = new Promise((r) => { done = r })
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const before = consumed
      consumed += batch.messages.length
      if (before < early && consumed >= early) { global.gc?.(); rssEarly = process.memoryUsage().rss }
      if (consumed >= total) done()
    },
  })
  for (let sent = 0; sent < total; sent += 20_000) {
    await produceWith(producer, topic, Math.min(20_000, total - sent), false)
    while (sent - consumed > 200_000) await new Promise((r) => setTimeout(r, 5))
  }
  await finished
  global.gc?.()
  const rssLate = process.memoryUsage().rss
  await consumer.disconnect()
  await producer.disconnect()
  return { growth: ((rssLate - rssEarly) / rssEarly) * 100, rssEarly, rssLate }
}

/** Event bus: publish with 256 in flight, against the same pattern of raw single-record sends. */
async function publishBench(useBus) {
  const n = Math.min(N, QUICK ? 20_000 : 100_000)
  const type = `benchbus${process.pid}x${++topicSeq}.created`
  await newTopic(PARTITIONS, type)
  const bus = new ferro.EventBus({ brokers, logLevel: 0 })
  await bus.start()
  const raw = clients('ferro').producer()
  await raw.connect()
  const event = (i) => ({ id: `e${i}`, type, aggregateId: `a${i % 1000}`, aggregateType: 'Bench', version: 1, data: { i, pad: 'x'.repeat(40) }, metadata: {}, timestamp: '2026-01-01T00:00:00.000Z' })
  const one = useBus ? (i) => bus.publish(event(i)) : (i) => raw.send({ topic: type, messages: [{ key: `a${i % 1000}`, value: JSON.stringify(event(i)) }] })
  await one(0)
  let next = 1
  const started = now()
  await Promise.all(Array.from({ length: 256 }, async () => { while (next < n) await one(next++) }))
  const rate = ((n - 1) * 1000) / (now() - started)
  await bus.shutdown()
  await raw.disconnect()
  return rate
}

/**
 * Event bus: a wildcard subscription over N envelopes. `failEvery`: every failEvery-th handled
 * event throws a NonRetryableError (to the DLQ); `readData`: each handler reads `event.data` (the
 * bus parses an event when its handler first reads it: this row pays every parse).
 */
async function subscribeBench({ failEvery = 0, readData = false } = {}) {
  const type = `benchsub${process.pid}x${++topicSeq}.created`
  await newTopic(PARTITIONS, type)
  await newTopic(PARTITIONS, `dlq.${type}`)
  const filler = clients('ferro').producer()
  await filler.connect()
  // Filled as the eachBatch topic is (batches of 1000, 8 in flight): the mock's record batches, and
  // so its fetches, then match, and only the consumer differs between the two rows.
  const envelopes = (from, count) => Array.from({ length: count }, (_, j) => ({
    key: `a${(from + j) % 1000}`, value: JSON.stringify({ id: `e${from + j}`, type, aggregateId: 'a', aggregateType: 'B', version: 1, data: { i: from + j }, metadata: {}, timestamp: '2026-01-01T00:00:00.000Z' }),
    headers: { 'event-type': type },
  }))
  await sendInFlight(N, envelopes, (messages) => filler.send({ topic: type, messages }))
  await filler.disconnect()
  const bus = new ferro.EventBus({ brokers, logLevel: 0 })
  let count = 0
  let first = 0
  let done
  const finished = new Promise((r) => { done = r })
  let sum = 0
  await bus.subscribe(`${type}-g`, [`${type.split('.')[0]}.*`], async (e) => {
    if (!first) first = now()
    if (readData) sum += e.data.i
    if (++count >= N) done(now())
    if (failEvery && count % failEvery === 0) throw new ferro.NonRetryableError('bench failure')
  }, { fromBeginning: true, topics: [type] })
  const end = await finished
  await bus.shutdown()
  if (readData && sum !== (N * (N - 1)) / 2) log(`note: bus subscribe read ${sum} as the sum of event.data.i (expected ${(N * (N - 1)) / 2})`)
  return (N * 1000) / (end - first)
}

/**
 * @platformatic/kafka or kafka-crab-js: produce (timed after a warm-up send) and per-message
 * consume (a new group from the earliest offset, timed from the first record), each the median of
 * RUNS; a library that is missing or fails keeps its reason instead of a figure.
 */
async function otherBench(lib) {
  const { version, reason, note } = lib.load()
  const out = { name: version ? `${lib.name} ${version}` : lib.name, note, produce: null, consume: null, produceReason: reason, consumeReason: reason }
  if (reason) { log(`  ${lib.name}: not compared: ${reason}`); return out }
  if (note) log(`  ${lib.name}: ${note}`)
  const attempt = async (what, fn) => {
    try { out[what] = await measure(`${lib.name} ${what}`, fn) } catch (e) {
      out[`${what}Reason`] = e.message
      log(`  ${lib.name} ${what}: not compared: ${e.message}`)
    }
  }
  await attempt('produce', async () => lib.produce(brokers, await newTopic(), OTHER_N, batchOf))
  await attempt('consume', async () => lib.consume(brokers, await filledTopic(OTHER_N), OTHER_N))
  return out
}

async function measure(name, fn) {
  const results = []
  for (let i = 0; i < RUNS; i++) results.push(await fn())
  log(`  ${name}: ${results.map((r) => Math.round(r).toLocaleString('en-US')).join(', ')}`)
  return median(results)
}

async function main() {
  log(`ferrokafka bench: ${N} records of 100 B (16 B keys), ${PARTITIONS} partitions, acks=all, ${RUNS} runs each, median; ${external ? `KAFKA_BROKERS=${external}` : 'MockCluster 3 brokers'}`)
  const r = {}
  r.ceilProduce = await measure('ceiling produce', () => ceilingBench('produce'))
  r.ceilConsume = await measure('ceiling consume', () => ceilingBench('consume'))
  r.ceilConsumeBatch = await measure('Rust consume with the batch call', () => ceilingBench('consume-batch'))
  r.ferroProduce = await measure('ferrokafka send', () => produceBench('ferro'))
  r.ferroSendBatch = await measure('ferrokafka sendBatch', () => produceBench('ferro', true))
  r.kjsProduce = await measure('kafkajs send', () => produceBench('kafkajs'))
  r.ferroEachBatch = await measure('ferrokafka eachBatch', () => consumeBench('ferro', 'eachBatch'))
  r.ferroEachMessage = await measure('ferrokafka eachMessage', () => consumeBench('ferro', 'eachMessage'))
  r.kjsEachBatch = await measure('kafkajs eachBatch', () => consumeBench('kafkajs', 'eachBatch'))
  r.kjsEachMessage = await measure('kafkajs eachMessage', () => consumeBench('kafkajs', 'eachMessage'))
  r.busPublish = await measure('bus publish (256 in flight)', () => publishBench(true))
  r.rawSingleSend = await measure('raw send, 1 record (256 in flight)', () => publishBench(false))
  r.busSubscribe = await measure('bus subscribe (wildcard)', () => subscribeBench())
  r.busSubscribeReading = await measure('bus subscribe, handler reads event.data', () => subscribeBench({ readData: true }))
  r.busSubscribeFailing = await measure('bus subscribe, 1% dead-lettered', () => subscribeBench({ failEvery: 100 }))
  const [fp50, fp99] = await singleSendLatency('ferro')
  const [kp50, kp99] = await singleSendLatency('kafkajs')
  const [e50, e99] = await endToEnd()
  const rss = await rssGrowth()
  const peakRss = process.memoryUsage().rss
  // Last, so that their allocations stay out of ferrokafka's RSS figures.
  for (const lib of others.libraries) r[lib.key] = await otherBench(lib)

  const mbps = (rate) => ((rate * 116) / 1e6).toFixed(1)
  const rows = [
    ['produce (send, 1000/batch)', r.ferroProduce, r.kjsProduce, r.ceilProduce],
    ['produce (sendBatch)', r.ferroSendBatch, r.kjsProduce, r.ceilProduce],
    ['consume eachBatch', r.ferroEachBatch, r.kjsEachBatch, r.ceilConsume],
    ['consume eachMessage', r.ferroEachMessage, r.kjsEachMessage, r.ceilConsume],
  ]
  const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(11)
  console.log('')
  console.log(`${'workload'.padEnd(28)} ${'ferrokafka'.padStart(11)} ${'MB/s'.padStart(6)} ${'kafkajs'.padStart(11)} ${'ceiling'.padStart(11)} ${'vs kafkajs'.padStart(10)} ${'vs ceiling'.padStart(10)}`)
  for (const [name, f, k, c] of rows) {
    console.log(`${name.padEnd(28)} ${fmt(f)} ${mbps(f).padStart(6)} ${fmt(k)} ${fmt(c)} ${(f / k).toFixed(2).padStart(9)}x ${(f / c).toFixed(2).padStart(10)}`)
  }
  console.log(`ceiling: rdkafka's StreamConsumer polled per message; a Rust consumer with librdkafka's batch call (as ferrokafka's drain) read ${fmt(r.ceilConsumeBatch).trim()} msg/s: eachBatch ${(r.ferroEachBatch / r.ceilConsumeBatch).toFixed(2)}, eachMessage ${(r.ferroEachMessage / r.ceilConsumeBatch).toFixed(2)} of it`)
  console.log('')
  const width = Math.max(...others.libraries.map((lib) => r[lib.key].name.length)) + 22
  console.log(`${`other clients${OTHER_N !== N ? ` (${OTHER_N} records)` : ''}`.padEnd(width)} ${'msg/s'.padStart(11)} ${'ferrokafka'.padStart(11)} ${'ferrokafka/it'.padStart(13)}`)
  for (const lib of others.libraries) {
    const o = r[lib.key]
    for (const [what, ferroRate, label] of [['produce', r.ferroProduce, 'produce (1000/batch)'], ['consume', r.ferroEachMessage, 'consume (per message)']]) {
      const rate = o[what]
      const name = `${o.name} ${label}`.padEnd(width)
      console.log(rate === null ? `${name} not compared: ${o[`${what}Reason`]}` : `${name} ${fmt(rate)} ${fmt(ferroRate)} ${(ferroRate / rate).toFixed(2).padStart(12)}x`)
    }
    if (o.note) console.log(`  (${lib.name}: ${o.note})`)
  }
  console.log(`event bus: publish ${fmt(r.busPublish).trim()} msg/s (${(r.busPublish / r.rawSingleSend).toFixed(2)} of raw single sends), subscribe ${fmt(r.busSubscribe).trim()} msg/s (${(r.busSubscribe / r.ferroEachBatch).toFixed(2)} of eachBatch; ${(r.busSubscribeReading / r.ferroEachBatch).toFixed(2)} with a handler reading event.data), with 1% dead-lettered ${fmt(r.busSubscribeFailing).trim()} msg/s (${(r.busSubscribeFailing / r.busSubscribe).toFixed(2)} of no failures)`)
  console.log(`awaited single send p50/p99 ms: ferrokafka ${fp50.toFixed(2)}/${fp99.toFixed(2)}, kafkajs ${kp50.toFixed(2)}/${kp99.toFixed(2)}`)
  console.log(`end-to-end at 1,000 msg/s p50/p99 ms: ${e50.toFixed(2)}/${e99.toFixed(2)}`)
  console.log(`RSS: ${(rss.rssEarly / 2 ** 20).toFixed(0)} MB at the early mark, ${(rss.rssLate / 2 ** 20).toFixed(0)} MB at the end (${rss.growth.toFixed(1)}% growth); peak ${(peakRss / 2 ** 20).toFixed(0)} MB`)
  if (JSON_OUT) {
    const ratio = (ferroRate, rate) => (rate === null ? null : ferroRate / rate)
    const { platformatic: pk, crab: ck } = r
    console.log(JSON.stringify({
      produce_vs_ceiling: r.ferroProduce / r.ceilProduce,
      produce_vs_kafkajs: r.ferroProduce / r.kjsProduce,
      send_batch_vs_ceiling: r.ferroSendBatch / r.ceilProduce,
      each_batch_vs_ceiling: r.ferroEachBatch / r.ceilConsume,
      each_message_vs_ceiling: r.ferroEachMessage / r.ceilConsume,
      each_message_vs_kafkajs: r.ferroEachMessage / r.kjsEachMessage,
      each_batch_vs_kafkajs: r.ferroEachBatch / r.kjsEachBatch,
      each_batch_vs_batch_call: r.ferroEachBatch / r.ceilConsumeBatch, each_message_vs_batch_call: r.ferroEachMessage / r.ceilConsumeBatch,
      single_send_p50_ms: fp50, single_send_p99_ms: fp99, kafkajs_single_send_p50_ms: kp50, kafkajs_single_send_p99_ms: kp99,
      bus_subscribe_vs_each_batch: r.busSubscribe / r.ferroEachBatch, bus_publish_vs_send: r.busPublish / r.rawSingleSend,
      bus_failing_vs_clean: r.busSubscribeFailing / r.busSubscribe, bus_subscribe_reading_vs_each_batch: r.busSubscribeReading / r.ferroEachBatch,
      platformatic_produce: pk.produce, platformatic_consume: pk.consume, crab_produce: ck.produce, crab_consume: ck.consume,
      produce_vs_platformatic: ratio(r.ferroProduce, pk.produce), each_message_vs_platformatic: ratio(r.ferroEachMessage, pk.consume),
      produce_vs_crab: ratio(r.ferroProduce, ck.produce), each_message_vs_crab: ratio(r.ferroEachMessage, ck.consume),
      not_compared: Object.fromEntries(others.libraries.flatMap((lib) => ['produce', 'consume']
        .filter((what) => r[lib.key][what] === null).map((what) => [`${lib.key}_${what}`, r[lib.key][`${what}Reason`]]))),
      e2e_p50_ms: e50, e2e_p99_ms: e99, rss_growth_pct: rss.growth, peak_rss_mb: peakRss / 2 ** 20,
      msg_per_sec: { ferro_produce: r.ferroProduce, ferro_send_batch: r.ferroSendBatch, kafkajs_produce: r.kjsProduce, ceiling_produce: r.ceilProduce,
        ferro_each_batch: r.ferroEachBatch, ferro_each_message: r.ferroEachMessage, kafkajs_each_batch: r.kjsEachBatch, kafkajs_each_message: r.kjsEachMessage, ceiling_consume: r.ceilConsume,
        rust_batch_call_consume: r.ceilConsumeBatch },
    }))
  }
}

main().then(() => {
  // The other clients may outlive their last call (kafka-crab-js' producer has no close, a client
  // given up on after a timeout is still running); with the brokers closed under them, kafka-crab-js'
  // librdkafka threads log reconnect errors to stdout, after the --json line. So they go first.
  if (others.used()) process.exit(0)
  cluster?.close()
}, (e) => { console.error(e); process.exit(1) })
