// The service facade of seeds 003 and 004 (KafkaService, kafkaService, getKafkaService) on
// MockCluster: JSON sends, subscriptions extended per group, health, dev and disabled modes.
const net = require('net')
const path = require('path')
const { KafkaService, createEvent } = require('..')
const { unique, startCluster, within, deferred, spawnLines } = require('./helpers')

let cluster
beforeAll(() => ({ cluster } = startCluster(1)))
afterAll(() => cluster.close())

// A short session: when a running group's subscription grows, MockCluster completes the
// rebalance only after the session timeout (a real broker does not wait).
const service = (extra = {}) => new KafkaService({ brokers: cluster.brokers, clientId: 'svc', consumer: { sessionTimeout: 6000, heartbeatInterval: 500 }, ...extra })

test('a send before connectProducer() rejects with "not connected"', async () => {
  const s = service().init()
  await expect(s.send(unique('t'), { a: 1 })).rejects.toThrow(/not connected/)
})

test('seed 003: objects and arrays sent as JSON; several subscribe calls on one group all deliver', async () => {
  const userTopic = unique('user-events')
  const systemTopic = unique('system-events')
  cluster.createTopic(userTopic, 2, 1)
  cluster.createTopic(systemTopic, 1, 1)
  const s = service()
  await s.init().connectProducer()
  await s.connectConsumer(unique('event-processor'))
  const got = []
  const three = deferred()
  const note = (message, { topic, partition, offset, headers }) => {
    got.push({ topic, message, partition, offset, headers })
    if (got.length === 3) three.resolve()
  }
  await s.subscribe(userTopic, note)
  // Added after the group already consumes: the subscription is extended, not replaced.
  await s.subscribe(systemTopic, note)
  await s.send(userTopic, { userId: '123', action: 'login' })
  await s.send(systemTopic, [{ level: 'warn' }, { level: 'error' }])
  await within(30_000, three.promise, 'three messages')
  expect(got.filter((g) => g.topic === userTopic).map((g) => g.message)).toEqual([{ userId: '123', action: 'login' }])
  expect(got.filter((g) => g.topic === systemTopic).map((g) => g.message)).toEqual([{ level: 'warn' }, { level: 'error' }])
  for (const g of got) {
    expect(typeof g.partition).toBe('number')
    expect(typeof g.offset).toBe('string')
    expect(g.headers['content-type']).toBe('application/json')
  }
  const health = await s.healthCheck()
  // Seed 004's documented shape: a group count and the comma-joined brokers; detail per group.
  expect(health).toMatchObject({ connected: true, producer: true, consumers: 1, brokers: cluster.brokers.join(',') })
  expect(typeof health.brokers).toBe('string')
  expect(Object.values(health.groups)[0].topics.sort()).toEqual([userTopic, systemTopic].sort())
  expect(s.isConnected).toBe(true)
  await s.disconnect()
  expect(s.isConnected).toBe(false)
})

test('a subscribe whose start fails is not kept: the group\'s next subscribe starts and delivers', async () => {
  const topic = unique('orders')
  cluster.createTopic(topic, 1, 1)
  const s = service()
  try {
    await refusedTopicThenGood(s, topic)
  } finally {
    await s.disconnect()
  }
})

async function refusedTopicThenGood(s, topic) {
  await s.init().connectProducer()
  const group = unique('g')
  // An illegal topic name makes the group's start fail (librdkafka never sees it).
  await expect(s.subscribe('not a topic!', group, async () => {})).rejects.toThrow(/topics/)
  const got = deferred()
  await s.subscribe(topic, group, async (message) => got.resolve(message))
  await s.send(topic, { id: 7 })
  expect(await within(30_000, got.promise, 'the record')).toEqual({ id: 7 })
  expect(Object.values((await s.healthCheck()).groups)[0].topics).toEqual([topic])
  // The same on a running group: the refused topic leaves its subscription as it was.
  await expect(s.subscribe('not a topic either!', group, async () => {})).rejects.toThrow(/topics/)
  const more = unique('more')
  cluster.createTopic(more, 1, 1)
  const second = deferred()
  await s.subscribe(more, group, async (message) => second.resolve(message))
  await s.send(more, { id: 8 })
  expect(await within(30_000, second.promise, 'the record of the added topic')).toEqual({ id: 8 })
}

