#!/usr/bin/env node
// ferrokafka's command line: `ferrokafka mock-broker [--brokers N] [--topic name:partitions ...]`.
const args = process.argv.slice(2)
const usage = `usage: ferrokafka mock-broker [--brokers N] [--topic NAME[:PARTITIONS]]...

  mock-broker   serve an embedded Kafka-protocol cluster (librdkafka's MockCluster) on loopback
                until Ctrl-C; point any Kafka client at the printed bootstrap servers.`

function option(name, fallback) {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : fallback
}

function mockBroker() {
  const { MockCluster } = require('..')
  const brokers = Number(option('--brokers', '3'))
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 64) {
    console.error('--brokers must be an integer from 1 to 64')
    process.exit(2)
  }
  const cluster = new MockCluster({ brokers })
  args.forEach((a, i) => {
    if (a !== '--topic') return
    const [name, parts = '1'] = String(args[i + 1] ?? '').split(':')
    if (!name) {
      console.error('--topic needs NAME[:PARTITIONS]')
      process.exit(2)
    }
    cluster.createTopic(name, Number(parts), Math.min(brokers, 3))
    console.log(`topic ${name}: ${parts} partition(s)`)
  })
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

switch (args[0]) {
  case 'mock-broker':
    mockBroker()
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
