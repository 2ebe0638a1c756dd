// Shared by the interop suites: a Kafka bound to the tansu broker global-setup.js started, named
// skips and printed figures.
const { Kafka, logLevel } = require('../..')

function tansuBrokers() {
  const brokers = process.env.FERROKAFKA_TANSU_BROKERS
  if (!brokers) throw new Error('FERROKAFKA_TANSU_BROKERS is not set: run the interop suites with `npm run test:interop`')
  return brokers.split(',')
}

/** A Kafka client of the tansu broker. */
const tansuKafka = (clientId = 'interop') => new Kafka({ clientId, brokers: tansuBrokers(), logLevel: logLevel.NOTHING })

/**
 * Declares a case tansu cannot run as skipped, by name, with the reason in the test's name and on
 * the console, so a skip is always visible in the output and in the summary's skipped count.
 */
function skipOnTansu(name, reason) {
  console.log(`skipped on tansu: "${name}": ${reason}`)
  test.skip(`${name} [skipped on tansu: ${reason}]`, () => {})
}

/** Prints one measured figure of a case (collected by Jest with the suite's output). */
function figure(what, values) {
  console.log(`figure: ${what}: ${JSON.stringify(values)}`)
}

/** Creates `topic` with `partitions` partitions through the admin API (tansu supports CreateTopics). */
async function createTopic(kafka, topic, partitions = 1) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] })
  } finally {
    await admin.disconnect()
  }
}

/** Sends with a short-lived producer (idempotent unless `config` says otherwise); resolves with the RecordMetadata[]. */
async function produce(kafka, topic, messages, config = {}, send = {}) {
  const producer = kafka.producer(config)
  await producer.connect()
  try {
    return await producer.send({ topic, messages, ...send })
  } finally {
    await producer.disconnect()
  }
}

/**
 * Sends each record in its own awaited send, so tansu stores one record per batch and every offset
 * is a batch boundary (tansu 0.6.0 cannot fetch from an offset inside a stored batch).
 */
async function produceOneByOne(kafka, topic, messages) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (const m of messages) await producer.send({ topic, messages: [m] })
  } finally {
    await producer.disconnect()
  }
}

/** Why cases that fetch from inside a stored batch are skipped (measured with wire.js's Fetch). */
const MID_BATCH_FETCH = 'tansu 0.6.0 answers a Fetch at an offset inside a stored multi-record batch with only the batches after it ' +
  '(Fetch at 2 of a 5-record batch at 0 returns offsets 5..), so the rest of that batch is never delivered'

module.exports = { MID_BATCH_FETCH, produceOneByOne, tansuKafka, tansuBrokers, skipOnTansu, figure, createTopic, produce }