test('seed 003: subscribe(topic, handler) joins the group of the latest connectConsumer; two groups in one process each get their own topic', async () => {
  const userTopic = unique('user-events')
  const ordersTopic = unique('orders.events')
  cluster.createTopic(userTopic, 2, 1)
  cluster.createTopic(ordersTopic, 1, 1)
  const processorGroup = unique('event-processor')
  const sagaGroup = unique('order-saga')
  const s = service()
  await expect(s.init().subscribe(userTopic, async () => {})).rejects.toThrow(/connectConsumer/)
  await s.connectProducer()
  const byHandler = { processor: [], saga: [] }
  const all = deferred()
  const note = (who) => async (message, { topic }) => {
    byHandler[who].push({ topic, id: message.id })
    if (byHandler.processor.length + byHandler.saga.length === 4) all.resolve()
  }
  // Seed 003's EventProcessor.start() then OrderSagaOrchestrator.init(), on the one service.
  await s.init().connectConsumer(processorGroup)
  await s.subscribe(userTopic, note('processor'))
  await s.init().connectConsumer(sagaGroup)
  await s.subscribe(ordersTopic, note('saga'))
  await s.send(userTopic, [{ id: 'u1' }, { id: 'u2' }])
  await s.send(ordersTopic, [{ id: 'o1' }, { id: 'o2' }])
  await within(30_000, all.promise, 'four records')
  expect(byHandler.processor.map((r) => r.id).sort()).toEqual(['u1', 'u2'])
  expect(byHandler.processor.every((r) => r.topic === userTopic)).toBe(true)
  expect(byHandler.saga.map((r) => r.id)).toEqual(['o1', 'o2'])
  expect(byHandler.saga.every((r) => r.topic === ordersTopic)).toBe(true)
  const health = await s.healthCheck()
  expect(health.consumers).toBe(2)
  expect(health.groups[processorGroup]).toMatchObject({ running: true, topics: [userTopic] })
  expect(health.groups[sagaGroup]).toMatchObject({ running: true, topics: [ordersTopic] })
  await s.disconnect()
  // disconnect() forgets the groups: a bare subscribe needs a connectConsumer again.
  await expect(s.init().subscribe(userTopic, async () => {})).rejects.toThrow(/connectConsumer/)
})

test('seed 004: initialize(), publishEvent with createEvent and a key, subscribe(topic, group, handler) per topic', async () => {
  const created = unique('user.created')
  const login = unique('user.login')
  cluster.createTopic(created, 1, 1)
  cluster.createTopic(login, 1, 1)
  const s = service()
  await s.initialize()
  await s.initialize() // idempotent
  const group = s.getConsumerGroup('analytics-service')
  expect(group).toBe('svc-analytics-service')
  const seen = []
  const both = deferred()
  for (const topic of [created, login]) {
    await s.subscribe(topic, group, async (event, meta) => {
      seen.push({ topic, type: event.type, data: event.data, key: meta.key, eventId: event.metadata.eventId })
      if (seen.length === 2) both.resolve()
    })
  }
  const userCreated = createEvent('USER_CREATED', { userId: 'u1', email: 'a@b.c' })
  await s.publishEvent(created, userCreated, 'u1')
  await s.publishEvent(login, createEvent('USER_LOGIN', { userId: 'u1' }), 'u1')
  await within(30_000, both.promise, 'both events')
  // Seed 004's idempotency check reads event.metadata.eventId: it arrives, and is the event's id.
  expect(seen.find((e) => e.topic === created)).toEqual({ topic: created, type: 'USER_CREATED', data: { userId: 'u1', email: 'a@b.c' }, key: 'u1', eventId: userCreated.id })
  expect(seen.find((e) => e.topic === login).type).toBe('USER_LOGIN')
  await s.disconnect()
})

test('disabled (enabled: false / KAFKA_ENABLED=false): no connection, sends recorded and logged, healthy', async () => {
  const lines = []
  const s = new KafkaService({ brokers: ['127.0.0.1:1'], enabled: false, log: (l) => lines.push(l) })
  await s.init().connectProducer()
  await s.send('test-topic', { message: 'Hello World' })
  expect(lines).toContain("[DEV] Would send to test-topic: { message: 'Hello World' }")
  expect(s.devSink).toEqual([{ topic: 'test-topic', value: { message: 'Hello World' }, key: undefined }])
  await s.subscribe('x', 'g', async () => {})
  const h = await s.healthCheck()
  expect(h).toMatchObject({ connected: false, enabled: false, dev: true, consumers: 0, groups: {}, brokers: '127.0.0.1:1' })
  expect(await s.isHealthy()).toBe(true)
  await s.disconnect()
})

