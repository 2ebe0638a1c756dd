// `ferrokafka dlq inspect|replay` and DLQHandler.replay/inspect against a dead-letter topic
// filled by the consumer's own dead-letter policy.
const { execFile } = require('child_process')
const path = require('path')
const { NonRetryableError, DLQHandler, readDeadLetters } = require('..')
const { unique, startCluster, deferred, within, sendWith } = require('./helpers')

let cluster, kafka
beforeAll(() => ({ cluster, kafka } = startCluster(1)))
afterAll(() => cluster.close())

const cli = (args, env = { KAFKA_BROKERS: cluster.bootstrapServers }) => new Promise((resolve) => {
  const { KAFKA_BROKERS: _unset, ...base } = process.env
  execFile(process.execPath, [path.join(__dirname, '..', 'bin', 'ferrokafka.js'), ...args], {
    env: { ...base, ...env }, timeout: 60_000,
  }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }))
})

/** Dead-letters `n` records of a fresh topic through run({ deadLetter }); returns the topic names. */
async function deadLettered(n) {
  const topic = unique('orders')
  cluster.createTopic(topic, 1, 1)
  cluster.createTopic(`dlq.${topic}`, 1, 1)
  await sendWith(kafka, topic, Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` })))
  const consumer = kafka.consumer({ groupId: unique('g') })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const all = deferred()
  let dead = 0
  consumer.on(consumer.events.DEAD_LETTER, () => { if (++dead === n) all.resolve() })
  await consumer.run({ deadLetter: {}, eachMessage: async ({ message }) => { throw new NonRetryableError(`bad ${message.key}`) } })
  await within(30_000, all.promise, 'dead-lettering')
  await consumer.disconnect()
  return { topic, dlq: `dlq.${topic}` }
}

test('dlq inspect prints every record with its failure headers', async () => {
  const { topic, dlq } = await deadLettered(3)
  const out = await cli(['dlq', 'inspect', dlq])
  expect(out.code).toBe(0)
  expect(out.stdout).toContain('3 record(s) in')
  for (const k of ['k0', 'k1', 'k2']) expect(out.stdout).toContain(k)
  expect(out.stdout).toContain(`${topic}[0]@0`)
  expect(out.stdout).toContain('NonRetryableError: bad k1')
})

test('dlq inspect --brokers reads the cluster named there (no KAFKA_BROKERS); an unknown option or a bad list is refused', async () => {
  const { dlq } = await deadLettered(1)
  const out = await cli(['dlq', 'inspect', dlq, '--brokers', cluster.bootstrapServers], {})
  expect([out.code, out.stdout]).toEqual([0, expect.stringContaining('1 record(s) in')])
  const unknown = await cli(['dlq', 'inspect', dlq, '--broker', cluster.bootstrapServers], {})
  expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('unknown option for dlq inspect: --broker')])
  const bad = await cli(['dlq', 'inspect', dlq, '--brokers', 'nohost'], {})
  expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--brokers must list host:port')])
})

test('dead-lettered records land in the DLQ in the order they failed in', async () => {
  const { dlq } = await deadLettered(50)
  const keys = (await readDeadLetters(kafka, dlq)).map((r) => r.key)
  expect(keys).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`))
})

test('dlq replay --limit sends records back to their original topic with the replay counted', async () => {
  const { topic, dlq } = await deadLettered(3)
  const out = await cli(['dlq', 'replay', dlq, '--limit', '2'])
  expect(out.stdout).toContain('replayed 2 record(s)')
  const consumer = kafka.consumer({ groupId: unique('check') })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const replays = []
  const two = deferred()
  await consumer.run({ eachMessage: async ({ message }) => {
    if (message.headers['dlq-reprocess-count']) replays.push([message.key.toString(), message.headers['dlq-reprocess-count'].toString()])
    if (replays.length === 2) two.resolve()
  } })
  await within(30_000, two.promise, 'the replays')
  await consumer.disconnect()
  expect(replays).toEqual([['k0', '1'], ['k1', '1']])
})

test('DLQHandler.replay honours a filter; inspect commits nothing', async () => {
  const { dlq } = await deadLettered(3)
  const handler = new DLQHandler({ brokers: cluster.brokers, logLevel: 0 })
  expect((await handler.inspect(dlq)).map((r) => r.key)).toEqual(['k0', 'k1', 'k2'])
  expect(await handler.replay(dlq, { filter: (r) => r.key === 'k2' })).toBe(1)
  expect((await handler.inspect(dlq)).length).toBe(3)
  expect(handler.stats().reprocessed).toBe(1)
})

test('dlq with a bad command prints usage and exits 2', async () => {
  const out = await cli(['dlq', 'explode'])
  expect(out.code).toBe(2)
  expect(out.stderr).toContain('usage: ferrokafka')
})
