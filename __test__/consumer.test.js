// The kafkajs Consumer contract on a MockCluster over TCP: payload shapes, retry of a failing
// message without committing past it, pause/resume, seek, manual commits, a group of two,
// stop and the instrumentation events.
const { Kafka: KafkaJS } = require('kafkajs')
const { KafkaJSNonRetriableError } = require('..')
const { unique, startCluster, deferred, within, nextEvent, inbox, adminOf, sendWith } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const produce = (topic, messages) => sendWith(kafka, topic, messages)

const withAdmin = (fn, client = kafka) => adminOf(client, fn)

/** The committed offset of one partition of `groupId` (`'-1'` when none). */
async function committed(admin, groupId, topic, partition = 0) {
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  const t = offsets.find((o) => o.topic === topic)
  return t.partitions.find((p) => p.partition === partition).offset
}

const range = (n, f) => Array.from({ length: n }, (_, i) => f(i))

// The MockCluster waits (sessionTimeout - 1 s) for members after any member left a group, so
// tests that use one group with several consumers keep the session short.
const SHORT_SESSION = { sessionTimeout: 6000, heartbeatInterval: 500 }

test('eachMessage receives kafkajs-shaped payloads', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, [{ key: 'k', value: 'v', headers: { h: 'hv' } }])

  const consumer = kafka.consumer({ groupId })
  const got = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async (payload) => {
        await payload.heartbeat()
        got.resolve(payload)
      },
    })
    const payload = await within(20000, got.promise, 'eachMessage')
    expect(payload.topic).toBe(topic)
    expect(payload.partition).toBe(0)
    expect(typeof payload.heartbeat).toBe('function')
    expect(typeof payload.pause).toBe('function')
    const { message } = payload
    expect(Buffer.isBuffer(message.key)).toBe(true)
    expect(message.key.toString()).toBe('k')
    expect(Buffer.isBuffer(message.value)).toBe(true)
    expect(message.value.toString()).toBe('v')
    expect(message.offset).toBe('0')
    expect(message.timestamp).toMatch(/^\d+$/)
    expect(typeof message.attributes).toBe('number')
    expect(Buffer.isBuffer(message.headers.h)).toBe(true)
    expect(message.headers.h.toString()).toBe('hv')
  } finally {
    await consumer.disconnect()
  }
})

test('eachBatch receives a kafkajs Batch and the batch helpers', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, range(10, (i) => ({ value: `m${i}` })))

  const consumer = kafka.consumer({ groupId })
  const checks = []
  const all = deferred()
  let total = 0
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachBatch: async (payload) => {
        const { batch } = payload
        const first = checks.length === 0
        const check = {
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          offsets: batch.messages.map((m) => m.offset),
          values: batch.messages.map((m) => m.value.toString()),
          isEmpty: batch.isEmpty(),
          firstOffset: batch.firstOffset(),
          lastOffset: batch.lastOffset(),
          offsetLag: batch.offsetLag(),
          isRunning: payload.isRunning(),
          isStale: payload.isStale(),
          fns: ['resolveOffset', 'heartbeat', 'commitOffsetsIfNecessary', 'uncommittedOffsets', 'isRunning', 'isStale', 'pause']
            .filter((f) => typeof payload[f] !== 'function'),
        }
        await payload.heartbeat()
        if (first && batch.messages.length > 0) {
          const mid = batch.messages[Math.min(4, batch.messages.length - 1)]
          payload.resolveOffset(mid.offset)
          check.midOffset = mid.offset
          check.uncommitted = payload.uncommittedOffsets()
        }
        for (const m of batch.messages) payload.resolveOffset(m.offset)
        await payload.commitOffsetsIfNecessary()
        checks.push(check)
        total += batch.messages.length
        if (total >= 10) all.resolve()
      },
    })
    await within(20000, all.promise, 'eachBatch over 10 messages')
  } finally {
    await consumer.disconnect()
  }

  expect(checks.flatMap((c) => c.values)).toEqual(range(10, (i) => `m${i}`))
  for (const c of checks) {
    expect(c.fns).toEqual([])
    expect(c).toMatchObject({ topic, partition: 0, highWatermark: '10', isEmpty: false, isRunning: true, isStale: false })
    expect(c.firstOffset).toBe(c.offsets[0])
    expect(c.lastOffset).toBe(c.offsets[c.offsets.length - 1])
    expect(c.offsetLag).toBe(String(10 - 1 - Number(c.lastOffset)))
  }
  const first = checks[0]
  expect(first.uncommitted).toEqual({ topics: [{ topic, partitions: [{ partition: 0, offset: String(Number(first.midOffset) + 1) }] }] })

  expect(await withAdmin((admin) => committed(admin, groupId, topic))).toBe('10')
})

