// The Consumer contract against tansu's group coordinator and fetch: eachMessage and eachBatch from
// the beginning, a group of two splitting partitions, commits resumed by a second member, seek,
// and pause/resume.
const { range, unique, deferred, within, inbox } = require('../helpers')
const { tansuKafka, createTopic, produce, produceOneByOne, figure, skipOnTansu, MID_BATCH_FETCH } = require('./env')

const kafka = tansuKafka('interop-consumer')
// A member that leaves makes the coordinator wait for the others: a short session keeps that short.
const SHORT_SESSION = { sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 6000 }

/** Runs a consumer until `until(box)` resolves, then disconnects it, even on failure. */
async function withConsumer(config, topics, run, until) {
  const consumer = kafka.consumer(config)
  try {
    await consumer.connect()
    await consumer.subscribe({ topics, fromBeginning: true })
    await consumer.run(run(consumer))
    return await until(consumer)
  } finally {
    await consumer.disconnect()
  }
}

async function committed(groupId, topic) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return Object.fromEntries(t.partitions.map((p) => [p.partition, p.offset]))
  } finally {
    await admin.disconnect()
  }
}

test('eachMessage from the beginning: every record of 3 partitions, in order per partition, kafkajs-shaped', async () => {
  const topic = unique('t')
  await createTopic(kafka, topic, 3)
  const sent = range(30, (i) => ({ partition: i % 3, key: `k${i}`, value: `v${i}`, headers: { n: String(i) }, timestamp: String(1700000000000 + i) }))
  await produce(kafka, topic, sent)
  const box = inbox()
  const started = Date.now()
  await withConsumer({ groupId: unique('g') }, [topic], () => ({
    eachMessage: async (payload) => { box.push(payload) },
  }), () => box.waitFor(() => box.seen.length >= 30, 30000, '30 records'))
  figure('eachMessage: 30 records over 3 partitions, ms from run to last', Date.now() - started)

  expect(box.seen).toHaveLength(30)
  for (let p = 0; p < 3; p++) {
    const got = box.seen.filter((s) => s.partition === p)
    const want = sent.filter((r) => r.partition === p)
    expect(got.map((s) => s.topic)).toEqual(want.map(() => topic))
    expect(got.map((s) => s.message.offset)).toEqual(want.map((_, i) => String(i)))
    expect(got.map((s) => ({ key: s.message.key.toString(), value: s.message.value.toString(), n: s.message.headers.n.toString(), timestamp: s.message.timestamp })))
      .toEqual(want.map((r) => ({ key: r.key, value: r.value, n: r.headers.n, timestamp: r.timestamp })))
  }
  expect(typeof box.seen[0].heartbeat).toBe('function')
})

test('eachBatch from the beginning: the batches hold every record in order, with kafkajs\'s batch helpers', async () => {
  const topic = unique('t')
  await createTopic(kafka, topic, 1)
  await produce(kafka, topic, range(50, (i) => ({ value: `m${i}` })))
  const batches = []
  const all = deferred()
  let total = 0
  const groupId = unique('g')
  await withConsumer({ groupId }, [topic], () => ({
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      batches.push({
        partition: batch.partition,
        highWatermark: batch.highWatermark,
        first: batch.firstOffset(),
        last: batch.lastOffset(),
        lag: batch.offsetLag(),
        values: batch.messages.map((m) => m.value.toString()),
        running: isRunning() && !isStale(),
      })
      for (const m of batch.messages) resolveOffset(m.offset)
      await heartbeat()
      await commitOffsetsIfNecessary()
      total += batch.messages.length
      if (total >= 50) all.resolve()
    },
  }), () => within(30000, all.promise, 'eachBatch over 50 records'))
  figure('eachBatch: batch sizes for 50 records', batches.map((b) => b.values.length))

  expect(batches.flatMap((b) => b.values)).toEqual(range(50, (i) => `m${i}`))
  for (const b of batches) {
    expect(b).toMatchObject({ partition: 0, highWatermark: '50', running: true })
    expect(Number(b.last) - Number(b.first) + 1).toBe(b.values.length)
    expect(b.lag).toBe(String(50 - 1 - Number(b.last)))
  }
  expect(await committed(groupId, topic)).toEqual({ 0: '50' })
})

