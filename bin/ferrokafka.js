#!/usr/bin/env node
// ferrokafka's command line: `ferrokafka mock-broker [--brokers N] [--topic name:partitions ...]`.
const args = process.argv.slice(2)
const usage = `usage: ferrokafka mock-broker [--brokers N] [--topic NAME[:PARTITIONS]]...
       ferrokafka dlq inspect <dlq-topic> [--limit N] [--brokers HOST:PORT,...]
       ferrokafka dlq replay <dlq-topic> [--limit N] [--brokers HOST:PORT,...]

  mock-broker   serve an embedded Kafka-protocol cluster (librdkafka's MockCluster) on loopback
                until Ctrl-C; point any Kafka client at the printed bootstrap servers.
  dlq inspect   print a dead-letter topic's records with their failure headers (commits nothing)
  dlq replay    send a dead-letter topic's records back to their original topics

  The dlq commands read the cluster from --brokers, else KAFKA_BROKERS (TLS, SASL and the client
  id from the other KAFKA_* variables).`

function option(name, fallback) {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : fallback
}

function fail(message) {
  console.error(`${message}\n\n${usage}`)
  process.exit(2)
}

function mockBroker() {
  // Every flag takes a value; a typo (`--broker 3`) must not silently serve the defaults.
  const topics = []
  for (let i = 1; i < args.length; i += 2) {
    if (args[i] !== '--brokers' && args[i] !== '--topic') fail(`unknown option for mock-broker: ${args[i]}`)
    if (args[i] === '--topic') topics.push(String(args[i + 1] ?? ''))
  }
  const brokers = Number(option('--brokers', '3'))
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 64) fail('--brokers must be an integer from 1 to 64')
  const parsed = topics.map((spec) => {
    const [name, parts = '1'] = spec.split(':')
    const partitions = Number(parts)
    // The mock aborts the process on a partition count it cannot allocate (librdkafka asserts).
    if (!name || !/^\d+$/.test(parts) || partitions < 1 || partitions > 10000) fail('--topic needs NAME[:PARTITIONS], PARTITIONS an integer from 1 to 10000')
    return { name, partitions }
  })
  const { MockCluster } = require('..')
  const cluster = new MockCluster({ brokers })
  for (const { name, partitions } of parsed) {
    cluster.createTopic(name, partitions, Math.min(brokers, 3))
    console.log(`topic ${name}: ${partitions} partition(s)`)
  }
  console.log(`MockCluster with ${brokers} broker(s) listening.`)
  console.log(`bootstrap servers: ${cluster.bootstrapServers}`)
  console.log(`e.g. KAFKA_BROKERS=${cluster.bootstrapServers}`)
  console.log('Press Ctrl-C to stop.')
  // The cluster runs on native threads; this timer keeps Node alive until a signal arrives.
  const keepAlive = setInterval(() => {}, 1 << 30)
  const stop = () => {
    clearInterval(keepAlive)
    cluster.close()
    console.log('\nMockCluster stopped.')
    process.exit(0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

async function dlq() {
  const [, action, topic] = args
  for (let i = 3; i < args.length; i += 2) {
    if (args[i] !== '--limit' && args[i] !== '--brokers') fail(`unknown option for dlq ${action}: ${args[i]}`)
  }
  const limit = Number(option('--limit', 'Infinity'))
  if (!['inspect', 'replay'].includes(action) || !topic || topic.startsWith('--') || !(limit > 0)) fail('dlq needs inspect or replay, a topic, and a --limit above 0 if one is given')
  const { Kafka, configFromEnv, readDeadLetters, replayDeadLetters } = require('..')
  const listed = option('--brokers', undefined)
  if (listed !== undefined && !listed.split(',').every((b) => /^[^\s:]+:\d+$/.test(b))) fail('--brokers must list host:port pairs separated by commas')
  const env = configFromEnv(listed === undefined ? process.env : { ...process.env, KAFKA_BROKERS: listed })
  const kafka = new Kafka({ brokers: env.brokers, clientId: env.clientId, ssl: env.ssl, sasl: env.sasl, logLevel: 1 })
  if (action === 'replay') {
    const n = await replayDeadLetters(kafka, topic, { limit })
    console.log(`replayed ${n} record(s) from ${topic}`)
    return
  }
  const records = await readDeadLetters(kafka, topic, limit)
  const cut = (s, n) => { s = String(s ?? ''); return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n) }
  console.log(`${cut('partition:offset', 17)} ${cut('key', 16)} ${cut('original', 28)} ${cut('error', 40)} ${cut('attempts', 8)} ${cut('replays', 7)} failed at`)
  for (const r of records) {
    const origin = r.originalTopic ? `${r.originalTopic}[${r.headers['dlq-original-partition']}]@${r.headers['dlq-original-offset']}` : '?'
    console.log(`${cut(`${r.partition}:${r.offset}`, 17)} ${cut(r.key, 16)} ${cut(origin, 28)} ${cut(`${r.errorName}: ${r.errorMessage}`, 40)} ${cut(r.attempts, 8)} ${cut(r.reprocessCount, 7)} ${r.failedAt ?? ''}`)
  }
  console.log(`${records.length} record(s) in ${topic}`)
}

switch (args[0]) {
  case 'mock-broker':
    mockBroker()
    break
  case 'dlq':
    dlq().catch((e) => {
      console.error(`ferrokafka dlq: ${e.message}`)
      process.exit(1)
    })
    break
  case undefined:
  case '-h':
  case '--help':
    console.log(usage)
    break
  default:
    console.error(`unknown command: ${args[0]}\n\n${usage}`)
    process.exit(2)
}
