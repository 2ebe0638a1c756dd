// The event layer's failure handling on a MockCluster over TCP: Rust's retry and dead-letter
// policy seen through the bus (backoff, NonRetryableError, exhausted retries with every dlq-*
// header, raw non-UTF-8 bytes, one DLQ topic for all), the circuit breaker, and a dead-letter
// write that fails while the DLQ partition has no leader, and a burst of dead letters from one batch.
const {
  initializeEventBus, EventProducer, EventConsumer, NonRetryableError, EventValidationError,
} = require('..')
const { unique, deferred, within, inbox, range } = require('./helpers')
const support = require('./events-support')
const {
  DLQ_HEADERS, domain, createTopics, readTopic, headerText, committed, highWatermark, committedReaches, withBus,
  domainEvent,
} = support

let cluster, kafka, cfg
beforeAll(() => ({ cluster, kafka, cfg } = support.start('events-failures-test')))
afterAll(() => cluster.close())

describe('retries and the dead-letter queue', () => {
  test('a handler failing twice then succeeding sees attempt 1, 2, 3, with gaps >= the backoff', async () => {
    const type = `${domain('rt')}.created`
    createTopics(type, `dlq.${type}`)
    const attempts = []
    const done = deferred()
    await withBus(async (bus) => {
      await bus.subscribe(unique('g'), type, async (event, context) => {
        attempts.push({ attempt: context.attempt, at: Date.now() })
        if (context.attempt < 3) throw new Error(`transient failure ${context.attempt}`)
        done.resolve()
      }, { retry: { maxRetries: 3, initialRetryTimeMs: 50 } })
      await bus.publish(type, 'agg-1', 'Thing', { n: 1 })
      await within(20000, done.promise, 'the third attempt')
    })
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
    const gap1 = attempts[1].at - attempts[0].at
    const gap2 = attempts[2].at - attempts[1].at
    // Backoff 50 ms then 100 ms (multiplier 2), randomised by the default jitter of ±20%.
    expect(gap1).toBeGreaterThanOrEqual(40)
    expect(gap2).toBeGreaterThanOrEqual(80)
    // Upper bound: the backoff plus generous slack for the redelivery (consumer.rs resumes and
    // seeks a partition so that it does not wait for its broker thread's ~1 s idle wake-up).
    expect(gap1).toBeLessThan(750)
    expect(gap2).toBeLessThan(750)
    expect(await highWatermark(`dlq.${type}`)).toBe('0')
  })

  test('a NonRetryableError goes to the DLQ after exactly one attempt; the next event is handled', async () => {
    const type = `${domain('nr')}.created`
    createTopics(type, `dlq.${type}`)
    const calls = { poison: 0, good: 0 }
    const good = deferred()
    const groupId = unique('g')
    await withBus(async (bus) => {
      await bus.subscribe(groupId, type, async (event) => {
        if (event.data.poison) {
          calls.poison++
          throw new NonRetryableError('order is invalid for good')
        }
        calls.good++
        good.resolve()
      }, { retry: { maxRetries: 3, initialRetryTimeMs: 50 } })
      await bus.publish(type, 'agg-1', 'Thing', { poison: true })
      await bus.publish(type, 'agg-1', 'Thing', { poison: false })
      await within(20000, good.promise, 'the event after the poison one')
    })
    expect(calls).toEqual({ poison: 1, good: 1 })
    const [dead] = await readTopic(`dlq.${type}`, 1)
    expect(headerText(dead.message, 'dlq-attempts')).toBe('1')
    expect(headerText(dead.message, 'dlq-non-retryable')).toBe('true')
    expect(headerText(dead.message, 'dlq-error-name')).toBe('NonRetryableError')
    expect(headerText(dead.message, 'dlq-error-message')).toBe('order is invalid for good')
    expect(headerText(dead.message, 'dlq-original-offset')).toBe('0')
    expect(JSON.parse(dead.message.value.toString()).data).toEqual({ poison: true })
    expect(await committed(groupId, type)).toBe('2')
  })

  test('a burst of dead letters from one batch: every one written in source order, the offset committed past them', async () => {
    const type = `${domain('burst')}.created`
    createTopics(type, `dlq.${type}`)
    const groupId = unique('g')
    // One batch of 300 events on one partition: every third fails for good.
    await support.produce(type, range(300, (n) => ({ key: 'k', value: JSON.stringify(domainEvent(type, { n })), headers: { 'event-type': type } })))
    const handled = []
    const last = deferred()
    await withBus(async (bus) => {
      await bus.subscribe(groupId, type, async (event) => {
        handled.push(event.data.n)
        if (event.data.n === 299) last.resolve()
        if (event.data.n % 3 === 0) throw new NonRetryableError(`bad ${event.data.n}`)
      }, { fromBeginning: true })
      await within(20000, last.promise, 'the last event')
      const dead = await readTopic(`dlq.${type}`, 100)
      expect(dead.map((d) => JSON.parse(d.message.value.toString()).data.n)).toEqual(range(100, (i) => i * 3))
      expect(dead.map((d) => headerText(d.message, 'dlq-original-offset'))).toEqual(range(100, (i) => String(i * 3)))
      expect(await committedReaches(groupId, type, 300)).toBe('300')
    })
    expect(handled).toEqual(range(300, (n) => n))
  })

  test('an exhausted retryable error goes to dlq.<topic> with every dlq-* header and the original bytes', async () => {
    const type = `${domain('ex')}.created`
    createTopics(type, `dlq.${type}`)
    class PaymentDeclinedError extends Error {
      constructor(message) { super(message); this.name = 'PaymentDeclinedError' }
    }
    const groupId = unique('g')
    const attempts = []
    const before = Date.now()
    await withBus(async (bus) => {
      await bus.subscribe(groupId, type, async (event, context) => {
        attempts.push(context.attempt)
        throw new PaymentDeclinedError('card declined: insufficient funds')
      }, { retry: { maxRetries: 2, initialRetryTimeMs: 20 } })
      await bus.publish(type, 'agg-dlq-1', 'Payment', { amount: 12 }, { correlationId: 'corr-dlq-1' })
      await readTopic(`dlq.${type}`, 1)
    })
    expect(attempts).toEqual([1, 2, 3])
    const [original] = await readTopic(type, 1)
    const [dead] = await readTopic(`dlq.${type}`, 1)
    const m = dead.message
    for (const name of DLQ_HEADERS) expect({ name, present: m.headers[name] !== undefined }).toEqual({ name, present: true })
    expect(headerText(m, 'dlq-original-topic')).toBe(type)
    expect(headerText(m, 'dlq-original-partition')).toBe('0')
    expect(headerText(m, 'dlq-original-offset')).toBe('0')
    expect(headerText(m, 'dlq-original-timestamp')).toBe(original.message.timestamp)
    expect(headerText(m, 'dlq-consumer-group')).toBe(groupId)
    expect(headerText(m, 'dlq-error-name')).toBe('PaymentDeclinedError')
    expect(headerText(m, 'dlq-error-message')).toBe('card declined: insufficient funds')
    expect(headerText(m, 'dlq-error-stack')).toMatch(/PaymentDeclinedError: card declined: insufficient funds/)
    const failedAt = Date.parse(headerText(m, 'dlq-failed-at'))
    expect(headerText(m, 'dlq-failed-at')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(failedAt).toBeGreaterThanOrEqual(before - 1000)
    expect(failedAt).toBeLessThanOrEqual(Date.now() + 1000)
    expect(headerText(m, 'dlq-attempts')).toBe('3')
    expect(headerText(m, 'dlq-correlation-id')).toBe('corr-dlq-1')
    expect(headerText(m, 'dlq-non-retryable')).toBe('false')
    // The original record, byte for byte, and its own headers.
    expect(Buffer.compare(m.key, original.message.key)).toBe(0)
    expect(m.key.toString()).toBe('agg-dlq-1')
    expect(Buffer.compare(m.value, original.message.value)).toBe(0)
    expect(headerText(m, 'event-type')).toBe(type)
    expect(headerText(m, 'correlation-id')).toBe('corr-dlq-1')
    expect(await committed(groupId, type)).toBe('1')
  })

  test('raw non-UTF-8 bytes on a subscribed topic: unparseable, non-retryable, dead-lettered with the bytes intact', async () => {
    const topic = unique('raw')
    createTopics(topic, `dlq.${topic}`)
    const key = Buffer.from([0xc3, 0x28, 0x00, 0xff])
    const value = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc0, 0xaf, 0x7b, 0x22])
    const calls = []
    const producer = new EventProducer(cfg)
    await producer.connect()
    try {
      await withBus(async (bus) => {
        await bus.subscribe(unique('g'), '*', async (event) => calls.push(event), { topics: [topic], retry: { maxRetries: 3, initialRetryTimeMs: 50 } })
        await producer.send(topic, { key, value, headers: { origin: 'legacy-system' } })
        await readTopic(`dlq.${topic}`, 1)
      })
    } finally {
      await producer.disconnect()
    }
    expect(calls).toEqual([])
    const [dead] = await readTopic(`dlq.${topic}`, 1)
    expect(Buffer.compare(dead.message.key, key)).toBe(0)
    expect(Buffer.compare(dead.message.value, value)).toBe(0)
    expect(headerText(dead.message, 'origin')).toBe('legacy-system')
    expect(headerText(dead.message, 'dlq-error-name')).toBe('EventValidationError')
    expect(headerText(dead.message, 'dlq-error-message')).toMatch(/not JSON/)
    expect(headerText(dead.message, 'dlq-non-retryable')).toBe('true')
    expect(headerText(dead.message, 'dlq-attempts')).toBe('1')
    expect(headerText(dead.message, 'dlq-original-topic')).toBe(topic)
  })

  test('the dlqTopic option sends the dead letters of every subscribed topic to one topic', async () => {
    const t1 = unique('one')
    const t2 = unique('two')
    const shared = unique('all-dead')
    createTopics(t1, t2, shared, `dlq.${t1}`, `dlq.${t2}`)
    const producer = new EventProducer(cfg)
    await producer.connect()
    try {
      await withBus(async (bus) => {
        await bus.subscribe(unique('g'), '*', async () => { throw new NonRetryableError('no') }, { topics: [t1, t2], dlqTopic: shared })
        await producer.publishEvent(t1, domainEvent('x.one', { n: 1 }), 'k1')
        await producer.publishEvent(t2, domainEvent('x.two', { n: 2 }), 'k2')
        await readTopic(shared, 2)
      })
    } finally {
      await producer.disconnect()
    }
    const dead = await readTopic(shared, 2)
    expect(dead.map((d) => headerText(d.message, 'dlq-original-topic')).sort()).toEqual([t1, t2].sort())
    expect(await highWatermark(`dlq.${t1}`)).toBe('0')
    expect(await highWatermark(`dlq.${t2}`)).toBe('0')
  })

  test('KAFKA_DLQ_TOPIC sends dead letters to one topic for a bus created while it is set', async () => {
    const type = `${domain('envdlq')}.created`
    const envDlq = unique('env-dlq')
    createTopics(type, envDlq, `dlq.${type}`)
    const before = process.env.KAFKA_DLQ_TOPIC
    process.env.KAFKA_DLQ_TOPIC = envDlq
    let bus
    try {
      bus = await initializeEventBus(cfg)
    } finally {
      if (before === undefined) delete process.env.KAFKA_DLQ_TOPIC
      else process.env.KAFKA_DLQ_TOPIC = before
    }
    try {
      await bus.subscribe(unique('g'), type, async () => { throw new NonRetryableError('rejected') })
      await bus.publish(type, 'agg-1', 'Thing', { n: 1 })
      const [dead] = await readTopic(envDlq, 1)
      expect(headerText(dead.message, 'dlq-original-topic')).toBe(type)
      expect(headerText(dead.message, 'dlq-error-message')).toBe('rejected')
    } finally {
      await bus.shutdown()
    }
    expect(await highWatermark(`dlq.${type}`)).toBe('0')
  })
})

