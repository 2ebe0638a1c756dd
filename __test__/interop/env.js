// Shared by the interop suites: a Kafka bound to the tansu broker global-setup.js started, clients
// configured for what tansu's memory storage supports, named skips and printed figures.
const { Kafka, logLevel } = require('../..')

/** tansu's memory storage rejects InitProducerId, so no producer here may be idempotent. */
const PRODUCER = { idempotent: false }

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

/** Sends with a short-lived non-idempotent producer; resolves with the RecordMetadata[]. */
async function produce(kafka, topic, messages, config = {}, send = {}) {
  const producer = kafka.producer({ ...PRODUCER, ...config })
  await producer.connect()
  try {
    return await producer.send({ topic, messages, ...send })
  } finally {
    await producer.disconnect()
  }
}

module.exports = { PRODUCER, tansuKafka, tansuBrokers, skipOnTansu, figure, createTopic, produce }
