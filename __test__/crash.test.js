// At-least-once across a crash: a subscriber SIGKILLed in the middle of a batch and restarted
// leaves every event either handled or in the DLQ. Prints the duplicates (redeliveries of the
// uncommitted window), which are allowed; a missing event is not.
const path = require('path')
const { EventBus, readDeadLetters } = require('..')
const { unique, startCluster, within, deferred, spawnLines, adminOf } = require('./helpers')

let cluster, kafka
beforeAll(() => ({ cluster, kafka } = startCluster(1)))
afterAll(() => cluster.close())

/**
 * Resolves once `group`'s committed offsets equal the high watermark of every partition of
 * `topic` (the broker has no event for it: asked every 200 ms); rejects after `ms`.
 */
async function committedToEnd(group, topic, ms = 30_000) {
  for (const until = Date.now() + ms; Date.now() < until;) {
    const done = await adminOf(kafka, async (admin) => {
      const high = await admin.fetchTopicOffsets(topic)
      const [{ partitions }] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      return high.every((h) => partitions.find((p) => p.partition === h.partition)?.offset === h.high)
    })
    if (done) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`the commits of ${group} did not reach the end of ${topic} within ${ms} ms`)
}

function child(type, group, onLine) {
  const script = path.join(__dirname, 'fixtures', 'events-crash-child.js')
  const { proc, closed } = spawnLines(script, [type, group], onLine, { ...process.env, KAFKA_BROKERS: cluster.bootstrapServers })
  return { proc, exited: closed }
}

test('a subscriber killed mid-batch and restarted loses nothing', async () => {
  const total = 400
  const type = `crash${Date.now().toString(36)}.happened`
  cluster.createTopic(type, 3, 1)
  cluster.createTopic(`dlq.${type}`, 1, 1)
  const bus = new EventBus({ brokers: cluster.brokers, logLevel: 0 })
  for (let n = 0; n < total; n++) await bus.publish(type, `agg-${n % 37}`, 'Thing', { n })
  await bus.shutdown()

  const handled = new Map()
  const group = unique('crash-group')
  const note = (line) => {
    const m = /^handled (\d+)$/.exec(line)
    if (m) handled.set(Number(m[1]), (handled.get(Number(m[1])) ?? 0) + 1)
  }
  const good = Array.from({ length: total }, (_, n) => n).filter((n) => n % 20 !== 0)

  // First run: killed once a third of the events were handled.
  const third = deferred()
  const first = child(type, group, (line) => { note(line); if (handled.size >= total / 3) third.resolve() })
  await within(60_000, third.promise, 'the first third')
  first.proc.kill('SIGKILL')
  expect(await first.exited).toBe('SIGKILL')

  // Second run: goes on from the committed offsets.
  const rest = deferred()
  const check = () => { if (good.every((n) => handled.has(n))) rest.resolve() }
  const second = child(type, group, (line) => { note(line); check() })
  await within(90_000, rest.promise, 'every good event handled')
  // A poison event's offset is committed only once the DLQ acknowledged it: when the group's
  // commits reach the end of every partition, each event is handled or dead-lettered.
  await committedToEnd(group, type)
  second.proc.kill('SIGTERM')
  await second.exited

  const dead = new Set((await readDeadLetters(kafka, `dlq.${type}`)).map((r) => JSON.parse(r.value.toString()).data.n))
  const poison = Array.from({ length: total }, (_, n) => n).filter((n) => n % 20 === 0)
  const lost = Array.from({ length: total }, (_, n) => n).filter((n) => !handled.has(n) && !dead.has(n))
  const duplicates = [...handled.values()].filter((c) => c > 1).length
  console.log(`crash test: ${total} events, handled ${handled.size}, dead-lettered ${dead.size}, duplicates ${duplicates}, lost ${lost.length}`)
  expect(lost).toEqual([])
  for (const n of poison) expect(dead.has(n)).toBe(true)
})
