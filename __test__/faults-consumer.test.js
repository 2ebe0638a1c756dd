// Fault suite, consumer side (RELIABILITY.md, cases 5-7): kills, group changes and coordinator
// faults on MockCluster, each case printing its figures before asserting them.
const path = require('path')
const { Kafka, logLevel } = require('..')
const { unique, startCluster, within, deferred, adminOf, spawnLines } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

/** Produces `count` records round-robin over `partitions`; returns the end offset per partition. */
async function fill(topic, partitions, count) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (let from = 0; from < count; from += 1000) {
      const n = Math.min(1000, count - from)
      await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ partition: (from + i) % partitions, value: String(from + i) })) })
    }
  } finally {
    await producer.disconnect()
  }
  return Array.from({ length: partitions }, (_, p) => Math.floor(count / partitions) + (p < count % partitions ? 1 : 0))
}

/** Committed offset per partition of `groupId` on `topic` (-1 when none). */
async function committed(groupId, topic) {
  const [entry] = await adminOf(kafka, (admin) => admin.fetchOffsets({ groupId, topics: [topic] }))
  return Object.fromEntries(entry.partitions.map((p) => [p.partition, Number(p.offset)]))
}

/** A small seeded PRNG (mulberry32), so a failing run's kill points can be replayed. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Runs the kill-consumer child; calls `onRecord(partition, offset)` per printed line. */
function consumerChild(topic, groupId, onRecord) {
  const script = path.join(__dirname, 'fixtures', 'kill-consumer.js')
  return spawnLines(script, [cluster.bootstrapServers, topic, groupId], (line) => {
    const m = /^(\d+) (\d+)$/.exec(line)
    if (m) onRecord(Number(m[1]), Number(m[2]))
  })
}

test('5. a consumer SIGKILLed at 20 random points while consuming 10,000 records, restarted each time', async () => {
  const topic = unique('fault-kill')
  const groupId = unique('fault-kill-group')
  const partitions = 3
  const total = 10_000
  cluster.createTopic(topic, partitions, 1)
  const ends = await fill(topic, partitions, total)
  const seed = Date.now() % 100_000
  const next = random(seed)
  const seen = Array.from({ length: partitions }, () => new Map()) // offset -> times handled
  let distinct = 0
  let redeliveredOutsideWindow = 0
  let duplicates = 0
  const kills = []
  for (let run = 0; run <= 20; run++) {
    const before = await committed(groupId, topic)
    const firstOffset = new Map()
    const budget = run < 20 ? 100 + Math.floor(next() * 350) : Infinity
    let handledThisRun = 0
    const stop = deferred()
    const child = consumerChild(topic, groupId, (partition, offset) => {
      if (!firstOffset.has(partition)) firstOffset.set(partition, offset)
      const times = (seen[partition].get(offset) ?? 0) + 1
      seen[partition].set(offset, times)
      if (times === 1) distinct++
      else duplicates++
      if (++handledThisRun >= budget || distinct === total) stop.resolve()
    })
    try {
      await within(60_000, stop.promise, `run ${run} to handle ${budget} records`)
    } finally {
      child.proc.kill('SIGKILL')
    }
    expect(await child.closed).toBe('SIGKILL')
    // Where each partition restarted: exactly at its committed offset (or 0 with none), so every
    // redelivery lies in the window between the last commit and the kill.
    for (const [partition, offset] of firstOffset) {
      const from = before[partition] >= 0 ? before[partition] : 0
      if (offset !== from) redeliveredOutsideWindow++
    }
    if (run < 20) kills.push(handledThisRun)
    if (distinct === total) break
  }
  const gaps = seen.reduce((n, offsets, p) => n + Array.from({ length: ends[p] }, (_, o) => o).filter((o) => !offsets.has(o)).length, 0)
  const figures = { records: total, kills: kills.length, handled: distinct, gaps, duplicates, restartsOffCommitted: redeliveredOutsideWindow }
  console.log(`fault 5 (SIGKILL at random points, seed ${seed}): ${JSON.stringify(figures)}; handled per run before the kill: ${kills.join(' ')}`)
  expect(kills).toHaveLength(20)
  expect({ handled: distinct, gaps, restartsOffCommitted: redeliveredOutsideWindow }).toEqual({ handled: total, gaps: 0, restartsOffCommitted: 0 })
}, 300_000)

/**
 * A consumer of `groupId` that records what it handled in `handled` (partition -> offsets) and
 * checks each commit against what it owns: the current assignment, or the one just revoked
 * (librdkafka commits revoked partitions' stored offsets as it gives them up).
 */
