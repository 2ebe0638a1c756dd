// kafkajs `partitionAssigners` with a custom JavaScript assigner (NestJS's own
// KafkaReplyPartitionAssigner): librdkafka cannot run it, so the group falls back to a librdkafka
// strategy with one warning naming the assigner, and the group still forms and consumes everything.
require('reflect-metadata')
const { KafkaReplyPartitionAssigner } = require('@nestjs/microservices/helpers/kafka-reply-partition-assigner')
const { Kafka, MockCluster, PartitionAssigners, logLevel } = require('..')
const { unique, deferred, within, sendWith } = require('./helpers')

let cluster
beforeAll(() => { cluster = new MockCluster({ brokers: 3 }) })
afterAll(() => cluster.close())

/** A Kafka whose WARN-and-above log entries are collected. */
function loggedKafka() {
  const entries = []
  const kafka = new Kafka({ clientId: 'assigner-test', brokers: cluster.brokers, logLevel: logLevel.WARN, logCreator: () => (e) => entries.push(e) })
  return { kafka, entries }
}

const nestAssigner = (config) => new KafkaReplyPartitionAssigner({ getConsumerAssignments: () => ({}) }, config)
const assignerWarnings = (entries) => entries.filter((e) => /assigner/i.test(e.log.message))

/**
 * Runs two members of one group over topics `a` (3 partitions) and `b` (1), each with one record
 * per partition, until every record is consumed and the members' latest assignments split the four
 * partitions between them. The split tells the strategy: round-robin gives 2 + 2, range 3 + 1.
 */
async function twoMembers(kafka, partitionAssigners) {
  const a = unique('a'), b = unique('b'), groupId = unique('g')
  cluster.createTopic(a, 3, 1)
  cluster.createTopic(b, 1, 1)
  await sendWith(kafka, a, [0, 1, 2].map((partition) => ({ partition, value: `${a}-${partition}` })))
  await sendWith(kafka, b, [{ partition: 0, value: `${b}-0` }])
  const consumers = [0, 1].map(() => kafka.consumer({ groupId, sessionTimeout: 6000, partitionAssigners }))
  const seen = new Set()
  const latest = [null, null]
  const protocols = new Set()
  const settled = deferred()
  const check = () => {
    const parts = latest.map((m) => (m ? Object.entries(m).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`)) : []))
    if (seen.size === 4 && parts[0].length > 0 && parts[1].length > 0 && new Set([...parts[0], ...parts[1]]).size === 4) settled.resolve(parts)
  }
  consumers.forEach((c, i) => c.on(c.events.GROUP_JOIN, (e) => { latest[i] = e.payload.memberAssignment; protocols.add(e.payload.groupProtocol); check() }))
  try {
    await Promise.all(consumers.map(async (c) => {
      await c.connect()
      await c.subscribe({ topics: [a, b], fromBeginning: true })
      await c.run({ eachMessage: async ({ message }) => { seen.add(message.value.toString()); check() } })
    }))
    const parts = await within(30000, settled.promise, 'consuming every partition with a settled assignment')
    return { groupId, sizes: parts.map((p) => p.length).sort(), protocols: [...protocols] }
  } finally {
    await Promise.all(consumers.map((c) => c.disconnect()))
  }
}

test('two members with NestJS KafkaReplyPartitionAssigner form a round-robin group consuming every partition, warned once each', async () => {
  const { kafka, entries } = loggedKafka()
  const { groupId, sizes, protocols } = await twoMembers(kafka, [nestAssigner])
  expect(sizes).toEqual([2, 2])
  // GROUP_JOIN names the protocol the group chose as kafkajs names its round-robin assigner.
  expect(protocols).toEqual(['RoundRobinAssigner'])
  const warnings = assignerWarnings(entries)
  expect(warnings).toHaveLength(2) // one per consumer, none per rebalance
  for (const w of warnings) {
    expect(w.level).toBe(logLevel.WARN)
    expect(w.log.message).toContain('"NestReplyPartitionAssigner"')
    expect(w.log.message).toContain(groupId)
    expect(w.log.strategy).toBe('roundrobin')
  }
})

test('a custom assigner listed with a built-in one leaves the built-in strategy in charge', async () => {
  const { kafka, entries } = loggedKafka()
  function myAssigner() { return { name: 'MyAssigner', version: 0, assign: async () => { throw new Error('never called') }, protocol: () => ({}) } }
  const { sizes, protocols } = await twoMembers(kafka, [myAssigner, PartitionAssigners.range])
  expect(sizes).toEqual([1, 3])
  expect(protocols).toEqual(['range'])
  const warnings = assignerWarnings(entries)
  expect(warnings).toHaveLength(2)
  expect(warnings[0].log.message).toMatch(/"MyAssigner".*"range"/)
})

test('built-in assigners given by name, by ferrokafka or kafkajs function, warn about nothing', () => {
  const { kafka, entries } = loggedKafka()
  const { PartitionAssigners: KafkaJSAssigners } = require('kafkajs')
  kafka.consumer({ groupId: unique('g'), partitionAssigners: [PartitionAssigners.roundRobin, KafkaJSAssigners.roundRobin, 'range'] })
  expect(assignerWarnings(entries)).toEqual([])
})
