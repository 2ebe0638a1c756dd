// The event layer on a MockCluster over TCP: envelopes (createEvent, parseDomainEvent), the
// EventBus (publish forms, keys and headers, subscribe-then-publish, wildcards, unmatched events,
// domain routing, correlation/causation/traceparent), Rust's retry and dead-letter policy seen
// through the bus (backoff, NonRetryableError, exhausted retries with every dlq-* header, raw
// non-UTF-8 bytes, one DLQ topic for all, schema validation), validateEvent(Safe), the circuit
// breaker, and a dead-letter write that fails while the DLQ partition has no leader.
const {
  logLevel, initializeEventBus, EventBus, EventProducer, EventConsumer, createEvent, parseDomainEvent,
  NonRetryableError, EventValidationError, validateEvent, validateEventSafe, CorrelationTracker,
} = require('..')
const { unique, startCluster, deferred, within, inbox, adminOf, consumeUntil } = require('./helpers')

let cluster, kafka, cfg
beforeAll(() => {
  ({ cluster, kafka } = startCluster())
  cfg = { brokers: cluster.brokers, clientId: 'events-test', logLevel: logLevel.NOTHING }
})
afterAll(() => cluster.close())

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i
const DLQ_HEADERS = [
  'dlq-original-topic', 'dlq-original-partition', 'dlq-original-offset', 'dlq-original-timestamp',
  'dlq-consumer-group', 'dlq-error-name', 'dlq-error-message', 'dlq-error-stack', 'dlq-failed-at',
  'dlq-attempts', 'dlq-correlation-id', 'dlq-non-retryable',
]

/** A fresh event domain (the part of an event type before the first dot); no dots inside. */
const domain = (prefix = 'd') => unique(prefix).replace(/[^a-zA-Z0-9]/g, '')

const createTopics = (...topics) => { for (const t of topics) cluster.createTopic(t, 1, 1) }
/** For topics several tests share (fsm.projects): creates it unless it exists. */
const ensureTopic = (topic) => {
  try { cluster.createTopic(topic, 1, 1) } catch (e) { if (!/already exists/i.test(e.message)) throw e }
}

/** Every record of `topic` until `n` were read, with a plain core consumer. */
const readTopic = (topic, n, timeoutMs = 20000) =>
  consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= n, timeoutMs })

const headerText = (message, name) => message.headers[name] === undefined ? undefined : message.headers[name].toString()

/** The committed offset of partition 0 of `topic` for `groupId` ('-1' when none). */
const committed = (groupId, topic) => adminOf(kafka, async (admin) => {
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  return offsets.find((o) => o.topic === topic).partitions.find((p) => p.partition === 0).offset
})

/** The high watermark of partition 0 of `topic`. */
const highWatermark = (topic) => adminOf(kafka, async (admin) => (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 0).high)

/**
 * Polls the committed offset until it reaches `target`. The consumer's COMMIT_OFFSETS event does
 * not fire (see the report), so the broker is asked; bounded by `ms`.
 */