test('a failing message is retried at the same offset, never committed past, then the rest follow in order', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, range(10, (i) => ({ value: `m${i}` })))

  const admin = kafka.admin()
  await admin.connect()
  const consumer = kafka.consumer({ groupId, retry: { retries: 10, initialRetryTime: 50 } })
  const attempts = []
  const successes = []
  const committedWhileFailing = []
  const failTimes = 3
  let failures = 0
  const done = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        attempts.push(message.offset)
        if (message.offset === '5' && failures < failTimes) {
          failures++
          committedWhileFailing.push(await committed(admin, groupId, topic))
          throw new Error(`handler failure ${failures}`)
        }
        successes.push(message.offset)
        if (message.offset === '9') done.resolve()
      },
    })
    await within(30000, done.promise, 'processing past the failing message')
  } finally {
    await consumer.disconnect()
    await admin.disconnect()
  }

  expect(attempts.filter((o) => o === '5')).toHaveLength(failTimes + 1)
  expect(successes).toEqual(range(10, String))
  expect(committedWhileFailing).toHaveLength(failTimes)
  // The committed offset is the next offset to read: while offset 5 fails it is at most 5.
  expect(committedWhileFailing.filter((c) => Number(c) > 5)).toEqual([])
  expect(await withAdmin((a) => committed(a, groupId, topic))).toBe('10')
})

test('a paused partition receives nothing until resumed, while others keep flowing', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 2, 1)
  const producer = kafka.producer()
  await producer.connect()
  const consumer = kafka.consumer({ groupId })
  const box = inbox()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => { box.push({ partition, value: message.value.toString() }) },
    })
    await producer.send({ topic, messages: [{ value: 'warm-0', partition: 0 }, { value: 'warm-1', partition: 1 }] })
    await box.waitFor((m) => m.value === 'warm-0')
    await box.waitFor((m) => m.value === 'warm-1')

    consumer.pause([{ topic, partitions: [0] }])
    expect(consumer.paused()).toEqual([{ topic, partitions: [0] }])

    await producer.send({ topic, messages: [{ value: 'held', partition: 0 }] })
    // Partition 1 keeps being consumed: each marker's delivery proves the consumer fetched again.
    for (let i = 0; i < 5; i++) {
      await producer.send({ topic, messages: [{ value: `marker-${i}`, partition: 1 }] })
      await box.waitFor((m) => m.value === `marker-${i}`)
    }
    expect(box.seen.find((m) => m.value === 'held')).toBeUndefined()
    expect(consumer.paused()).toEqual([{ topic, partitions: [0] }])

    const seenBeforeResume = box.seen.length
    consumer.resume([{ topic, partitions: [0] }])
    expect(consumer.paused()).toEqual([])
    const held = await box.waitFor((m) => m.value === 'held', 20000, 'the held message after resume')
    expect(held.partition).toBe(0)
    expect(box.seen.indexOf(held)).toBeGreaterThanOrEqual(seenBeforeResume)
    expect(box.seen.filter((m) => m.value === 'held')).toHaveLength(1)
  } finally {
    await consumer.disconnect()
    await producer.disconnect()
  }
})

test('seek moves the next fetch back: offsets are delivered again', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, range(5, (i) => ({ value: `m${i}` })))
  const consumer = kafka.consumer({ groupId })
  const box = inbox()
  const again = deferred()
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        box.push(message.offset)
        if (box.seen.length >= 10) again.resolve()
      },
    })
    await box.waitFor((o) => o === '4')
    expect(box.seen).toEqual(['0', '1', '2', '3', '4'])

    consumer.seek({ topic, partition: 0, offset: '0' })
    await within(20000, again.promise, 'redelivery after seek')
    expect(box.seen.slice(5, 10)).toEqual(['0', '1', '2', '3', '4'])
  } finally {
    await consumer.disconnect()
  }
})