test('a group of two splits 4 partitions disjointly, and each record reaches the member that owns its partition', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  const partitions = [0, 1, 2, 3]
  await createTopic(kafka, topic, partitions.length)
  const members = { a: kafka.consumer({ groupId, ...SHORT_SESSION }), b: kafka.consumer({ groupId, ...SHORT_SESSION }) }
  const latest = { a: null, b: null }
  const assigned = (k) => ((latest[k] && latest[k].memberAssignment[topic]) || []).slice().sort()
  const split = deferred()
  const box = inbox()
  const started = Date.now()
  const connected = []
  try {
    for (const k of ['a', 'b']) {
      const c = members[k]
      c.on(c.events.GROUP_JOIN, (e) => {
        latest[k] = e.payload
        const pa = assigned('a')
        const pb = assigned('b')
        if (pa.length && pb.length && [...new Set([...pa, ...pb])].sort().join() === partitions.join() && pa.length + pb.length === 4) split.resolve()
      })
      await c.connect()
      connected.push(c)
      await c.subscribe({ topics: [topic], fromBeginning: true })
      await c.run({ eachMessage: async ({ partition, message }) => { box.push({ member: k, partition, value: message.value.toString() }) } })
    }
    await within(45000, split.promise, 'a disjoint split of 4 partitions between 2 members')
    figure('group of 2: ms until the split', Date.now() - started)
    figure('group of 2: assignment', { a: assigned('a'), b: assigned('b') })

    const owner = (p) => (assigned('a').includes(p) ? 'a' : 'b')
    await produce(kafka, topic, partitions.flatMap((p) => range(5, (i) => ({ partition: p, value: `p${p}-${i}` }))))
    for (const p of partitions) await box.waitFor((m) => m.value === `p${p}-4`, 20000, `the last record of partition ${p}`)
    for (const p of partitions) {
      const got = box.seen.filter((m) => m.partition === p)
      expect(got.map((m) => m.value)).toEqual(range(5, (i) => `p${p}-${i}`))
      expect(new Set(got.map((m) => m.member))).toEqual(new Set([owner(p)]))
    }
  } finally {
    for (const c of connected) await c.disconnect()
  }
})

test('commitOffsets with autoCommit off: a second consumer of the group resumes at the committed offset', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  await createTopic(kafka, topic, 1)
  await produceOneByOne(kafka, topic, range(10, (i) => ({ value: `m${i}` })))

  const box = inbox()
  await withConsumer({ groupId, ...SHORT_SESSION }, [topic], () => ({
    autoCommit: false,
    eachMessage: async ({ message }) => { box.push(message.offset) },
  }), async (c) => {
    await box.waitFor((o) => o === '9')
    await c.commitOffsets([{ topic, partition: 0, offset: '6' }])
  })
  expect(box.seen).toEqual(range(10, String))
  expect(await committed(groupId, topic)).toEqual({ 0: '6' })

  const box2 = inbox()
  await withConsumer({ groupId, ...SHORT_SESSION }, [topic], () => ({
    eachMessage: async ({ message }) => { box2.push(message.offset) },
  }), () => box2.waitFor((o) => o === '9'))
  expect(box2.seen).toEqual(['6', '7', '8', '9'])
})

