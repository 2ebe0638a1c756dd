//! The demo: produce 200,000 records and consume them in a group, on an embedded MockCluster
//! (or on the cluster in KAFKA_BROKERS), with a live progress bar and a reconciliation line.
const { Kafka, MockCluster, logLevel } = require('..')
const { progress } = require('./progress')
const { eventScenario } = require('./demo-events')

const TOTAL = Number(process.env.DEMO_MESSAGES || 200_000)
const PARTITIONS = 12 // keeps each partition well under the mock's ~40k-record retention
const BATCH = 1000
const IN_FLIGHT = 8

async function main() {
  const external = process.env.KAFKA_BROKERS
  const cluster = external ? null : new MockCluster({ brokers: 3 })
  const brokers = external ? external.split(',').map((b) => b.trim()) : cluster.brokers
  const kafka = new Kafka({ clientId: 'ferrokafka-demo', brokers, logLevel: logLevel.WARN })
  const topic = `demo-${Date.now().toString(36)}`
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: external ? 1 : 3 }] })
  await admin.disconnect()
  console.log(`cluster: ${external ? `KAFKA_BROKERS=${external}` : `embedded MockCluster (${brokers.join(',')})`}; topic ${topic}, ${PARTITIONS} partitions`)

  const producer = kafka.producer()
  await producer.connect()
  const value = Buffer.alloc(100, 'x')
  const bar = progress('produce', TOTAL)
  const produceStart = process.hrtime.bigint()
  let sent = 0
  let next = 0
  const worker = async () => {
    while (next < TOTAL) {
      const from = next
      const count = Math.min(BATCH, TOTAL - from)
      next += count
      const messages = new Array(count)
      for (let i = 0; i < count; i++) {
        const id = from + i
        messages[i] = { key: `key-${id % 1000}`, value, headers: { id: String(id) } }
      }
      await producer.send({ topic, messages })
      sent += count
      bar.update(sent)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  const produceSecs = Number(process.hrtime.bigint() - produceStart) / 1e9
  bar.finish(sent)
  await producer.disconnect()

  const seen = new Uint8Array(TOTAL)
  let received = 0
  let duplicates = 0
  let consumeStart = 0n
  let cbar = null
  const consumer = kafka.consumer({ groupId: `${topic}-group` })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let finished
  const allIn = new Promise((resolve) => { finished = resolve })
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (consumeStart === 0n) {
        consumeStart = process.hrtime.bigint()
        cbar = progress('consume', TOTAL)
      }
      for (const m of batch.messages) {
        const id = Number(m.headers.id.toString())
        if (seen[id]) duplicates++
        else { seen[id] = 1; received++ }
      }
      cbar.update(received)
      if (received >= TOTAL) finished()
    },
  })
  const timer = setTimeout(finished, 120_000)
  await allIn
  clearTimeout(timer)
  const consumeSecs = Number(process.hrtime.bigint() - consumeStart) / 1e9
  cbar?.finish(received)
  await consumer.disconnect()

  const mb = (n, secs) => ((n * 100) / secs / 1e6).toFixed(1)
  console.log(`produce: ${sent} msgs in ${produceSecs.toFixed(2)} s = ${Math.round(sent / produceSecs).toLocaleString('en-US')} msg/s (${mb(sent, produceSecs)} MB/s)`)
  console.log(`consume: ${received} msgs in ${consumeSecs.toFixed(2)} s = ${Math.round(received / consumeSecs).toLocaleString('en-US')} msg/s (${mb(received, consumeSecs)} MB/s)`)
  const lost = TOTAL - received
  console.log(`reconciliation: sent=${sent} received=${received} lost=${lost} duplicates=${duplicates}`)
  const eventsLost = await eventScenario(cluster, brokers)
  cluster?.close()
  process.exitCode = lost === 0 && duplicates === 0 && eventsLost === 0 ? 0 : 1
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
