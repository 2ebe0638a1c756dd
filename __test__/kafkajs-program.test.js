// One program written against kafkajs's documented API (fixtures/kafkajs-program.js: custom
// partitioner, custom assigner, logCreator, every producer and consumer event) runs unchanged on
// real kafkajs 2.2.4 and, with `kafkajs` resolved to ferrokafka, on ferrokafka; both on a
// MockCluster. Running it on kafkajs too proves the program is fair; the outputs must agree.
const { spawn } = require('child_process')
const path = require('path')
const { MockCluster } = require('..')
const { unique, within } = require('./helpers')

let cluster
beforeAll(() => { cluster = new MockCluster({ brokers: 3 }) })
afterAll(() => cluster.close())

const program = path.join(__dirname, 'fixtures', 'kafkajs-program.js')
const alias = path.join(__dirname, 'fixtures', 'kafkajs-alias.js')

/** Runs the program in its own process (asynchronously: the mock serves it from this one). */
function runProgram(onFerrokafka) {
  const topic = unique('docs')
  cluster.createTopic(topic, 3, 1)
  const child = spawn(process.execPath, [...(onFerrokafka ? ['-r', alias] : []), program], {
    env: { ...process.env, KAFKA_BROKERS: cluster.bootstrapServers, TOPIC: topic, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  })
  let stdout = '', stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  return within(40000, exited, 'the kafkajs program').then(({ code, signal }) => {
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
    return JSON.parse(stdout.trim().split('\n').pop())
  }, (e) => { child.kill(); throw e })
}

let ferro, kjs
beforeAll(async () => {
  ferro = await runProgram(true)
  kjs = await runProgram(false)
}, 90000)

test('the custom partitioner decides where every record lands, the same on both clients', () => {
  for (const out of [ferro, kjs]) {
    expect(out.partitionCount).toBe(3)
    expect(Object.keys(out.consumed)).toHaveLength(9)
    for (const [value, r] of Object.entries(out.consumed)) {
      if (r.route !== null) expect({ value, partition: r.partition }).toEqual({ value, partition: Number(r.route) % 3 })
    }
  }
  expect(ferro.consumed).toEqual(kjs.consumed)
  expect(ferro.sentPartitions).toEqual(kjs.sentPartitions)
})

test('the custom assigner runs on kafkajs; on ferrokafka the group forms on roundrobin after one warning naming it', () => {
  expect(kjs.assignerCalls).toBeGreaterThanOrEqual(1)
  expect(ferro.assignerCalls).toBe(0)
  expect(ferro.warnings).toEqual([expect.stringContaining('"DealingAssigner"')])
  expect(ferro.warnings[0]).toContain('roundrobin')
  expect(ferro.errors).toEqual([])
})

test('instrumentation events: the lifecycle, batch, heartbeat and request events fire on both', () => {
  for (const out of [ferro, kjs]) {
    expect(out.producerEvents).toMatchObject({ CONNECT: 1, DISCONNECT: 1 })
    expect(out.producerEvents.REQUEST).toBeGreaterThan(0)
    expect(out.consumerEvents.REQUEST).toBeGreaterThan(0)
    expect(out.produceRequest).toEqual({
      fields: ['broker', 'clientId', 'correlationId', 'size', 'createdAt', 'sentAt', 'pendingDuration', 'duration', 'apiName', 'apiKey', 'apiVersion'],
      apiKey: 0, clientId: 'docs-program', broker: true, numbers: true, order: true,
    })
    const c = out.consumerEvents
    expect(c).toMatchObject({ DISCONNECT: 1, STOP: 1, CRASH: 0 })
    for (const name of ['CONNECT', 'GROUP_JOIN', 'FETCH_START', 'FETCH', 'START_BATCH_PROCESS', 'HEARTBEAT']) expect({ name, fired: c[name] >= 1 }).toEqual({ name, fired: true })
    expect(out.heartbeat).toEqual({
      type: 'consumer.heartbeat', timestamp: 'number', payload: ['groupGenerationId', 'groupId', 'memberId'], groupId: true, memberId: true, groupGenerationId: 'number',
    })
    expect(c.END_BATCH_PROCESS).toBe(c.START_BATCH_PROCESS)
  }
  // Every event name kafkajs lists exists on ferrokafka's clients (subscribing did not throw).
  for (const name of Object.keys(kjs.consumerEvents)) expect(ferro.consumerEvents).toHaveProperty(name)
  for (const name of Object.keys(kjs.producerEvents)) expect(ferro.producerEvents).toHaveProperty(name)
  // No request timed out; librdkafka has no request queue to report (README, kafkajs compatibility).
  expect(ferro.producerEvents).toMatchObject({ REQUEST_TIMEOUT: 0, REQUEST_QUEUE_SIZE: 0 })
  expect(ferro.consumerEvents).toMatchObject({ REQUEST_TIMEOUT: 0, REQUEST_QUEUE_SIZE: 0 })
})