async function member(name, topic, groupId, handled, violations, { slowMs = 0, reported = new Map() } = {}) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 })
  let owned = new Set()
  let revoked = new Set()
  let commits = 0
  const key = (t, p) => `${t}:${p}`
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    owned = new Set(Object.entries(payload.memberAssignment).flatMap(([t, ps]) => ps.map((p) => key(t, p))))
  })
  consumer.on(consumer.events.REBALANCING, ({ payload }) => {
    revoked = new Set(Object.entries(payload.revoked ?? {}).flatMap(([t, ps]) => ps.map((p) => key(t, p))))
    if (!payload.revoked) revoked = owned
    owned = new Set()
  })
  consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
    for (const t of payload.topics) {
      for (const p of t.partitions) {
        commits++
        reported.set(p.partition, Math.max(reported.get(p.partition) ?? -1, Number(p.offset)))
        if (!owned.has(key(t.topic, p.partition)) && !revoked.has(key(t.topic, p.partition))) {
          violations.push(`${name} committed ${t.topic}[${p.partition}]@${p.offset} without owning it`)
        }
      }
    }
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommitInterval: 200,
    eachMessage: async ({ partition, message }) => {
      if (slowMs) await new Promise((r) => setTimeout(r, slowMs))
      const set = handled.get(partition) ?? new Map()
      set.set(message.offset, (set.get(message.offset) ?? 0) + 1)
      handled.set(partition, set)
      handled.count = (handled.count ?? 0) + 1
      if (handled.onRecord) handled.onRecord()
    },
  })
  return { consumer, commits: () => commits }
}

const distinctHandled = (handled) => [...handled.values()].reduce((n, m) => n + m.size, 0)
const duplicateCount = (handled) => [...handled.values()].reduce((n, m) => n + [...m.values()].reduce((d, c) => d + c - 1, 0), 0)

/** Resolves once `handled` holds `target` distinct records (checked on every record). */
function reach(handled, target, what) {
  const d = deferred()
  const check = () => { if (distinctHandled(handled) >= target) d.resolve() }
  handled.onRecord = check
  check()
  return within(90_000, d.promise, what)
}

// Case 6. Duplicates are printed, not bounded: the mock refuses every commit while its group
// rebalances (a real broker accepts commits from the current generation), so work done in that
// window is redone by the partition's next owner. A member that gets a partition back resumes
// after what it handled itself (src/consumer_context.rs), which roughly halves them.
test('6. a group of 2 gains a 3rd member and loses one mid-stream: every record processed, commits only for owned partitions', async () => {
  const topic = unique('fault-group')
  const groupId = unique('fault-group-g')
  const partitions = 6
  const total = 6000
  cluster.createTopic(topic, partitions, 1)
  await fill(topic, partitions, total)
  const handled = new Map()
  const violations = []
  const members = []
  // The highest offset COMMIT_OFFSETS reported per partition: never above what the broker has.
  const reported = new Map()
  try {
    members.push(await member('a', topic, groupId, handled, violations, { slowMs: 1, reported }))
    members.push(await member('b', topic, groupId, handled, violations, { slowMs: 1, reported }))
    await reach(handled, 1000, 'the first 1,000 records')
    members.push(await member('c', topic, groupId, handled, violations, { slowMs: 1, reported }))
    await reach(handled, 3000, 'half the records, with a third member')
    await members.shift().consumer.disconnect() // a leaves mid-stream
    await reach(handled, total, 'every record, after a member left')
    // The mock refuses commits while the group rebalances (a real broker takes them from the
    // current generation), so the owners catch up on commits after the last move. Read from the
    // broker: COMMIT_OFFSETS is not reported for every commit made around a rebalance.
    const caughtUp = async () => Object.values(await committed(groupId, topic)).reduce((a, b) => a + b, 0) >= total
    const bound = Date.now() + 60_000
    while (!(await caughtUp())) {
      if (Date.now() > bound) throw new Error(`commits did not reach the end of every partition within 60 s: ${JSON.stringify(await committed(groupId, topic))}`)
      await new Promise((r) => setTimeout(r, 250))
    }
  } finally {
    for (const m of members) await m.consumer.disconnect()
  }
  const ends = await committed(groupId, topic)
  const figures = {
    records: total,
    handled: distinctHandled(handled),
    duplicates: duplicateCount(handled),
    committedTotal: Object.values(ends).reduce((a, b) => a + b, 0),
    violations: violations.length,
    reportedAboveCommitted: [...reported].filter(([p, offset]) => offset > ends[p]).length,
  }
  console.log(`fault 6 (2 members, +1, -1): ${JSON.stringify(figures)}${violations.length ? `: ${violations.slice(0, 3).join('; ')}` : ''}`)
  expect(figures).toEqual(expect.objectContaining({ handled: total, committedTotal: total, violations: 0, reportedAboveCommitted: 0 }))
}, 180_000)