test('commitOffsets with autoCommit off: a new member of the group resumes after the committed offset', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, range(10, (i) => ({ value: `m${i}` })))

  const first = kafka.consumer({ groupId, ...SHORT_SESSION })
  const box = inbox()
  try {
    await first.connect()
    await first.subscribe({ topics: [topic], fromBeginning: true })
    await first.run({ autoCommit: false, eachMessage: async ({ message }) => { box.push(message.offset) } })
    await box.waitFor((o) => o === '9')
    await first.commitOffsets([{ topic, partition: 0, offset: '6' }])
  } finally {
    await first.disconnect()
  }
  // autoCommit false: disconnect commits nothing more than the explicit commit.
  expect(await withAdmin((a) => committed(a, groupId, topic))).toBe('6')

  const second = kafka.consumer({ groupId, ...SHORT_SESSION })
  const box2 = inbox()
  try {
    await second.connect()
    await second.subscribe({ topics: [topic], fromBeginning: true })
    await second.run({ eachMessage: async ({ message }) => { box2.push(message.offset) } })
    await box2.waitFor((o) => o === '9')
  } finally {
    await second.disconnect()
  }
  expect(box2.seen).toEqual(['6', '7', '8', '9'])
})

test('after auto-committed consumption a new member resumes at the next unhandled message, skipping none', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, range(10, (i) => ({ value: `m${i}` })))

  const first = kafka.consumer({ groupId, ...SHORT_SESSION })
  const box = inbox()
  try {
    await first.connect()
    await first.subscribe({ topics: [topic], fromBeginning: true })
    await first.run({ eachMessage: async ({ message }) => { box.push(message.offset) } })
    await box.waitFor((o) => o === '9')
  } finally {
    await first.disconnect()
  }
  expect(box.seen).toEqual(range(10, String))
  // kafkajs commits the offset of the next message to read: 10 after handling offsets 0..9.
  const committedAfterFirst = await withAdmin((a) => committed(a, groupId, topic))

  await produce(topic, range(5, (i) => ({ value: `n${i}` })))
  const second = kafka.consumer({ groupId, ...SHORT_SESSION })
  const box2 = inbox()
  try {
    await second.connect()
    await second.subscribe({ topics: [topic], fromBeginning: true })
    await second.run({ eachMessage: async ({ message }) => { box2.push(message.offset) } })
    await box2.waitFor((o) => o === '14')
  } finally {
    await second.disconnect()
  }
  expect(box2.seen).toEqual(['10', '11', '12', '13', '14'])
  expect(committedAfterFirst).toBe('10')
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

    const takeover = nextEvent(a, a.events.GROUP_JOIN, (p) => assigned(p).length === partitions.length)
    await b.disconnect()
    bConnected = false
    await within(45000, takeover, 'the remaining member taking over every partition')
    expect(assigned(latest('a'))).toEqual(partitions)

    await produce(topic, partitions.flatMap((p) => [{ partition: p, value: `after-${p}-a` }, { partition: p, value: `after-${p}-b` }]))
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

test('stop() stops the consumer and emits STOP', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  const consumer = kafka.consumer({ groupId })
  const stopped = nextEvent(consumer, consumer.events.STOP)
  const joined = nextEvent(consumer, consumer.events.GROUP_JOIN)
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async () => {} })
    await within(20000, joined, 'GROUP_JOIN')
    await consumer.stop()
    const event = await within(5000, stopped, 'STOP')
    expect(event.type).toBe(consumer.events.STOP)
    expect(event.type).toBe('consumer.stop')
  } finally {
    await consumer.disconnect()
  }
})

test('consumer.events has kafkajs\'s constants', async () => {
  const consumer = kafka.consumer({ groupId: unique('g') })
  try {
    const reference = new KafkaJS({ brokers: ['127.0.0.1:1'], logLevel: 0 }).consumer({ groupId: 'reference' }).events
    // Every kafkajs constant, with kafkajs's value (ferrokafka may add events of its own).
    expect(consumer.events).toEqual(expect.objectContaining(reference))
    expect(Object.keys(reference).length).toBeGreaterThanOrEqual(16)
    expect(consumer.events.GROUP_JOIN).toBe('consumer.group_join')
    expect(consumer.events.STOP).toBe('consumer.stop')
    expect(consumer.events.CRASH).toBe('consumer.crash')
  } finally {
    await consumer.disconnect()
  }
})

test('on() returns a function that removes the listener; unknown events are refused', async () => {
  const consumer = kafka.consumer({ groupId: unique('g') })
  const removedCalls = []
  const kept = deferred()
  try {
    const remove = consumer.on(consumer.events.CONNECT, (e) => removedCalls.push(e))
    expect(typeof remove).toBe('function')
    remove()
    consumer.on(consumer.events.CONNECT, (e) => kept.resolve(e))
    expect(() => consumer.on('consumer.not_an_event', () => {})).toThrow(KafkaJSNonRetriableError)
    await consumer.connect()
    const event = await within(5000, kept.promise, 'CONNECT')
    expect(event.type).toBe('consumer.connect')
    expect(removedCalls).toEqual([])
  } finally {
    await consumer.disconnect()
  }
})
