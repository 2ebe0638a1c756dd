// The kafkajs Consumer contract on a MockCluster over TCP: payload shapes, pause/resume, seek, stop
// and the instrumentation events (a failing handler's retries and crashes: consumer-crash.test.js;
// commits and groups of several members: consumer-group.test.js).
const KafkaJSLib = require('kafkajs')
const { Kafka: KafkaJS } = KafkaJSLib
const { KafkaJSNonRetriableError } = require('..')
const { range, unique, startCluster, deferred, within, consumeUntil, nextEvent, inbox, adminOf, sendWith, committedOffset: committed } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const produce = (topic, messages) => sendWith(kafka, topic, messages)

const withAdmin = (fn, client = kafka) => adminOf(client, fn)

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

test('offsets and timestamps arrive as the exact decimal strings, on both sides of 1e9', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const stamps = ['1', '999999999', '1000000000', '1700000000000', '1700000000005', '1700000000045', '1700000000345',
    '1700000002345', '1700000012345', '1700000123456', '1700000999999', '1701000000000']
  await produce(topic, stamps.map((timestamp, i) => ({ value: `m${i}`, timestamp })))
  const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= stamps.length })
  expect(seen.map(({ message }) => [message.offset, message.timestamp])).toEqual(stamps.map((t, i) => [String(i), t]))
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
        // Read before anything touches batch.messages: the batch's own keys, as kafkajs's Batch has them.
        const keys = Object.keys(batch)
        const check = {
          keys,
          spreadCount: { ...batch }.messages.length,
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
    expect(c.keys).toEqual(['topic', 'partition', 'highWatermark', 'messages'])
    expect(c.spreadCount).toBe(c.offsets.length)
    expect(c).toMatchObject({ topic, partition: 0, highWatermark: '10', isEmpty: false, isRunning: true, isStale: false })
    expect(c.firstOffset).toBe(c.offsets[0])
    expect(c.lastOffset).toBe(c.offsets[c.offsets.length - 1])
    expect(c.offsetLag).toBe(String(10 - 1 - Number(c.lastOffset)))
  }
  const first = checks[0]
  expect(first.uncommitted).toEqual({ topics: [{ topic, partitions: [{ partition: '0', offset: String(Number(first.midOffset) + 1) }] }] })

  expect(await withAdmin((admin) => committed(admin, groupId, topic))).toBe('10')
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

test('stop() stops the consumer and emits STOP; pause() refuses before run() and after stop()', async () => {
  const topic = unique('t')
  const groupId = unique('g')
  cluster.createTopic(topic, 1, 1)
  const consumer = kafka.consumer({ groupId })
  const stopped = nextEvent(consumer, consumer.events.STOP)
  const joined = nextEvent(consumer, consumer.events.GROUP_JOIN)
  try {
    const pauseError = () => { try { consumer.pause([{ topic }]); return null } catch (e) { return e } }
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    // As kafkajs: pause() and resume() need a running consumer.
    const before = pauseError()
    expect(before).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(before.message).toBe('Consumer group was not initialized, consumer#run must be called first')
    await consumer.run({ eachMessage: async () => {} })
    await within(20000, joined, 'GROUP_JOIN')
    expect(pauseError()).toBeNull()
    consumer.resume([{ topic }])
    await consumer.stop()
    const event = await within(5000, stopped, 'STOP')
    expect(event.type).toBe(consumer.events.STOP)
    expect(event.type).toBe('consumer.stop')
    expect(pauseError()).toBeInstanceOf(KafkaJSNonRetriableError)
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

test('a handler may still pause() while stop() waits for it; once stopped, pause() refuses', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, [{ value: 'a' }])
  const consumer = kafka.consumer({ groupId: unique('g') })
  const handled = deferred()
  let stopping = null
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async () => {
      if (stopping) return
      stopping = consumer.stop()
      try { consumer.pause([{ topic }]); handled.resolve(null) } catch (e) { handled.resolve(e) }
    } })
    expect(await within(20000, handled.promise, 'the handler')).toBeNull()
    await stopping
    expect(() => consumer.pause([{ topic }])).toThrow(KafkaJSNonRetriableError)
  } finally {
    await consumer.disconnect()
  }
})

test('client methods work detached from their client, as kafkajs\'s closures do (NestJS hands out getConsumer()/getProducer())', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  const { connect, send, disconnect } = kafka.producer()
  await connect()
  try {
    expect(await send({ topic, messages: [{ value: 'a' }] })).toEqual([expect.objectContaining({ topicName: topic, baseOffset: '0' })])
  } finally {
    await disconnect()
  }
  const committedGroup = unique('g')
  const consumer = kafka.consumer({ groupId: committedGroup })
  const { connect: open, subscribe, run, commitOffsets, pause, paused, disconnect: close } = consumer
  const handled = deferred()
  await open()
  try {
    await subscribe({ topics: [topic], fromBeginning: true })
    await run({ eachMessage: async ({ partition, message }) => {
      await commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }])
      pause([{ topic }])
      handled.resolve(paused())
    } })
    expect(await within(20000, handled.promise, 'the handler')).toEqual([{ topic, partitions: [0] }])
  } finally {
    await close()
  }
  const { connect: adminUp, fetchOffsets, disconnect: adminDown } = kafka.admin()
  await adminUp()
  try {
    expect(await fetchOffsets({ groupId: committedGroup, topics: [topic] })).toEqual([{ topic, partitions: [{ partition: 0, offset: '1', metadata: null }] }])
  } finally {
    await adminDown()
  }
  // kafkajs's clients list their methods as own keys.
  expect(Object.keys(consumer)).toEqual(expect.arrayContaining(['connect', 'subscribe', 'run', 'commitOffsets', 'pause', 'on']))
})

test('a subscribed topic that does not exist yet is created at run(), as kafkajs\'s consumers ask, and a record sent after run() is consumed; allowAutoTopicCreation: false refuses it', async () => {
  const topic = unique('late')
  const refused = unique('late-no')
  // Started first: its request (if it made one) would reach the broker before the other's.
  const strict = kafka.consumer({ groupId: unique('g'), allowAutoTopicCreation: false })
  const consumer = kafka.consumer({ groupId: unique('g') })
  const box = inbox()
  try {
    await strict.connect()
    // As kafkajs's: the missing topic is refused at subscribe() (kafkajs-peer.test.js compares).
    await expect(strict.subscribe({ topics: [refused] })).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic] }) // fromBeginning false: only what comes after the join
    await within(20000, consumer.run({ eachMessage: async ({ message }) => box.push(message.value.toString()) }), 'run()')
    await produce(topic, [{ value: 'after-run' }])
    expect(await box.waitFor((v) => v === 'after-run')).toBe('after-run')
    // The consumer that may not create topics created none.
    expect(await withAdmin((a) => a.listTopics())).not.toContain(refused)
  } finally {
    await consumer.disconnect()
    await strict.disconnect()
  }
}, 60000)
