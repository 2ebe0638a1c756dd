// The event bus's shutdown() on a MockCluster over TCP: in-flight handlers are waited for, within a
// bound; a handler that never settles is given up on after it, and its event is not committed, so
// the group's next member gets it again (nothing lost, nothing hanging).
const { initializeEventBus } = require('..')
const { unique, deferred, within } = require('./helpers')
const support = require('./events-support')
const { domain, createTopics } = support

let cluster, cfg
beforeAll(() => ({ cluster, cfg } = support.start('events-shutdown-test')))
afterAll(() => cluster.close())

test('a handler that never settles: shutdown({ timeoutMs }) resolves after the bound, and the event is redelivered to the group', async () => {
  const type = `${domain('stuck')}.created`
  createTopics(type)
  const groupId = unique('g')
  const first = await initializeEventBus(cfg)
  const entered = deferred()
  await first.subscribe(groupId, type, async (event) => {
    entered.resolve(event.id)
    await new Promise(() => {}) // never settles
  }, { fromBeginning: true })
  const published = await first.publish(type, 'agg-1', 'Thing', { n: 1 })
  expect(published).toHaveLength(1)
  const stuckId = await within(20_000, entered.promise, 'the handler to start')
  const started = Date.now()
  await within(20_000, first.shutdown({ timeoutMs: 1500 }), 'shutdown to give up on the handler')
  const took = Date.now() - started
  expect(took).toBeGreaterThanOrEqual(1400)

  const second = await initializeEventBus(cfg)
  try {
    const again = deferred()
    await second.subscribe(groupId, type, async (event) => again.resolve(event.id), { fromBeginning: true })
    expect(await within(30_000, again.promise, 'the event to come back')).toBe(stuckId)
  } finally {
    await second.shutdown()
  }
  await expect(second.shutdown({ timeoutMs: -1 })).rejects.toThrow('timeoutMs')
}, 90_000)

test('a new group that stops before handling anything (its first event failing, a retry pending) leaves its start committed: the next member gets that event', async () => {
  const type = `${domain('fresh')}.created`
  createTopics(type)
  const groupId = unique('g')
  const first = await initializeEventBus(cfg)
  const failed = deferred()
  // fromBeginning false: the group starts at the end of the topic as of its assignment.
  await first.subscribe(groupId, type, async (event) => {
    failed.resolve(event.id)
    throw new Error('transient')
  }, { retry: { maxRetries: 5, initialRetryTimeMs: 10_000 } })
  await first.publish(type, 'agg-1', 'Thing', { n: 1 })
  const id = await within(20_000, failed.promise, 'the first attempt')
  await first.shutdown()

  const second = await initializeEventBus(cfg)
  try {
    const again = deferred()
    await second.subscribe(groupId, type, async (event) => again.resolve(event.id))
    expect(await within(30_000, again.promise, 'the event to come back')).toBe(id)
  } finally {
    await second.shutdown()
  }
}, 90_000)
