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

test('two members with NestJS KafkaReplyPartitionAssigner form a cooperative-sticky group consuming every partition, warned once each', async () => {
  const { kafka, entries } = loggedKafka()
  const { groupId, sizes, protocols } = await twoMembers(kafka, [nestAssigner])
  expect(sizes).toEqual([2, 2])
  // Its stand-in keeps partitions where they are, as the NestJS assigner keeps reply partitions.
  expect(protocols).toEqual(['cooperative-sticky'])
  const warnings = assignerWarnings(entries)
  expect(warnings).toHaveLength(2) // one per consumer, none per rebalance
  for (const w of warnings) {
    expect(w.level).toBe(logLevel.WARN)
    expect(w.log.message).toContain('"NestReplyPartitionAssigner"')
    expect(w.log.message).toContain(groupId)
    expect(w.log.strategy).toBe('cooperative-sticky')
  }
})

test('with the NestJS reply assigner, the members that stay keep their partitions when one leaves (a reply in flight still reaches its requester)', async () => {
  const { kafka } = loggedKafka()
  const topic = unique('reply'), groupId = unique('g')
  cluster.createTopic(topic, 3, 1)
  const members = [0, 1, 2].map(() => kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, partitionAssigners: [nestAssigner] }))
  const latest = [null, null, null]
  let changed = () => {}
  members.forEach((c, i) => c.on(c.events.GROUP_JOIN, (e) => { latest[i] = e.payload.memberAssignment[topic] ?? []; changed() }))
  const until = (pred, what) => within(40000, new Promise((resolve) => { changed = () => { if (pred()) resolve() }; changed() }), what)
  const all = () => latest.flatMap((ps) => ps ?? []).sort()
  try {
    for (const c of members) {
      await c.connect()
      await c.subscribe({ topics: [topic] })
      void c.run({ eachMessage: async () => {} })
    }
    await until(() => latest.every((ps) => ps?.length === 1) && all().join() === '0,1,2', 'one partition each')
    const before = latest.map((ps) => ps[0])
    await members[1].disconnect()
    latest[1] = []
    await until(() => all().join() === '0,1,2', 'the leaver\'s partition taken over')
    // Each remaining member still holds the partition it had (plus, for one, the leaver's).
    expect(latest[0]).toContain(before[0])
    expect(latest[2]).toContain(before[2])
  } finally {
    await Promise.all([members[0], members[2]].map((c) => c.disconnect()))
  }
}, 90000)

test('with the NestJS reply assigner, a member joining a group whose partitions another holds resolves run() only with its share (as kafkajs), not on the empty first round', async () => {
  const { kafka } = loggedKafka()
  const topic = unique('reply-join'), groupId = unique('g')
  cluster.createTopic(topic, 2, 1)
  const members = [0, 1].map(() => kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, partitionAssigners: [nestAssigner] }))
  const joins = [[], []]
  members.forEach((c, i) => c.on(c.events.GROUP_JOIN, (e) => joins[i].push(e.payload.memberAssignment[topic] ?? [])))
  try {
    for (const c of members) {
      await c.connect()
      await c.subscribe({ topics: [topic] })
    }
    await members[0].run({ eachMessage: async () => {} })
    expect(joins[0].at(-1)).toEqual([0, 1])
    await members[1].run({ eachMessage: async () => {} })
    // Listeners run on a later tick: the join that settled run() is reported by then.
    await new Promise((resolve) => setImmediate(resolve))
    expect(joins[1].at(-1)).toHaveLength(1)
    expect(joins[1].slice(0, -1).every((ps) => ps.length === 0)).toBe(true)
  } finally {
    await Promise.all(members.map((c) => c.disconnect()))
  }
}, 60000)

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
