// The event layer on a MockCluster over TCP: envelopes (createEvent, parseDomainEvent), the
// EventBus (publish forms, keys and headers, subscribe-then-publish, wildcards, unmatched events,
// domain routing, correlation/causation/traceparent) and schema validation (validateEvent(Safe),
// per-type schemas on a subscription). Failures, retries and dead letters: events-failures.test.js.
const {
  initializeEventBus, EventBus, EventProducer, createEvent, parseDomainEvent, NonRetryableError,
  EventValidationError, validateEvent, validateEventSafe, CorrelationTracker,
} = require('..')
const { unique, deferred, within, inbox, consumeUntil } = require('./helpers')
const support = require('./events-support')
const {
  UUID_V4, domain, createTopics, ensureTopic, readTopic, headerText, committed, withBus, domainEvent,
} = support

let cluster, kafka, cfg
beforeAll(() => ({ cluster, kafka, cfg } = support.start('events-test')))
afterAll(() => cluster.close())

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

  test('bad input is refused naming what is wrong; a group subscribed twice on one bus is refused (its two consumers would split the events)', async () => {
    const type = `${domain('dup')}.created`
    createTopics(type)
    await withBus(async (bus) => {
      const refusal = (p) => p.then(() => null, (e) => [e.name, e.message])
      expect(await refusal(bus.publish({ aggregateId: 'a', data: {} }))).toEqual(['EventValidationError', expect.stringContaining('event.type must be a non-empty string')])
      expect(await refusal(bus.publish(null))).toEqual(['EventValidationError', expect.stringContaining('type must be a non-empty string')])
      expect(await refusal(bus.subscribe('g', type, 'not a function'))).toEqual(['EventValidationError', expect.stringContaining('handler function')])
      expect(await refusal(bus.subscribe('', type, async () => {}))).toEqual(['EventValidationError', expect.stringContaining('groupId')])
      expect(await refusal(bus.subscribe('g', [], async () => {}))).toEqual(['EventValidationError', expect.stringContaining('patterns')])
      expect(await refusal(bus.subscribe(unique('g'), type, async () => {}, { retry: { jitter: 5 } }))).toEqual([expect.any(String), expect.stringContaining('jitter')])
      expect(await refusal(bus.subscribe(unique('g'), type, async () => {}, { circuitBreaker: { failureThreshold: 0 } }))).toEqual([expect.any(String), expect.stringContaining('failureThreshold')])
      const groupId = unique('g')
      await bus.subscribe(groupId, type, async () => {})
      expect(await refusal(bus.subscribe(groupId, type, async () => {}))).toEqual(['EventValidationError', expect.stringContaining(`group "${groupId}" is already subscribed`)])
    })
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