test('7. OffsetCommit and JoinGroup errors and a moved coordinator: the group recovers and resumes from its commits', async () => {
  const topic = unique('fault-coord')
  const groupId = unique('fault-coord-g')
  const partitions = 3
  const total = 3000
  cluster.createTopic(topic, partitions, 1)
  await fill(topic, partitions, total)
  cluster.setCoordinator('group', groupId, 1)
  cluster.pushRequestErrors('JoinGroup', ['COORDINATOR_LOAD_IN_PROGRESS', 'REQUEST_TIMED_OUT', 'COORDINATOR_NOT_AVAILABLE'])
  const handled = new Map()
  const violations = []
  let first
  try {
    first = await member('first', topic, groupId, handled, violations, { slowMs: 1 })
    await reach(handled, 500, 'records through JoinGroup errors')
    cluster.pushRequestErrors('OffsetCommit', ['REBALANCE_IN_PROGRESS', 'COORDINATOR_LOAD_IN_PROGRESS', 'REQUEST_TIMED_OUT', 'NOT_COORDINATOR'])
    await reach(handled, 1000, 'records through OffsetCommit errors')
    cluster.setCoordinator('group', groupId, 2)
    await reach(handled, 1500, 'records after the coordinator moved')
  } finally {
    cluster.clearRequestErrors('JoinGroup')
    cluster.clearRequestErrors('OffsetCommit')
    if (first) await first.consumer.disconnect()
  }
  // A new member resumes where the group's commits say: from there, nothing lost.
  const resumeAt = await committed(groupId, topic)
  const before = new Map([...handled].map(([p, m]) => [p, new Map(m)]))
  const firstOffset = new Map()
  const second = await member('second', topic, groupId, handled, violations)
  const origin = new Map()
  try {
    await reach(handled, total, 'the rest after the restart')
  } finally {
    await second.consumer.disconnect()
  }
  for (const [p, m] of handled) {
    const earlier = before.get(p) ?? new Map()
    const again = [...m.keys()].filter((o) => (m.get(o) ?? 0) > (earlier.get(o) ?? 0)).map(Number)
    if (again.length) origin.set(p, Math.min(...again))
  }
  for (const [p, o] of origin) firstOffset.set(p, o === (resumeAt[p] >= 0 ? resumeAt[p] : 0))
  const figures = {
    records: total,
    handled: distinctHandled(handled),
    handledBeforeRestart: [...before.values()].reduce((n, m) => n + m.size, 0),
    committedAtRestart: Object.values(resumeAt).reduce((a, b) => a + Math.max(b, 0), 0),
    duplicates: duplicateCount(handled),
    resumedAtCommit: [...firstOffset.values()].every(Boolean),
    violations: violations.length,
  }
  console.log(`fault 7 (JoinGroup/OffsetCommit errors, coordinator moved): ${JSON.stringify(figures)}`)
  expect(figures).toEqual(expect.objectContaining({ handled: total, resumedAtCommit: true, violations: 0 }))
  expect(figures.committedAtRestart).toBeGreaterThanOrEqual(1000)
}, 180_000)

test('fetch errors: a failed partition fetch is logged naming its topic, partition and the broker\'s reason; consumption goes on, nothing lost', async () => {
  const topic = unique('fault-fetch')
  const partitions = 2
  const total = 200
  cluster.createTopic(topic, partitions, 1)
  await fill(topic, partitions, total)
  const reported = deferred()
  const warnings = []
  const logged = new Kafka({
    brokers: cluster.brokers,
    logCreator: () => ({ level, log }) => {
      if (level !== logLevel.WARN) return
      warnings.push(log.message)
      if (log.message.startsWith(`fetch ${topic}[`)) reported.resolve(log.message)
    },
  })
  const consumer = logged.consumer({ groupId: unique('fault-fetch-g') })
  const handled = new Map()
  const all = deferred()
  try {
    cluster.pushRequestErrors('Fetch', ['TOPIC_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED'])
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = `${partition}:${message.offset}`
        handled.set(key, (handled.get(key) ?? 0) + 1)
        if (handled.size === total) all.resolve()
      },
    })
    const message = await within(15000, reported.promise, 'a WARN log of the failed fetch')
    expect(message).toMatch(new RegExp(`^fetch ${topic}\\[[01]\\]: .*Topic authorization failed.*Fetch from broker \\d+ failed`))
    await within(15000, all.promise, 'every record after the fetch errors')
  } finally {
    cluster.clearRequestErrors('Fetch')
    await consumer.disconnect()
  }
  expect([...handled.values()].every((n) => n === 1)).toBe(true)
  expect(handled.size).toBe(total)
}, 60_000)