describe('circuit breaker', () => {
  test('CIRCUIT_OPEN then CIRCUIT_HALF_OPEN while the handler fails (nothing dead-lettered), CIRCUIT_CLOSED once it succeeds', async () => {
    const topic = unique('cb')
    const dlq = `dlq.${topic}`
    createTopics(topic, dlq)
    // maxRetries 2: without the breaker the third failure would dead-letter the message.
    const consumer = new EventConsumer(cfg, {
      groupId: unique('g'), fromBeginning: true,
      retry: { maxRetries: 2, initialRetryTimeMs: 20 }, circuitBreaker: { failureThreshold: 3, cooldownMs: 500 },
    })
    const events = inbox()
    const raw = consumer.raw
    for (const name of ['CIRCUIT_OPEN', 'CIRCUIT_HALF_OPEN', 'CIRCUIT_CLOSED', 'DEAD_LETTER']) {
      raw.on(raw.events[name], (e) => events.push({ name, at: Date.now(), payload: e.payload }))
    }
    let healthy = false
    const calls = []
    const handled = deferred()
    consumer.on(topic, async (message, context) => {
      calls.push(context.attempt)
      if (!healthy) throw new Error('downstream unavailable')
      handled.resolve(message.value.toString())
    })
    const producer = new EventProducer(cfg)
    await producer.connect()
    try {
      await producer.send(topic, { key: 'k', value: 'payment-1' })
      await consumer.run()
      const count = (name) => events.seen.filter((e) => e.name === name).length
      const open1 = await events.waitFor((e) => e.name === 'CIRCUIT_OPEN', 20000, 'CIRCUIT_OPEN')
      expect(open1.payload).toEqual(expect.objectContaining({ cooldownMs: 500 }))
      expect(calls).toEqual([1, 2, 3])
      const half1 = await events.waitFor((e) => e.name === 'CIRCUIT_HALF_OPEN', 10000, 'CIRCUIT_HALF_OPEN')
      // The events reach JS on the next fetch: allow a little slack on the 500 ms cool-down.
      expect(half1.at - open1.at).toBeGreaterThanOrEqual(400)
      // The probe fails: the breaker opens again (a half-open failure re-opens at once).
      await events.waitFor((e) => e.name === 'CIRCUIT_OPEN' && e !== open1, 10000, 'the second CIRCUIT_OPEN')
      expect(count('DEAD_LETTER')).toBe(0)
      expect(await highWatermark(dlq)).toBe('0')
      healthy = true
      expect(await within(10000, handled.promise, 'the successful probe')).toBe('payment-1')
      await events.waitFor((e) => e.name === 'CIRCUIT_CLOSED', 10000, 'CIRCUIT_CLOSED')
      expect(count('CIRCUIT_HALF_OPEN')).toBeGreaterThanOrEqual(2)
      expect(calls.length).toBeGreaterThan(3)
      expect(count('DEAD_LETTER')).toBe(0)
    } finally {
      await consumer.disconnect()
      await producer.disconnect()
    }
    expect(await highWatermark(dlq)).toBe('0')
  })
})