test('auto-committed consumption: a second consumer resumes at the next unhandled record, skipping none', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  await createTopic(kafka, topic, 2)
  await produce(kafka, topic, range(10, (i) => ({ partition: i % 2, value: `m${i}` })))

  const box = inbox()
  await withConsumer({ groupId, ...SHORT_SESSION }, [topic], () => ({
    eachMessage: async ({ message }) => { box.push(message.value.toString()) },
  }), () => box.waitFor(() => box.seen.length >= 10, 20000, 'the first 10 records'))
  expect([...box.seen].sort()).toEqual(range(10, (i) => `m${i}`).sort())
  expect(await committed(groupId, topic)).toEqual({ 0: '5', 1: '5' })

  await produce(kafka, topic, range(4, (i) => ({ partition: i % 2, value: `n${i}` })))
  const box2 = inbox()
  await withConsumer({ groupId, ...SHORT_SESSION }, [topic], () => ({
    eachMessage: async ({ message }) => { box2.push(message.value.toString()) },
  }), () => box2.waitFor(() => range(4, (i) => `n${i}`).every((v) => box2.seen.includes(v)), 20000, 'the next 4 records'))
  // Nothing already handled and committed comes again.
  expect([...box2.seen].sort()).toEqual(['n0', 'n1', 'n2', 'n3'])
})

test('seek moves the next fetch back: offsets are delivered again', async () => {
  const topic = unique('t')
  await createTopic(kafka, topic, 1)
  await produceOneByOne(kafka, topic, range(5, (i) => ({ value: `m${i}` })))
  const box = inbox()
  const again = deferred()
  await withConsumer({ groupId: unique('g') }, [topic], () => ({
    eachMessage: async ({ message }) => {
      box.push(message.offset)
      if (box.seen.length >= 8) again.resolve()
    },
  }), async (c) => {
    await box.waitFor((o) => o === '4')
    c.seek({ topic, partition: 0, offset: '2' })
    await within(20000, again.promise, 'redelivery after seek')
  })
  expect(box.seen).toEqual(['0', '1', '2', '3', '4', '2', '3', '4'])
})

skipOnTansu('a second consumer resumes at a committed offset that falls inside a stored multi-record batch', MID_BATCH_FETCH)
skipOnTansu('seek to an offset inside a stored multi-record batch redelivers from that offset', MID_BATCH_FETCH)

test('a paused partition receives nothing until resumed, while another keeps flowing', async () => {
  const topic = unique('t')
  await createTopic(kafka, topic, 2)
  const producer = kafka.producer()
  await producer.connect()
  const box = inbox()
  try {
    await withConsumer({ groupId: unique('g') }, [topic], () => ({
      eachMessage: async ({ partition, message }) => { box.push({ partition, value: message.value.toString() }) },
    }), async (consumer) => {
      await producer.send({ topic, messages: [{ value: 'warm-0', partition: 0 }, { value: 'warm-1', partition: 1 }] })
      await box.waitFor((m) => m.value === 'warm-0')
      await box.waitFor((m) => m.value === 'warm-1')

      consumer.pause([{ topic, partitions: [0] }])
      expect(consumer.paused()).toEqual([{ topic, partitions: [0] }])
      await producer.send({ topic, messages: [{ value: 'held', partition: 0 }] })
      // Each marker's delivery on partition 1 proves the consumer fetched again after 'held' was written.
      for (let i = 0; i < 5; i++) {
        await producer.send({ topic, messages: [{ value: `marker-${i}`, partition: 1 }] })
        await box.waitFor((m) => m.value === `marker-${i}`)
      }
      expect(box.seen.find((m) => m.value === 'held')).toBeUndefined()

      const before = box.seen.length
      consumer.resume([{ topic, partitions: [0] }])
      expect(consumer.paused()).toEqual([])
      const held = await box.waitFor((m) => m.value === 'held', 20000, 'the held record after resume')
      expect(held.partition).toBe(0)
      expect(box.seen.indexOf(held)).toBeGreaterThanOrEqual(before)
    })
  } finally {
    await producer.disconnect()
  }
  expect(box.seen.filter((m) => m.value === 'held')).toHaveLength(1)
})