test('KAFKA_ENABLED=false in a process: the default kafkaService records and logs sends, starts no consumer, says disabled, reaches no broker and exits', async () => {
  // A plain listener as the only broker: any connection attempt of the child lands here.
  const accepted = []
  const server = net.createServer((socket) => {
    accepted.push(socket.remoteAddress)
    socket.destroy()
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  const lines = []
  const { closed } = spawnLines(path.join(__dirname, 'fixtures', 'disabled-service.js'), [], (l) => lines.push(l), {
    ...process.env, KAFKA_ENABLED: 'false', KAFKA_BROKERS: `127.0.0.1:${port}`, KAFKA_CLIENT_ID: 'disabled-child',
  })
  // No disconnect() in the child: it must exit because nothing holds the event loop.
  expect(await within(30_000, closed, 'the child to exit on its own')).toBe(0)
  // Accepts are handled in order: once this control connection is seen, an earlier one of the child would have been.
  const control = deferred()
  server.once('connection', () => control.resolve())
  const probe = net.connect(port, '127.0.0.1')
  probe.on('error', () => undefined)
  await within(5000, control.promise, 'the control connection')
  probe.destroy()
  await new Promise((r) => server.close(r))
  expect(accepted).toHaveLength(1)

  expect(lines.filter((l) => l.startsWith('[DEV] '))).toEqual([
    "[DEV] Would send to user-events: { userId: '123', action: 'login' }",
    "[DEV] Would send to user-events: { userId: '124', action: 'logout' }",
    expect.stringMatching(/^\[DEV\] Would send to user\.created: \{ id: '[0-9a-f-]{36}', type: 'USER_CREATED',/),
  ])
  const report = JSON.parse(lines.find((l) => l.startsWith('report ')).slice('report '.length))
  expect(report).toEqual({
    same: true, sent: [], devMode: true, isConnected: false, handled: 0,
    sink: [{ topic: 'user-events', type: null, key: null }, { topic: 'user-events', type: null, key: null }, { topic: 'user.created', type: 'USER_CREATED', key: 'u1' }],
    // Neither subscribe made a group: no consumer exists to start.
    health: { connected: false, enabled: false, dev: true, producer: false, consumers: 0, groups: {}, brokers: `127.0.0.1:${port}` },
    healthy: [true, true, true],
  })
}, 60_000)

test.each([
  ['devFallback: true', { devFallback: true }, undefined],
  ["NODE_ENV=development (seed 003's development mode)", {}, 'development'],
])('%s: with no broker reachable, sends log instead of failing and say nothing was delivered', async (_, options, nodeEnv) => {
  const server = net.createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  await new Promise((r) => server.close(r))
  const lines = []
  const before = process.env.NODE_ENV
  if (nodeEnv) process.env.NODE_ENV = nodeEnv
  try {
    const s = new KafkaService({ brokers: [`127.0.0.1:${port}`], ...options, connectionTimeout: 1000, logLevel: 0, log: (l) => lines.push(l) })
    await s.init().connectProducer()
    expect(lines[0]).toMatch(/^\[DEV\] Kafka unreachable .*nothing will be delivered/)
    await s.send('orders', { id: 1 })
    expect(lines).toContain("[DEV] Would send to orders: { id: 1 }")
    expect((await s.healthCheck()).lastError).toBeTruthy()
    await s.disconnect()
  } finally {
    process.env.NODE_ENV = before
  }
}, 60_000)

test('outside development, an unreachable broker fails connectProducer (no silent fallback)', async () => {
  const server = net.createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  await new Promise((r) => server.close(r))
  const s = new KafkaService({ brokers: [`127.0.0.1:${port}`], connectionTimeout: 1000, logLevel: 0, log: () => {} })
  await expect(s.init().connectProducer()).rejects.toThrow()
  await expect(s.send('orders', { id: 1 })).rejects.toThrow(/not connected/)
  await s.disconnect()
}, 60_000)

test('kafkaService is the object getKafkaService() returns; options given before its first use apply, its methods work detached', async () => {
  // A fresh process: the singleton is per process.
  const script = `
    const { kafkaService, getKafkaService, KafkaService } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const warnings = []
    process.on('warning', (w) => warnings.push(w.message))
    const same = kafkaService === getKafkaService() && kafkaService instanceof KafkaService
    getKafkaService({ clientId: 'notifications', enabled: false, log: () => {} })
    const { getConsumerGroup, send } = kafkaService
    send('orders', { id: 1 }).then(() => {
      getKafkaService({ clientId: 'too-late' })
      setImmediate(() => console.log(JSON.stringify({ same, group: getConsumerGroup('n'), sent: kafkaService.devSink.length, warnings })))
    })`
  const { execFile } = require('child_process')
  const out = await new Promise((resolve, reject) => execFile(process.execPath, ['-e', script], { timeout: 30_000 }, (e, stdout) => (e ? reject(e) : resolve(stdout))))
  expect(JSON.parse(out.trim().split('\n').pop())).toEqual({
    same: true, group: 'notifications-n', sent: 1, warnings: ['getKafkaService(options): the Kafka service is already initialized; the options given are not applied'],
  })
})