test('with no retries, every event dead-lettered one fetch at a time: the failureThreshold-th failure in a row opens the breaker', async () => {
  const topic = unique('cb0')
  createTopics(topic, `dlq.${topic}`)
  const consumer = new EventConsumer(cfg, { groupId: unique('g'), fromBeginning: true, retry: { maxRetries: 0 }, circuitBreaker: { failureThreshold: 3, cooldownMs: 60_000 } })
  const order = inbox()
  const raw = consumer.raw
  for (const name of ['CIRCUIT_OPEN', 'DEAD_LETTER']) raw.on(raw.events[name], () => order.push(name))
  consumer.on(topic, async () => { throw new Error('downstream unavailable') })
  const producer = new EventProducer(cfg)
  await producer.connect()
  try {
    await consumer.run()
    // One at a time, each after the last was dead-lettered: every fetch holds a single failure.
    for (let i = 0; i < 2; i++) {
      await producer.send(topic, { key: 'k', value: `e${i}` })
      await order.waitFor(() => order.seen.filter((x) => x === 'DEAD_LETTER').length === i + 1, 20000, `dead letter ${i + 1}`)
    }
    // The third failure in a row opens the breaker instead of filling the DLQ.
    await producer.send(topic, { key: 'k', value: 'e2' })
    await order.waitFor((name) => name === 'CIRCUIT_OPEN', 20000, 'CIRCUIT_OPEN')
    expect(order.seen).toEqual(['DEAD_LETTER', 'DEAD_LETTER', 'CIRCUIT_OPEN'])
  } finally {
    await consumer.disconnect()
    await producer.disconnect()
  }
})

