// The event bus's deferred parse on a MockCluster over TCP: an event whose envelope Rust found
// sound as it was fetched (src/envelope_check.rs) reaches its handler unparsed, as a Proxy that
// parses on first use (js/events/lazy-event.ts). It must behave as the parsed object would, and
// every record the check doubts must be parsed before its handler, as before.
const util = require('util')
const { Kafka, logLevel, EventValidationError, parseDomainEvent } = require('..')
const { inbox } = require('./helpers')
const support = require('./events-support')
const { domain, createTopics, readTopic, headerText, withBus } = support

let cluster, cfg
beforeAll(() => ({ cluster, cfg } = support.start('events-deferred-test')))
afterAll(() => cluster.close())

/** Sends raw records (value text, headers) to `topic` with a core producer. */
async function sendRaw(topic, records) {
  const producer = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING }).producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: records.map(([value, headers]) => ({ value, headers })) })
  } finally {
    await producer.disconnect()
  }
}

/** Subscribes to `${d}.*` on `topic`, returns the handled `{ event, context }`s. */
async function collect(bus, d, topic, options = {}) {
  const got = inbox()
  await bus.subscribe(`${d}-g`, [`${d}.*`], (event, context) => got.push({ event, context }), { fromBeginning: true, topics: [topic], ...options })
  return got
}

test('a sound envelope is parsed on first use (not for its type), and then acts as the parsed object', async () => {
  const d = domain('lazy')
  const type = `${d}.created`
  createTopics(type, `dlq.${type}`)
  // Keys that Object.prototype has too stay own data properties, as JSON.parse makes them.
  const body = { id: 'e-1', type, aggregateId: 'a-1', aggregateType: 'Thing', version: 1, data: { n: 1, list: [1, { x: null }], 'é': 'ü' }, metadata: {}, timestamp: 't', extra: true, constructor: 'c', toString: 's' }
  await sendRaw(type, [[JSON.stringify(body), { 'event-type': type }]])
  const [{ message: raw }] = await readTopic(type, 1)
  const parsed = JSON.parse(raw.value.toString())
  await withBus(async (bus) => {
    const got = await collect(bus, d, type)
    const { event } = await got.waitFor(() => true)
    expect(util.types.isProxy(event)).toBe(true)
    // The type is the header's (Rust found them equal): reading it parses nothing, so the target,
    // which util.inspect shows without its custom hook, is still empty.
    expect(event.type).toBe(type)
    expect(util.inspect(event, { customInspect: false })).toBe('{}')
    // Printed: the parsed object, not the empty target.
    expect(util.inspect(event, { depth: 5 })).toBe(util.inspect(parsed, { depth: 5 }))
    expect(Object.keys(event)).toEqual(Object.keys(parsed))
    expect(JSON.stringify(event)).toBe(JSON.stringify(parsed))
    expect({ ...event }).toStrictEqual(parsed)
    expect(event).toStrictEqual(parsed)
    expect(util.isDeepStrictEqual(event, parsed)).toBe(true)
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype)
    expect(['data' in event, 'missing' in event, Object.prototype.hasOwnProperty.call(event, 'extra')]).toEqual([true, false, true])
    expect([event.constructor, event.toString]).toEqual(['c', 's'])
    event.data.list.push(2)
    event.added = 'yes'
    delete event.extra
    expect(event.data.list).toEqual([1, { x: null }, 2])
    expect([event.added, event.extra]).toEqual(['yes', undefined])
    Object.freeze(event)
    expect(Object.isFrozen(event)).toBe(true)
    expect(() => { 'use strict'; event.id = 'changed' }).toThrow(TypeError)
    // What a Proxy cannot be: cloned by the structured clone algorithm (README; `deferParse: false`).
    expect(() => structuredClone(event)).toThrow()
    expect(structuredClone({ ...event }).data.list).toEqual([1, { x: null }, 2])
  }, cfg)
})

test('deferParse: false hands every handler a plain parsed object', async () => {
  const d = domain('eager')
  const type = `${d}.created`
  createTopics(type, `dlq.${type}`)
  await withBus(async (bus) => {
    const got = await collect(bus, d, type, { deferParse: false })
    await bus.publish(type, 'a-1', 'Thing', { n: 1 })
    const { event } = await got.waitFor(() => true)
    expect(util.types.isProxy(event)).toBe(false)
    expect(structuredClone(event).data).toEqual({ n: 1 })
  }, cfg)
})