async function committedReaches(groupId, topic, target, ms = 15000) {
  const until = Date.now() + ms
  for (;;) {
    const offset = await committed(groupId, topic)
    if (Number(offset) >= target) return offset
    if (Date.now() > until) throw new Error(`committed offset of ${groupId} on ${topic} stayed ${offset}, expected ${target}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Runs `fn(bus)` with a started bus, shutting it down afterwards. */
async function withBus(fn, config = cfg) {
  const bus = await initializeEventBus(config)
  try {
    return await fn(bus)
  } finally {
    await bus.shutdown()
  }
}

/** A domain event as `publish(event)` takes it. */
const domainEvent = (type, data, extra = {}) => ({
  id: CorrelationTracker.generate(), type, aggregateId: `agg-${data.n ?? 0}`, aggregateType: 'Thing', version: 1,
  data, metadata: {}, timestamp: new Date().toISOString(), ...extra,
})

describe('envelopes', () => {
  test('createEvent fills a UUID v4 id, an ISO timestamp and a correlation id', () => {
    const before = Date.now()
    const e = createEvent('policy.created', { id: 'policy-1', premium: 10 }, { userId: 'u-1' })
    expect(e.id).toMatch(UUID_V4)
    expect(e.type).toBe('policy.created')
    expect(e.data).toEqual({ id: 'policy-1', premium: 10 })
    expect(e.aggregateId).toBe('policy-1')
    expect(typeof e.timestamp).toBe('string')
    expect(Date.parse(e.timestamp)).toBeGreaterThanOrEqual(before - 1)
    expect(Date.parse(e.timestamp)).toBeLessThanOrEqual(Date.now() + 1)
    expect(e.metadata.correlationId).toMatch(UUID_V4)
    expect(e.correlationId).toBe(e.metadata.correlationId)
    expect(e.metadata.userId).toBe('u-1')
    // Seed 004's idempotency key: the event's own id, repeated in its metadata.
    expect(e.metadata.eventId).toBe(e.id)
    // A caller's stable key becomes the id of both; a bad one names the field.
    const keyed = createEvent('order.created', {}, { eventId: 'order-7-created' })
    expect([keyed.id, keyed.metadata.eventId]).toEqual(['order-7-created', 'order-7-created'])
    expect(() => createEvent('order.created', {}, { eventId: '' })).toThrow(/metadata\.eventId/)
    expect(() => createEvent('order.created', {}, { eventId: 7 })).toThrow(/metadata\.eventId/)
    // A new id and correlation id per call.
    const other = createEvent('policy.created', {})
    expect(other.id).not.toBe(e.id)
    expect(other.metadata.eventId).toBe(other.id)
    expect(other.metadata.correlationId).not.toBe(e.metadata.correlationId)
    // Inside CorrelationTracker.run the current correlation id is used; an explicit one wins.
    CorrelationTracker.run('corr-outer', () => {
      expect(createEvent('x.y', {}).metadata.correlationId).toBe('corr-outer')
      expect(createEvent('x.y', {}, { correlationId: 'explicit' }).metadata.correlationId).toBe('explicit')
    })
    expect(() => createEvent('', {})).toThrow(/type/)
  })

  test('parseDomainEvent errors name what is wrong', () => {
    const parse = (value) => { try { parseDomainEvent({ value }); return null } catch (e) { return e } }
    const notJson = parse(Buffer.from('{not json'))
    expect(notJson).toBeInstanceOf(EventValidationError)
    expect(notJson).toBeInstanceOf(NonRetryableError)
    expect(notJson.message).toMatch(/not JSON/)

    const noType = parse(JSON.stringify({ id: 'e-1', data: {} }))
    expect(noType).toBeInstanceOf(EventValidationError)
    expect(noType.message).toMatch(/\btype\b/)
    expect(noType.message).not.toMatch(/\bid\b/)
    expect(noType.issues).toEqual([expect.objectContaining({ path: 'type' })])

    const noIdNoData = parse(JSON.stringify({ type: 't.x' }))
    expect(noIdNoData.issues.map((i) => i.path).sort()).toEqual(['data', 'id'])

    expect(parse(null).message).toMatch(/no value/)
    expect(parse('[1,2]').message).toMatch(/not a JSON object/)

    const ok = parseDomainEvent({ value: Buffer.from(JSON.stringify({ id: 'e-2', type: 't.x', payload: { a: 1 } })) })
    expect(ok.data).toEqual({ a: 1 })
    expect(ok.metadata).toEqual({})
  })
})

describe('EventBus publish and subscribe', () => {
  test('both publish forms reach a subscriber; key = aggregateId; event-type, correlation-id, content-type headers', async () => {
    const type = `${domain('pub')}.created`
    createTopics(type)
    const got = inbox()
    const groupId = unique('g')
    await withBus(async (bus) => {
      expect(bus.topicFor(type)).toBe(type)
      await bus.subscribe(groupId, type, async (event, context) => got.push({ event, context }))
      await bus.publish(type, 'agg-5args', 'Policy', { n: 1, premium: 1200 }, { userId: 'user-789' })
      const explicit = domainEvent(type, { n: 2 }, { aggregateId: 'agg-event', metadata: { correlationId: 'corr-explicit' } })
      await bus.publish(explicit)
      await got.waitFor((x) => x.event.data.n === 2, 20000, 'the second event')
      await got.waitFor((x) => x.event.data.n === 1, 20000, 'the first event')
      expect(bus.stats.published).toBe(2)

      const first = got.seen.find((x) => x.event.data.n === 1)
      expect(first.event).toEqual(expect.objectContaining({
        type, aggregateId: 'agg-5args', aggregateType: 'Policy', version: 1, data: { n: 1, premium: 1200 },
      }))
      expect(first.event.id).toMatch(UUID_V4)
      expect(first.event.metadata.userId).toBe('user-789')
      expect(first.event.metadata.correlationId).toMatch(UUID_V4)
      expect(first.context).toEqual(expect.objectContaining({ topic: type, partition: 0, attempt: 1, groupId }))
      expect(first.context.correlationId).toBe(first.event.metadata.correlationId)

      const second = got.seen.find((x) => x.event.data.n === 2)
      expect(second.event.id).toBe(explicit.id)
      expect(second.event.aggregateId).toBe('agg-event')
      expect(second.event.metadata.correlationId).toBe('corr-explicit')
      expect(second.context.correlationId).toBe('corr-explicit')
    })

    // The records themselves, read by a plain core consumer.
    const records = await readTopic(type, 2)
    const byN = (n) => records.find((r) => JSON.parse(r.message.value.toString()).data.n === n).message
    const r1 = byN(1)
    const r2 = byN(2)
    expect(r1.key.toString()).toBe('agg-5args')
    expect(r2.key.toString()).toBe('agg-event')
    expect(headerText(r1, 'event-type')).toBe(type)
    expect(headerText(r1, 'content-type')).toBe('application/json')
    expect(headerText(r1, 'correlation-id')).toBe(JSON.parse(r1.value.toString()).metadata.correlationId)
    expect(headerText(r2, 'correlation-id')).toBe('corr-explicit')
    expect(headerText(r2, 'event-type')).toBe(type)
  })

  test('an event published right after `await subscribe(...)` (no fromBeginning) is never missed', async () => {
    for (let round = 0; round < 2; round++) {
      const type = `${domain('live')}.created`
      createTopics(type)
      await withBus(async (bus) => {
        const got = deferred()
        await bus.subscribe(unique('g'), type, async (event) => got.resolve(event))
        await bus.publish(type, 'agg-1', 'Thing', { round })
        const event = await within(20000, got.promise, `the event of round ${round}`)
        expect(event.data).toEqual({ round })
      })
    }
  })

  test('wildcards: `order.*` and `*.status_changed`; one event reaches two subscriptions in different groups', async () => {
    // Only this test creates topics starting with `order.` or ending in `.status_changed`.
    const types = ['order.created', 'order.status_changed', 'invoice.status_changed', 'orders.created', 'order.cancelled.late']
    createTopics(...types)
    const orders = inbox()
    const statuses = inbox()
    await withBus(async (bus) => {
      await bus.subscribe(unique('g-orders'), 'order.*', async (e) => orders.push(e.type))
      await bus.subscribe(unique('g-status'), ['*.status_changed'], async (e) => statuses.push(e.type))
      for (const t of types) await bus.publish(t, `agg-${t}`, 'Order', { t })
      await orders.waitFor((t) => t === 'order.created')
      await orders.waitFor((t) => t === 'order.status_changed')
      await orders.waitFor((t) => t === 'order.cancelled.late')
      await statuses.waitFor((t) => t === 'order.status_changed')
      await statuses.waitFor((t) => t === 'invoice.status_changed')
    })
    expect(orders.seen.sort()).toEqual(['order.cancelled.late', 'order.created', 'order.status_changed'])
    expect(statuses.seen.sort()).toEqual(['invoice.status_changed', 'order.status_changed'])
  })

  test('`*.status_changed` also receives status_changed events of a mapped domain (projects.* -> fsm.projects)', async () => {
    // The router maps projects.* to fsm.projects; a pattern whose first segment is a wildcard
    // must still cover the mapped domain topics (EventRouter.topicsForPattern returns them).
    ensureTopic('fsm.projects')
    createTopics('shipment.status_changed')
    const statuses = inbox()
    const marker = unique('p')
    await withBus(async (bus) => {
      expect(bus.topicFor('projects.status_changed')).toBe('fsm.projects')
      await bus.subscribe(unique('g-status'), '*.status_changed', async (e) => statuses.push(e))
      await bus.publish('shipment.status_changed', 'shipment-1', 'Shipment', { marker })
      await bus.publish('projects.status_changed', 'project-1', 'Project', { marker })
      await statuses.waitFor((e) => e.type === 'shipment.status_changed' && e.data.marker === marker)
      await statuses.waitFor((e) => e.type === 'projects.status_changed' && e.data.marker === marker, 5000, 'projects.status_changed on fsm.projects')
    })
  })

  test('an event no pattern matches is committed and counted in bus.stats.unmatched', async () => {
    const dom = domain('um')
    const topic = unique('um-topic')
    createTopics(topic)
    const groupId = unique('g')
    const handled = inbox()
    // One topic for the whole domain (KAFKA_<DOMAIN>_TOPIC), so an unmatched type shares the subscribed topic.
    const envKey = `KAFKA_${dom.toUpperCase()}_TOPIC`
    process.env[envKey] = topic
    let bus
    try {
      bus = await initializeEventBus(cfg)
    } finally {
      delete process.env[envKey]
    }
    try {
      expect(bus.topicFor(`${dom}.deleted`)).toBe(topic)
      await bus.subscribe(groupId, `${dom}.created`, async (e) => handled.push(e.type))
      await bus.publish(`${dom}.deleted`, 'a-1', 'Thing', { n: 0 })
      await bus.publish(`${dom}.created`, 'a-1', 'Thing', { n: 1 })
      await handled.waitFor((t) => t === `${dom}.created`)
      expect(bus.stats.unmatched).toBe(1)
      expect(bus.stats.handled).toBe(1)
    } finally {
      await bus.shutdown()
    }
    expect(handled.seen).toEqual([`${dom}.created`])
    // Both offsets are committed: the unmatched event is not redelivered to the group.
    expect(await committed(groupId, topic)).toBe('2')
  })

  test('the domainTopics option routes publish() as it routes topicFor() and subscribe()', async () => {
    const dom = domain('dt')
    const topic = unique('dt-topic')
    createTopics(topic)
    const handled = inbox()
    await withBus(async (bus) => {
      expect(bus.topicFor(`${dom}.created`)).toBe(topic)
      await bus.subscribe(unique('g'), `${dom}.created`, async (e) => handled.push(e))
      const [meta] = await bus.publish(`${dom}.created`, 'a-1', 'Thing', { n: 1 })
      expect(meta.topicName).toBe(topic)
      await handled.waitFor((e) => e.data.n === 1, 10000, 'the event on the mapped topic')
    }, { ...cfg, domainTopics: { [dom]: topic } })
  })

  test('domain routing: projects.* goes to fsm.projects; KAFKA_PROJECTS_TOPIC overrides it for a new bus', async () => {
    ensureTopic('fsm.projects')
    const override = unique('projects-override')
    createTopics(override)
    const before = process.env.KAFKA_PROJECTS_TOPIC
    const mark1 = unique('m')
    const mark2 = unique('m')
    await withBus(async (bus) => {
      expect(bus.topicFor('projects.created')).toBe('fsm.projects')
      expect(bus.topicFor('assignments.made')).toBe('fsm.assignments')
      expect(bus.topicFor('unmapped.created')).toBe('unmapped.created')
      await bus.publish('projects.created', 'project-7', 'Project', { mark: mark1 })
      process.env.KAFKA_PROJECTS_TOPIC = override
      try {
        // The override applies to buses created after it is set.
        expect(bus.topicFor('projects.created')).toBe('fsm.projects')
        await withBus(async (bus2) => {
          expect(bus2.topicFor('projects.created')).toBe(override)
          expect(bus2.topicFor('projects.archived')).toBe(override)
          await bus2.publish('projects.created', 'project-8', 'Project', { mark: mark2 })
        })
      } finally {
        if (before === undefined) delete process.env.KAFKA_PROJECTS_TOPIC
        else process.env.KAFKA_PROJECTS_TOPIC = before
      }
    })
    const onFsm = await consumeUntil(kafka, {
      topics: ['fsm.projects'], done: (s) => s.some((r) => r.message.value.toString().includes(mark1)),
    })
    const rec = onFsm.find((r) => r.message.value.toString().includes(mark1)).message
    expect(rec.key.toString()).toBe('project-7')
    expect(headerText(rec, 'event-type')).toBe('projects.created')
    const onOverride = await readTopic(override, 1)
    expect(JSON.parse(onOverride[0].message.value.toString()).data.mark).toBe(mark2)
    expect(onOverride[0].message.key.toString()).toBe('project-8')
  })

  test('a publish inside a handler carries correlationId, causationId = handled event id, and traceparent', async () => {
    const dom = domain('cc')
    const requested = `${dom}.requested`
    const approved = `${dom}.approved`
    createTopics(requested, approved)
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const incoming = { ...domainEvent(requested, { n: 1 }), metadata: { correlationId: 'corr-chain-1' } }
    const inHandler = deferred()
    const downstream = deferred()
    const producer = new EventProducer(cfg)
    await producer.connect()
    try {
      await withBus(async (bus) => {
        await bus.subscribe(unique('g-a'), requested, async (event, context) => {
          inHandler.resolve({ current: CorrelationTracker.getCorrelationId(), context })
          await bus.publish(approved, event.aggregateId, 'Thing', { approvedFrom: event.id })
        })
        await bus.subscribe(unique('g-b'), approved, async (event, context) => downstream.resolve({ event, context }))
        // A message from elsewhere, with a W3C trace context header.
        await producer.send(requested, {
          key: incoming.aggregateId, value: JSON.stringify(incoming),
          headers: { 'event-type': requested, 'correlation-id': 'corr-chain-1', traceparent },
        })
        const seen = await within(20000, inHandler.promise, 'the first handler')
        expect(seen.current).toBe('corr-chain-1')
        expect(seen.context.headers.traceparent).toBe(traceparent)
        const { event, context } = await within(20000, downstream.promise, 'the downstream event')
        expect(event.data).toEqual({ approvedFrom: incoming.id })
        expect(event.metadata.correlationId).toBe('corr-chain-1')
        expect(event.metadata.causationId).toBe(incoming.id)
        expect(context.correlationId).toBe('corr-chain-1')
        expect(context.headers['correlation-id']).toBe('corr-chain-1')
        expect(context.headers.traceparent).toBe(traceparent)
      })
    } finally {
      await producer.disconnect()
    }
  })
})

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

describe('schema validation', () => {
  /** A Zod-like schema (safeParse): premium must be a positive number, customerId a string. */
  const policySchema = {
    safeParse(value) {
      const issues = []
      if (typeof value?.premium !== 'number' || value.premium <= 0) issues.push({ path: ['premium'], message: 'Expected a positive number' })
      if (typeof value?.customer?.id !== 'string') issues.push({ path: ['customer', 'id'], message: 'Required' })
      return issues.length ? { success: false, error: { issues } } : { success: true, data: value }
    },
  }
  /** The same rules as a Standard Schema (`~standard.validate`), with a `{ key }` path segment. */
  const standardSchema = {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate(value) {
        const issues = []
        if (typeof value?.premium !== 'number' || value.premium <= 0) issues.push({ path: ['premium'], message: 'Expected a positive number' })
        if (typeof value?.customer?.id !== 'string') issues.push({ path: [{ key: 'customer' }, { key: 'id' }], message: 'Required' })
        return issues.length ? { issues } : { value: { ...value, checked: true } }
      },
    },
  }

  test('validateEvent throws an error listing every issue path; validateEventSafe returns { success: false, error }', () => {
    const valid = { premium: 1200, customer: { id: 'c-1' } }
    expect(validateEvent(policySchema, valid)).toEqual(valid)
    expect(validateEventSafe(policySchema, valid)).toEqual({ success: true, data: valid })

    let thrown
    try { validateEvent(policySchema, { premium: -1 }) } catch (e) { thrown = e }
    expect(thrown).toBeInstanceOf(EventValidationError)
    expect(thrown.message).toMatch(/premium/)
    expect(thrown.message).toMatch(/customer\.id/)
    expect(thrown.issues).toEqual([
      { path: 'premium', message: 'Expected a positive number' },
      { path: 'customer.id', message: 'Required' },
    ])

    const safe = validateEventSafe(policySchema, {})
    expect(safe.success).toBe(false)
    expect(safe.error).toBeInstanceOf(EventValidationError)
    expect(safe.error.issues.map((i) => i.path)).toEqual(['premium', 'customer.id'])

    expect(() => validateEvent({}, valid)).toThrow(TypeError)
  })

  test('a Standard Schema object works with validateEvent and validateEventSafe', () => {
    expect(validateEvent(standardSchema, { premium: 5, customer: { id: 'c' } })).toEqual({ premium: 5, customer: { id: 'c' }, checked: true })
    const r = validateEventSafe(standardSchema, { premium: 0 })
    expect(r.success).toBe(false)
    expect(r.error.issues).toEqual([
      { path: 'premium', message: 'Expected a positive number' },
      { path: 'customer.id', message: 'Required' },
    ])
    expect(() => validateEvent(standardSchema, { premium: 0 })).toThrow(/customer\.id/)
  })

  test('options.schemas: an invalid event goes to the DLQ as non-retryable and never reaches the handler', async () => {
    const dom = domain('sch')
    const type = `${dom}.policy_created`
    createTopics(type, `dlq.${type}`)
    const handled = inbox()
    await withBus(async (bus) => {
      await bus.subscribe(unique('g'), type, async (event, context) => handled.push({ event, attempt: context.attempt }), {
        schemas: { [type]: policySchema }, retry: { maxRetries: 3, initialRetryTimeMs: 50 },
      })
      await bus.publish(type, 'p-bad', 'Policy', { premium: -5 })
      await bus.publish(type, 'p-good', 'Policy', { premium: 10, customer: { id: 'c-9' } })
      await handled.waitFor((x) => x.event.aggregateId === 'p-good')
      await readTopic(`dlq.${type}`, 1)
    })
    expect(handled.seen.map((x) => x.event.aggregateId)).toEqual(['p-good'])
    const [dead] = await readTopic(`dlq.${type}`, 1)
    expect(dead.message.key.toString()).toBe('p-bad')
    expect(headerText(dead.message, 'dlq-non-retryable')).toBe('true')
    expect(headerText(dead.message, 'dlq-attempts')).toBe('1')
    expect(headerText(dead.message, 'dlq-error-name')).toBe('EventValidationError')
    expect(headerText(dead.message, 'dlq-error-message')).toMatch(/premium/)
    expect(headerText(dead.message, 'dlq-error-message')).toMatch(/customer\.id/)
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