describe('dead-letter topic unavailable', () => {
  test('while the DLQ partition has no leader the source offset stays at the failing message; restored, the record lands and the offset moves on', async () => {
    const type = `${domain('dd')}.created`
    const dlq = `dlq.${type}`
    createTopics(type, dlq)
    const groupId = unique('g')
    const handled = inbox()
    const poisonSeen = deferred()
    let poisonCalls = 0
    await withBus(async (bus) => {
      await bus.subscribe(groupId, type, async (event) => {
        if (event.data.poison) {
          poisonCalls++
          poisonSeen.resolve()
          throw new NonRetryableError('cannot be processed')
        }
        handled.push(event.data.n)
      }, { retry: { maxRetries: 1, initialRetryTimeMs: 50 } })
      await bus.publish(type, 'agg', 'Thing', { n: 0 })
      await handled.waitFor((n) => n === 0)
      expect(await committedReaches(groupId, type, 1)).toBe('1')

      cluster.setPartitionLeader(dlq, 0, -1)
      let restored = false
      try {
        await bus.publish(type, 'agg', 'Thing', { poison: true }) // offset 1
        await within(20000, poisonSeen.promise, 'the failing message')
        // A negative assertion needs a window: for 1.5 s the committed offset never passes 1.
        const until = Date.now() + 1500
        while (Date.now() < until) {
          expect(await committed(groupId, type)).toBe('1')
          await new Promise((r) => setTimeout(r, 250))
        }
        cluster.setPartitionLeader(dlq, 0, 1)
        restored = true
      } finally {
        if (!restored) cluster.setPartitionLeader(dlq, 0, 1)
      }
      const [dead] = await readTopic(dlq, 1)
      expect(headerText(dead.message, 'dlq-original-offset')).toBe('1')
      expect(JSON.parse(dead.message.value.toString()).data).toEqual({ poison: true })
      // The partition moved on past the dead-lettered message.
      await bus.publish(type, 'agg', 'Thing', { n: 2 })
      await handled.waitFor((n) => n === 2)
      expect(poisonCalls).toBeGreaterThanOrEqual(1)
    })
    expect(handled.seen).toEqual([0, 2])
    expect(await committed(groupId, type)).toBe('3')
  })

  // event-consumer.ts: a handler's throw goes through the retry and dead-letter policy "never lost
  // and never blocking other partitions". The DLQ producer waits up to its 30 s message timeout
  // for a leader, so a consumer loop that waits on that write would not finish within 5 s.
  test('while a dead-letter write waits for the DLQ leader, the other partitions go on', async () => {
    const type = `${domain('blk')}.created`
    const dlq = `dlq.${type}`
    cluster.createTopic(type, 2, 1)
    createTopics(dlq)
    const handled = inbox()
    const poisonSeen = deferred()
    const producer = kafka.producer()
    await producer.connect()
    const event = (id, data) => JSON.stringify({ id, type, aggregateId: id, aggregateType: 'Thing', version: 1, data, metadata: {} })
    try {
      await withBus(async (bus) => {
        await bus.subscribe(unique('g'), type, async (e, context) => {
          if (e.data.poison) {
            poisonSeen.resolve()
            throw new NonRetryableError('cannot be processed')
          }
          handled.push({ partition: context.partition, id: e.id })
        })
        cluster.setPartitionLeader(dlq, 0, -1)
        try {
          await producer.send({ topic: type, messages: [{ partition: 0, key: 'p0', value: event('poison-0', { poison: true }) }] })
          await within(20000, poisonSeen.promise, 'the failing message on partition 0')
          await producer.send({ topic: type, messages: [{ partition: 1, key: 'p1', value: event('ok-1', { n: 1 }) }] })
          const other = await handled.waitFor((x) => x.id === 'ok-1', 5000, 'the partition-1 event while the DLQ write is pending')
          expect(other.partition).toBe(1)
        } finally {
          cluster.setPartitionLeader(dlq, 0, 1)
        }
        await readTopic(dlq, 1)
      })
    } finally {
      await producer.disconnect()
    }
  })
})