test('a record the check doubts is parsed before its handler: routed by its body, correlation from its body, errors to the DLQ', async () => {
  const d = domain('doubt')
  const type = `${d}.created`
  createTopics(type, `dlq.${type}`)
  const event = (id, extra = {}) => JSON.stringify({ id, type, data: { id }, metadata: {}, ...extra })
  await sendRaw(type, [
    [event('header-differs'), { 'event-type': `${d}.other` }], // routed by the body's type
    [event('no-header'), {}],
    [event('body-correlation', { metadata: { correlationId: 'corr-body' } }), { 'event-type': type }],
    [JSON.stringify({ id: 'proto', type, data: 1, ['__proto__']: { polluted: true } }), { 'event-type': type }],
    ['{"id":"not json"', { 'event-type': type }],
    [JSON.stringify({ id: '', type, data: 1 }), { 'event-type': type }],
    [event('last'), { 'event-type': type }],
  ])
  await withBus(async (bus) => {
    const got = await collect(bus, d, type)
    await got.waitFor((h) => h.event.id === 'last')
    const handled = got.seen.map(({ event, context }) => [event.id, event.type, util.types.isProxy(event), context.correlationId ?? null])
    expect(handled).toEqual([
      ['header-differs', type, false, null],
      ['no-header', type, false, null],
      ['body-correlation', type, false, 'corr-body'],
      ['proto', type, false, null],
      ['last', type, true, null],
    ])
    // The own __proto__ key stays a key, as JSON.parse makes it.
    expect(Object.getPrototypeOf(got.seen[3].event)).toBe(Object.prototype)
    expect(Object.keys(got.seen[3].event)).toContain('__proto__')
    const dead = (await readTopic(`dlq.${type}`, 2)).map((r) => r.message)
    expect(dead.map((m) => headerText(m, 'dlq-error-name'))).toEqual([EventValidationError.name, EventValidationError.name])
    expect(headerText(dead[0], 'dlq-error-message')).toMatch(/not JSON/)
    expect(headerText(dead[1], 'dlq-error-message')).toMatch(/id must be a non-empty string/)
    expect(dead.map((m) => headerText(m, 'dlq-attempts'))).toEqual(['1', '1'])
  }, cfg)
})

test('a publish inside the handler of a deferred event takes its correlation id and its id as causation', async () => {
  const d = domain('cause')
  const [type, next] = [`${d}.created`, `${d}.followed`]
  createTopics(type, next, `dlq.${type}`, `dlq.${next}`)
  await withBus(async (bus) => {
    const got = inbox()
    await bus.subscribe(`${d}-g`, [type], async (event) => {
      got.push({ deferred: util.types.isProxy(event) })
      await bus.publish(next, 'a-1', 'Thing', { after: 1 })
    }, { fromBeginning: true, topics: [type] })
    const published = await bus.publish(type, 'a-1', 'Thing', { n: 1 }, { correlationId: 'corr-1' })
    expect(published).toHaveLength(1)
    expect((await got.waitFor(() => true)).deferred).toBe(true)
    const [{ message: first }] = await readTopic(type, 1)
    const [{ message: followed }] = await readTopic(next, 1)
    const cause = JSON.parse(first.value.toString())
    const effect = JSON.parse(followed.value.toString())
    expect(effect.metadata.causationId).toBe(cause.id)
    expect(effect.metadata.correlationId).toBe('corr-1')
    expect(headerText(followed, 'correlation-id')).toBe('corr-1')
  }, cfg)
})

test("each handler's ctx.headers are its record's own, though the bus's rows store a repeated header string once", async () => {
  const d = domain('hdr')
  const type = `${d}.created`
  createTopics(type, `dlq.${type}`)
  const sent = Array.from({ length: 40 }, (_, i) => {
    const headers = { 'event-type': type, 'content-type': 'application/json', n: String(i % 3), empty: '', same: i % 2 ? 'event-type' : 'n' }
    // Every fifth record lists its headers in another order, every seventh has one more.
    const entries = Object.entries(headers)
    if (i % 5 === 0) entries.reverse()
    if (i % 7 === 0) entries.push([`only-${i}`, `v${i}`])
    return [JSON.stringify({ id: `e${i}`, type, data: { i }, metadata: {} }), Object.fromEntries(entries)]
  })
  await sendRaw(type, sent)
  await withBus(async (bus) => {
    const got = await collect(bus, d, type)
    await got.waitFor((h) => h.event.data.i === 39)
    expect(got.seen.map((h) => h.context.headers)).toEqual(sent.map(([, headers]) => headers))
    expect(got.seen.map((h) => Object.keys(h.context.headers))).toEqual(sent.map(([, headers]) => Object.keys(headers)))
  }, cfg)
})

test('the Rust check and the eager parse agree: every deferred event equals what parseDomainEvent makes of the same bytes', async () => {
  const d = domain('agree')
  const type = `${d}.created`
  createTopics(type, `dlq.${type}`)
  const t = JSON.stringify(type)
  const deep = '['.repeat(200) + ']'.repeat(200)
  // [body, deferred?]: escapes, duplicates, null or missing metadata, odd strings and numbers.
  const cases = [
    [`{"\\u0069d":"e0","type":${t},"data":1}`, true],
    [`{"id":"first","id":"e1","type":${t},"data":1}`, true],
    [`{"id":"e2","type":${t},"data":1,"metadata":null}`, true],
    [`{"id":"e3","type":${t},"data":{"s":"\\ud800 lone","n":1e400,"m":-0.5e-3}}`, true],
    [`{"id":"e4","type":${JSON.stringify(type).replace('.', '\\u002e')},"data":[]}`, true],
    [`{"id":"e5","type":${t},"data":${deep}}`, true],
    [` \n{"id":"e6","type":${t},"data":"x","payload":1,"metadata":{"a":{"correlationId":1}}}\t`, true],
    [`{"id":"e7","type":${t},"payload":{"p":1}}`, false],
  ]
  await sendRaw(type, cases.map(([body]) => [body, { 'event-type': type }]))
  await withBus(async (bus) => {
    const got = await collect(bus, d, type)
    await got.waitFor((h) => h.event.id === 'e7')
    expect(got.seen.map((h) => h.event.id)).toEqual(cases.map((_, i) => `e${i}`))
    expect(got.seen.map((h) => util.types.isProxy(h.event))).toEqual(cases.map(([, deferred]) => deferred))
    got.seen.forEach((h, i) => expect(JSON.stringify(h.event)).toBe(JSON.stringify(parseDomainEvent({ value: cases[i][0] }))))
  }, cfg)
})
