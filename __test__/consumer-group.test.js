// The kafkajs Consumer contract on a MockCluster over TCP, for a group: offsets committed by hand
// or automatically are where a new member resumes, and members split and take over partitions.
const { unique, startCluster, deferred, within, nextEvent, inbox, adminOf, sendWith, committedOffset } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

// The MockCluster waits (sessionTimeout - 1 s) for members after any member left a group, so
// tests that use one group with several consumers keep the session short.
const SHORT_SESSION = { sessionTimeout: 6000, heartbeatInterval: 500 }

const values = (prefix, n) => Array.from({ length: n }, (_, i) => ({ value: `${prefix}${i}` }))
const committedOf = (groupId, topic) => adminOf(kafka, (admin) => committedOffset(admin, groupId, topic))

/**
 * A member of `groupId` runs (with `run` options) until it handled offset `last` of partition 0,
 * calls `before(consumer)` and leaves; returns the offsets it handled, in order.
 */
async function memberUntil(groupId, topic, last, run = {}, before = async () => {}) {
  const member = kafka.consumer({ groupId, ...SHORT_SESSION })
  const box = inbox()
  try {
    await member.connect()
    await member.subscribe({ topics: [topic], fromBeginning: true })
    await member.run({ ...run, eachMessage: async ({ message }) => { box.push(message.offset) } })
    await box.waitFor((o) => o === last)
    await before(member)
  } finally {
    await member.disconnect()
  }
  return box.seen
}

test('commitOffsets with autoCommit off: a new member of the group resumes after the committed offset', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  await sendWith(kafka, topic, values('m', 10))
  await memberUntil(groupId, topic, '9', { autoCommit: false }, (m) => m.commitOffsets([{ topic, partition: 0, offset: '6' }]))
  // autoCommit false: disconnect commits nothing more than the explicit commit.
  expect(await committedOf(groupId, topic)).toBe('6')
  expect(await memberUntil(groupId, topic, '9')).toEqual(['6', '7', '8', '9'])
})

test('after auto-committed consumption a new member resumes at the next unhandled message, skipping none', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  await sendWith(kafka, topic, values('m', 10))
  expect(await memberUntil(groupId, topic, '9')).toEqual(values('', 10).map((v) => v.value))
  // kafkajs commits the offset of the next message to read: 10 after handling offsets 0..9.
  expect(await committedOf(groupId, topic)).toBe('10')
  await sendWith(kafka, topic, values('n', 5))
  expect(await memberUntil(groupId, topic, '14')).toEqual(['10', '11', '12', '13', '14'])
})

test('two members split the partitions; when one leaves the other takes them all over', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  const partitions = [0, 1, 2, 3]
  cluster.createTopic(topic, partitions.length, 1)
  const a = kafka.consumer({ groupId, ...SHORT_SESSION })
  const b = kafka.consumer({ groupId, ...SHORT_SESSION })
  const joins = { a: [], b: [] }
  const latest = (k) => joins[k][joins[k].length - 1]
  const assigned = (join) => ((join && join.memberAssignment[topic]) || []).slice().sort()
  const split = deferred()
  const checkSplit = () => {
    const pa = assigned(latest('a'))
    const pb = assigned(latest('b'))
    if (!latest('a') || !latest('b')) return
    const union = [...new Set([...pa, ...pb])].sort()
    if (pa.length > 0 && pb.length > 0 && pa.length + pb.length === partitions.length && union.join() === partitions.join()) split.resolve()
  }
  a.on(a.events.GROUP_JOIN, (e) => { joins.a.push(e.payload); checkSplit() })
  b.on(b.events.GROUP_JOIN, (e) => { joins.b.push(e.payload); checkSplit() })
  const box = inbox()
  let bConnected = false
  try {
    await a.connect()
    await a.subscribe({ topics: [topic], fromBeginning: true })
    await a.run({ eachMessage: async ({ partition, message }) => { box.push({ partition, value: message.value.toString() }) } })
    await b.connect()
    bConnected = true
    await b.subscribe({ topics: [topic], fromBeginning: true })
    await b.run({ eachMessage: async () => {} })
    await within(45000, split.promise, 'a disjoint split of the partitions')

    const pa = assigned(latest('a'))
    const pb = assigned(latest('b'))
    expect(pa.filter((p) => pb.includes(p))).toEqual([])
    expect([...pa, ...pb].sort()).toEqual(partitions)
    expect(latest('a')).toMatchObject({ groupId })
    expect(typeof latest('a').memberId).toBe('string')
    expect(latest('a').memberId).not.toBe(latest('b').memberId)
    // kafkajs's GROUP_JOIN names the group's leader: exactly one of the two, the same for both.
    expect([latest('a').isLeader, latest('b').isLeader].sort()).toEqual([false, true])
    const leader = latest('a').isLeader ? latest('a') : latest('b')
    expect(latest('a').leaderId).toBe(leader.memberId)
    expect(latest('b').leaderId).toBe(leader.memberId)
    // The assignor chosen, by kafkajs's name: kafkajs's default, round-robin.
    expect(latest('a').groupProtocol).toBe('RoundRobinAssigner')
    // duration: from the member's JoinGroup to its assignment; B's waited for A to rejoin.
    expect(latest('b').duration).toBeGreaterThan(0)

    const takeover = nextEvent(a, a.events.GROUP_JOIN, (p) => assigned(p).length === partitions.length)
    await b.disconnect()
    bConnected = false
    await within(45000, takeover, 'the remaining member taking over every partition')
    expect(assigned(latest('a'))).toEqual(partitions)
    // Alone in the group, the remaining member leads it.
    expect(latest('a')).toMatchObject({ isLeader: true, leaderId: latest('a').memberId })

    await sendWith(kafka, topic, partitions.flatMap((p) => [{ partition: p, value: `after-${p}-a` }, { partition: p, value: `after-${p}-b` }]))
    for (const p of partitions) {
      await box.waitFor((m) => m.value === `after-${p}-a`)
      await box.waitFor((m) => m.value === `after-${p}-b`)
    }
    for (const p of partitions) {
      expect(box.seen.filter((m) => m.partition === p && m.value.startsWith('after-')).map((m) => m.value)).toEqual([`after-${p}-a`, `after-${p}-b`])
    }
  } finally {
    if (bConnected) await b.disconnect()
    await a.disconnect()
  }
})

test('HEARTBEAT: an idle member reports each answered heartbeat, after its GROUP_JOIN and with its member id', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 2, 1)
  const consumer = kafka.consumer({ groupId, ...SHORT_SESSION })
  const beats = []
  const joins = []
  consumer.on(consumer.events.GROUP_JOIN, (e) => joins.push(e))
  consumer.on(consumer.events.HEARTBEAT, (e) => beats.push(e))
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic] })
    const joined = nextEvent(consumer, consumer.events.GROUP_JOIN)
    await consumer.run({ eachMessage: async () => {} })
    await joined
    // Nothing to read: only heartbeats keep the member in the group (heartbeatInterval 500 ms).
    const third = deferred()
    consumer.on(consumer.events.HEARTBEAT, () => { if (beats.length >= 3) third.resolve() })
    await within(15000, third.promise, 'three heartbeats from an idle member')
    for (const beat of beats) {
      expect(beat.payload).toEqual({ groupId, memberId: joins[0].payload.memberId, groupGenerationId: expect.any(Number) })
      // Reported after the join, never before it.
      expect(beat.timestamp).toBeGreaterThanOrEqual(joins[0].timestamp)
    }
    expect(new Set(beats.map((b) => b.id)).size).toBe(beats.length)
  } finally {
    await consumer.disconnect()
  }
}, 30000)
