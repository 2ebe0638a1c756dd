// A failing handler under the kafkajs Consumer contract, on a MockCluster over TCP: the message
// retried without committing past it, crashes (non-retriable, retries spent) compared with kafkajs
// 2.2.4 itself, the CRASH / restart events, and a program's own restart after a crash.
const KafkaJSLib = require('kafkajs')
const { Kafka: KafkaJS } = KafkaJSLib
const ferrokafka = require('..')
const { KafkaJSNonRetriableError } = require('..')
const { range, unique, startCluster, deferred, within, nextEvent, inbox, adminOf, sendWith, committedOffset: committed } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const produce = (topic, messages) => sendWith(kafka, topic, messages)

const withAdmin = (fn, client = kafka) => adminOf(client, fn)

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

test.each([
  ['KafkaJSNonRetriableError', (lib, m) => new lib.KafkaJSNonRetriableError(m)],
  // kafkajs never retries the errors it deems unrecoverable (a programming error stays one).
  ['TypeError', (lib, m) => new TypeError(m)],
])('a handler\'s %s crashes the consumer at once, as in kafkajs: STOP, DISCONNECT, then CRASH with a KafkaJSNonRetriableError', async (_, makeError) => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, [{ value: 'a' }, { value: 'b' }])
  /** Runs one library's consumer until its CRASH; returns what a program could observe. */
  const observe = async (lib, client) => {
    const restartCalls = []
    const consumer = client.consumer({ groupId: unique('g'), retry: { retries: 3, initialRetryTime: 50, restartOnFailure: async () => { restartCalls.push(1); return true } } })
    const seen = { deliveries: [], events: [] }
    const crashed = nextEvent(consumer, consumer.events.CRASH)
    for (const name of ['STOP', 'DISCONNECT', 'CRASH']) consumer.on(consumer.events[name], () => seen.events.push(name))
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => {
        seen.deliveries.push(message.offset)
        throw makeError(lib, `fatal ${message.offset}`)
      } })
      const crash = await within(20000, crashed, `${lib === KafkaJSLib ? 'kafkajs' : 'ferrokafka'} CRASH`)
      // Copied now: the disconnect below adds its own DISCONNECT.
      const { error } = crash.payload
      return { deliveries: [...seen.deliveries], events: [...seen.events], restartCalls: restartCalls.length, crash: { restart: crash.payload.restart, name: error.name, message: error.message, cause: error.cause?.name } }
    } finally {
      await consumer.disconnect()
    }
  }
  const ours = await observe(ferrokafka, kafka)
  const theirs = await observe(KafkaJSLib, new KafkaJS({ brokers: cluster.brokers, logLevel: 0 }))
  expect(ours).toEqual(theirs)
  expect(ours).toEqual({
    deliveries: ['0'], events: ['STOP', 'DISCONNECT', 'CRASH'], restartCalls: 0,
    crash: { restart: false, name: 'KafkaJSNonRetriableError', message: 'fatal 0', cause: expect.any(String) },
  })
})

test('after a crash that does not restart, the program\'s own connect, subscribe and run() from the CRASH listener consume on from the failed message', async () => {
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, [{ value: 'a' }, { value: 'b' }, { value: 'c' }])
  // A short session: on MockCluster the rejoin waits out the crashed member's session (FACTS.md).
  const consumer = kafka.consumer({ groupId: unique('g'), sessionTimeout: 6000, heartbeatInterval: 500, retry: { retries: 0 } })
  const second = inbox()
  const events = []
  for (const name of ['STOP', 'DISCONNECT', 'CRASH', 'GROUP_JOIN']) consumer.on(consumer.events[name], () => events.push(name))
  const restarted = deferred()
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return
    // The setup a program runs again (subscribe() names the topic a second time).
    ;(async () => {
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => second.push(message.offset) })
    })().then(restarted.resolve, restarted.reject)
  })
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => {
      if (message.offset === '1') throw new KafkaJSNonRetriableError('fatal')
    } })
    await within(30000, restarted.promise, 'the second run()')
    await second.waitFor((offset) => offset === '2', 20000)
    // Offset 0 was handled and committed before the crash; the failed message comes again.
    expect(second.seen).toEqual(['1', '2'])
    // The crash's own disconnect came before CRASH; the second run joined and was left running.
    expect(events).toEqual(['GROUP_JOIN', 'STOP', 'DISCONNECT', 'CRASH', 'GROUP_JOIN'])
  } finally {
    await consumer.disconnect()
  }
}, 70000)

test('a consumer without a retry of its own makes kafkajs\'s 6 attempts (retries 5 over the client\'s), then CRASH restarting, then CONNECT', async () => {
  // kafkajs 2.2.4's consumer() defaults `retry` to { retries: 5 } merged over the client's; its
  // restart after the crash emits CONNECT (what NestJS's ServerKafka reads as "connected").
  const topic = unique('t')
  cluster.createTopic(topic, 1, 1)
  await produce(topic, [{ value: 'poison' }])
  const client = new ferrokafka.Kafka({ brokers: cluster.brokers, logLevel: 0, retry: { retries: 1, initialRetryTime: 50 } })
  const consumer = client.consumer({ groupId: unique('g') })
  let attempts = 0
  const events = []
  for (const name of ['CRASH', 'CONNECT']) consumer.on(consumer.events[name], () => events.push(name))
  const crashed = nextEvent(consumer, consumer.events.CRASH)
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async () => { attempts++; throw new Error('always') } })
    const crash = await within(30000, crashed, 'CRASH')
    expect(attempts).toBe(6)
    expect(crash.payload).toMatchObject({ restart: true, error: { name: 'KafkaJSNumberOfRetriesExceeded', retryCount: 5, cause: { message: 'always' } } })
    await within(30000, nextEvent(consumer, consumer.events.CONNECT), 'CONNECT after the crash')
    expect(events).toEqual(['CONNECT', 'CRASH', 'CONNECT'])
  } finally {
    await consumer.disconnect()
  }
}, 90000)
