// KafkaService's shutdown hooks, in a child process (fixtures/shutdown-child.js) receiving SIGTERM
// mid-stream on a MockCluster: handlers finish, offsets commit, the process exits, and a second
// member loses nothing; with exit: false the process ends on its own.
const path = require('path')
const { spawn } = require('child_process')
const { once } = require('events')
const { unique, startCluster, within, inbox, adminOf, consumeUntil } = require('./helpers')

let cluster, kafka
beforeAll(() => ({ cluster, kafka } = startCluster(1)))
afterAll(() => cluster.close())

/** Runs the shutdown fixture; resolves its handle once it printed `ready`. */
async function startChild(topic, groupId, mode = 'exit') {
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'shutdown-child.js'), cluster.brokers.join(','), topic, groupId, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines = inbox()
  let buffer = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    buffer += d
    const parts = buffer.split('\n')
    buffer = parts.pop()
    for (const l of parts) lines.push(l)
  })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = once(child, 'exit')
  await within(30_000, Promise.race([lines.waitFor((l) => l === 'ready', 30_000), exited.then(() => { throw new Error(`child exited early: ${stderr}`) })]), 'the child to start')
  return { child, lines, exited, stderr: () => stderr }
}

test('shutdown hooks: SIGTERM mid-stream -> handlers finish, offsets commit, the process exits; a second member loses nothing', async () => {
  const topic = unique('shutdown')
  cluster.createTopic(topic, 2, 1)
  const groupId = unique('g')
  const total = 60
  const { child, lines, exited, stderr } = await startChild(topic, groupId)
  await sendAll(topic, total)
  await lines.waitFor(() => lines.seen.filter((l) => l.startsWith('handled')).length >= 5, 30_000, 'five records handled by the child')
  const signalled = Date.now()
  child.kill('SIGTERM')
  const [code, signal] = await within(15_000, exited, 'the child to exit')
  const tookMs = Date.now() - signalled
  expect([code, signal, stderr()]).toEqual([null, 'SIGTERM', '']) // the re-raised signal ended it
  expect(tookMs).toBeLessThan(8000)
  expect(lines.seen).toContain('shutdown SIGTERM')
  const first = lines.seen.filter((l) => l.startsWith('handled')).map((l) => l.split(' ').slice(1).map(Number))
  expect(first.length).toBeLessThan(total) // it really was mid-stream

  // The committed offsets are exactly the boundary of what the first run handled; a partition it
  // handled nothing of has its start committed (0: the topic was empty when the child joined).
  const committed = await adminOf(kafka, (a) => a.fetchOffsets({ groupId, topics: [topic] }))
  for (const p of [0, 1]) {
    const handledHere = first.filter(([q]) => q === p).map(([, o]) => o)
    const expected = handledHere.length ? String(Math.max(...handledHere) + 1) : '0'
    expect([p, committed[0].partitions.find((x) => x.partition === p).offset]).toEqual([p, expected])
  }
  const second = await consumeUntil(kafka, {
    topics: [topic], groupId, config: { sessionTimeout: 6000, heartbeatInterval: 500 }, fromBeginning: true,
    done: (seen) => seen.length + first.length >= total,
  })
  const key = ([p, o]) => `${p}:${o}`
  const all = [...first.map(key), ...second.map((r) => `${r.partition}:${r.message.offset}`)]
  expect(new Set(all).size).toBe(total) // every record handled once, by one of the two runs
  expect(all.length).toBe(total)
}, 90_000)

test('shutdown hooks with exit: false: the clients close and the process ends on its own (nothing kept alive)', async () => {
  const topic = unique('shutdown-noexit')
  cluster.createTopic(topic, 1, 1)
  const { child, lines, exited } = await startChild(topic, unique('g'), 'no-exit')
  child.kill('SIGTERM')
  const [code, signal] = await within(15_000, exited, 'the child to exit on its own')
  expect([code, signal]).toEqual([0, null])
  expect(lines.seen).toContain('shutdown SIGTERM')
}, 60_000)

/** Produces `n` small records, spread over the topic's partitions by key. */
async function sendAll(topic, n) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) })
  } finally {
    await producer.disconnect()
  }
}
