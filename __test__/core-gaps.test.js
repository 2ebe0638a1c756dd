// Documented core behaviour (issue #2) no other suite exercised, each against a MockCluster over
// TCP: the `ferrokafka mock-broker` CLI, `brokers` as a sync or async function, per-send `acks` and `compression`.
// SASL is not here: librdkafka's MockCluster has no SaslHandshake/SaslAuthenticate handler
// (rdkafka_mock_handlers.c's api_handlers table) and drops a connection sending one.
const path = require('path')
const { spawn } = require('child_process')
const { Kafka, MockCluster, logLevel, CompressionTypes, KafkaJSError, KafkaJSConnectionError, KafkaJSNonRetriableError } = require('..')
const { unique, startCluster, deferred, within, consumeUntil, adminOf, spawnLines, nextEvent } = require('./helpers')

let cluster, kafka
beforeAll(() => { ({ cluster, kafka } = startCluster()) })
afterAll(() => cluster.close())

const values = (seen) => seen.map((s) => s.message.value.toString())

describe('`ferrokafka mock-broker` (bin/ferrokafka.js)', () => {
  const BIN = path.join(__dirname, '..', 'bin', 'ferrokafka.js')

  test('--brokers 3 --topic: a kafkajs client produces and consumes in a group, then Ctrl-C (SIGINT) stops it with exit code 0', async () => {
    const topic = unique('cli')
    const lines = []
    const ready = deferred()
    const { proc, closed } = spawnLines(BIN, ['mock-broker', '--brokers', '3', '--topic', `${topic}:3`], (line) => {
      lines.push(line)
      const found = /^bootstrap servers: (\S+)$/.exec(line)
      if (found) ready.resolve(found[1])
    })
    let exited = false
    closed.then((status) => {
      exited = true
      ready.reject(new Error(`mock-broker exited (${status}) before printing its bootstrap servers:\n${lines.join('\n')}`))
    })
    try {
      const brokers = (await within(20_000, ready.promise, 'the bootstrap servers line')).split(',')
      expect(brokers).toHaveLength(3)
      for (const b of brokers) expect(b).toMatch(/^[\w.-]+:\d+$/)
      expect(lines).toContain(`topic ${topic}: 3 partition(s)`)

      const client = new Kafka({ clientId: 'cli-user', brokers, logLevel: logLevel.NOTHING })
      const { topics } = await adminOf(client, (admin) => admin.fetchTopicMetadata({ topics: [topic] }))
      // Three partitions, each replicated on the three brokers the CLI was asked for.
      expect(topics[0].partitions.map((p) => p.replicas.length)).toEqual([3, 3, 3])
      const producer = client.producer()
      await producer.connect()
      const sent = ['a', 'b', 'c', 'd', 'e', 'f'].map((k, i) => ({ key: k, value: `cli-${i}` }))
      try {
        await producer.send({ topic, messages: sent })
      } finally {
        await producer.disconnect()
      }
      const seen = await consumeUntil(client, { topics: [topic], done: (s) => s.length >= sent.length })
      expect(values(seen).sort()).toEqual(sent.map((m) => m.value))

      proc.kill('SIGINT')
      expect(await within(10_000, closed, 'mock-broker exiting after SIGINT')).toBe(0)
      expect(lines).toContain('MockCluster stopped.')
    } finally {
      if (!exited) proc.kill('SIGKILL')
    }
  })

  /** Runs the CLI to its end; one still serving after 15 s is killed (signal SIGKILL) so the suite ends. */
  function runCli(args) {
    return new Promise((resolve) => {
      const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      const bound = setTimeout(() => proc.kill('SIGKILL'), 15_000)
      let stdout = '', stderr = ''
      proc.stdout.on('data', (d) => { stdout += d })
      proc.stderr.on('data', (d) => { stderr += d })
      proc.on('close', (code, signal) => { clearTimeout(bound); resolve({ code, signal, stdout, stderr }) })
    })
  }

  test.each([
    [['--brokers', 'zero'], '--brokers'],
    [['--brokers', '0'], '--brokers'],
    [['--brokers', '65'], '--brokers'],
    [['--brokers'], '--brokers'],
    [['--broker', '3'], '--broker'],
    [['--topic', ':3'], '--topic'],
    [['--topic', 'orders:abc'], '--topic'],
    // librdkafka asserts (aborting the process) on a partition count it cannot allocate.
    [['--topic', 'orders:-1'], '--topic'],
    [['--topic', 'orders:0'], '--topic'],
  ])('mock-broker %j exits with code 2 and an error naming %s, serving nothing', async (args, flag) => {
    const { code, signal, stdout, stderr } = await runCli(['mock-broker', ...args])
    expect({ code, signal }).toEqual({ code: 2, signal: null })
    expect(stderr.split('\n')[0]).toContain(flag)
    expect(stdout).not.toContain('bootstrap servers')
  })
})

test('a client whose broker list is missing or empty is built, and connect() rejects, as kafkajs does', async () => {
  const outcome = async (lib, brokers) => {
    const client = new lib.Kafka({ brokers, logLevel: lib.logLevel.NOTHING })
    // Built without a broker list (a disabled service's clients are never connected).
    const [producer, consumer, admin] = [client.producer(), client.consumer({ groupId: unique('g') }), client.admin()]
    const errors = []
    for (const c of [producer, consumer, admin]) errors.push(await c.connect().then(() => null, (e) => e))
    return errors.map((e) => e && [e.name, e instanceof lib.KafkaJSNonRetriableError])
  }
  for (const brokers of [undefined, []]) {
    const expected = Array(3).fill(['KafkaJSNonRetriableError', true])
    expect(await outcome(require('kafkajs'), brokers)).toEqual(expected)
    expect(await outcome(require('..'), brokers)).toEqual(expected)
  }
  // ferrokafka's message names the option.
  await expect(new Kafka({}).producer().connect()).rejects.toThrow(/`brokers`: is required/)
})

describe('brokers as a function (kafkajs: an array, or a function returning one, possibly async)', () => {
  test.each([
    ['sync', (calls) => () => { calls.n++; return cluster.brokers }],
    ['async', (calls) => async () => { calls.n++; await null; return cluster.brokers }],
  ])('%s function: a producer, a consumer group and an admin connect through it', async (_form, make) => {
    const calls = { n: 0 }
    const viaFn = new Kafka({ clientId: 'fn-brokers', brokers: make(calls), logLevel: logLevel.NOTHING })
    const topic = unique('fn')
    cluster.createTopic(topic, 2, 3)
    const producer = viaFn.producer()
    await producer.connect()
    try {
      const meta = await producer.send({ topic, messages: ['f0', 'f1', 'f2'].map((value) => ({ key: 'k', value })) })
      expect(meta).toEqual([expect.objectContaining({ topicName: topic, errorCode: 0, baseOffset: '0' })])
    } finally {
      await producer.disconnect()
    }
    const seen = await consumeUntil(viaFn, { topics: [topic], done: (s) => s.length >= 3 })
    expect(values(seen)).toEqual(['f0', 'f1', 'f2'])
    const offsets = await adminOf(viaFn, (admin) => admin.fetchTopicOffsets(topic))
    expect(offsets.map((o) => o.high).sort()).toEqual(['0', '3'])
    // Each client resolved the list itself: the function is the only way these clients found the cluster.
    expect(calls.n).toBeGreaterThanOrEqual(3)
  })

  const clients = [
    ['producer', (k) => k.producer()],
    ['consumer', (k) => k.consumer({ groupId: unique('g') })],
    ['admin', (k) => k.admin()],
  ]

  test.each(clients)('a rejecting function: %s.connect() rejects with a retriable KafkaJSConnectionError naming `brokers`, its cause kept', async (_name, make) => {
    const discovery = new Error('service discovery unavailable')
    const client = make(new Kafka({ brokers: async () => { throw discovery }, logLevel: logLevel.NOTHING }))
    const error = await within(10_000, client.connect().then(() => null, (e) => e), 'connect')
    expect(error).toBeInstanceOf(KafkaJSConnectionError)
    expect(error).toMatchObject({ field: 'brokers', retriable: true, cause: discovery })
    expect(error.message).toContain('brokers')
  })

  test('no broker answers: producer, consumer and admin connect() each reject with KafkaJSNumberOfRetriesExceeded (cause: the connection error), no later than their bound', async () => {
    // A port nothing listens on: every connection is refused, so only the bound (10 s) ends connect().
    const dead = new Kafka({ brokers: ['127.0.0.1:1'], connectionTimeout: 1000, logLevel: logLevel.NOTHING })
    const started = Date.now()
    const errors = await Promise.all(clients.map(([, make]) => {
      const client = make(dead)
      return within(20_000, client.connect().then(() => null, (e) => e), 'connect').finally(() => client.disconnect().catch(() => {}))
    }))
    for (const error of errors) {
      // As kafkajs: the attempts ran out, the connection error is the cause.
      expect(error.name).toBe('KafkaJSNumberOfRetriesExceeded')
      expect(error.retriable).toBe(false)
      expect(error.cause).toBeInstanceOf(KafkaJSConnectionError)
      expect(error.cause.retriable).toBe(true)
      expect(error.message).toMatch(/^connect: /)
    }
    // The consumer's is the producer's and the admin's error, not one of its own.
    expect(errors.map((e) => e.name)).toEqual([errors[0].name, errors[0].name, errors[0].name])
    expect(Date.now() - started).toBeLessThan(15_000)
  }, 30_000)

  test.each([
    ['a string', async () => 'localhost:9092'],
    ['undefined', async () => undefined],
    ['null', async () => null],
    ['an object', async () => ({ brokers: ['localhost:9092'] })],
  ])('an async function resolving to %s: connect() rejects with a KafkaJSNonRetriableError naming `brokers`', async (_what, brokers) => {
    for (const [, make] of clients) {
      const error = await within(10_000, make(new Kafka({ brokers, logLevel: logLevel.NOTHING })).connect().then(() => null, (e) => e), 'connect')
      expect(error).toBeInstanceOf(KafkaJSNonRetriableError)
      expect(error.field).toBe('brokers')
      // Says what the function did wrong, not that `brokers` was left out.
      expect(error.message).toMatch(/brokers.*function must return/)
    }
  })
})

describe('per-send acks and compression', () => {
  // Compressible values, so a codec has something to do; each send's records carry its label.
  const payload = (label, i) => ({ key: `${label}-${i}`, value: `${label}-${i}:${'abcdefgh'.repeat(64)}`, headers: { label } })
  const variants = [
    ['default (acks all)', {}],
    ['acks: -1', { acks: -1 }],
    ['acks: 1', { acks: 1 }],
    ['compression: GZIP', { compression: CompressionTypes.GZIP }],
    ['compression: Snappy', { compression: CompressionTypes.Snappy }],
    ['compression: LZ4', { compression: CompressionTypes.LZ4 }],
    ['compression: ZSTD', { compression: CompressionTypes.ZSTD }],
    ['acks: 1 + ZSTD', { acks: 1, compression: CompressionTypes.ZSTD }],
    ['compression: None', { compression: CompressionTypes.None }],
    // Last: an unacknowledged send has no delivery order with the sends of other clients.
    ['acks: 0', { acks: 0 }],
  ]

  test('each variant resolves with kafkajs RecordMetadata (acks: 0 with [] as kafkajs) and its records come back intact, in order', async () => {
    const topic = unique('acks')
    cluster.createTopic(topic, 1, 3)
    const producer = kafka.producer()
    await producer.connect()
    const sent = []
    try {
      for (const [label, options] of variants) {
        const messages = [0, 1, 2].map((i) => payload(label, i))
        const meta = await within(15_000, producer.send({ topic, messages, ...options }), `send with ${label}`)
        if (options.acks === 0) {
          expect(meta).toEqual([])
        } else {
          expect(meta).toEqual([{ topicName: topic, partition: 0, errorCode: 0, baseOffset: String(sent.length), logAppendTime: '-1', logStartOffset: '-1' }])
        }
        sent.push(...messages)
      }
      // sendBatch takes the same options.
      const batch = [0, 1].map((i) => payload('sendBatch acks 1 + GZIP', i))
      const meta = await producer.sendBatch({ topicMessages: [{ topic, messages: batch }], acks: 1, compression: CompressionTypes.GZIP })
      expect(meta).toEqual([expect.objectContaining({ topicName: topic, partition: 0, errorCode: 0, baseOffset: String(sent.length) })])
      sent.push(...batch)
    } finally {
      await producer.disconnect()
    }
    const seen = await consumeUntil(kafka, { topics: [topic], done: (s) => s.length >= sent.length })
    expect(seen.map(({ message }) => [message.key.toString(), message.value.toString(), message.headers.label.toString()]))
      .toEqual(sent.map((m) => [m.key, m.value, m.headers.label]))
    expect(seen.map(({ message }) => message.offset)).toEqual(sent.map((_, i) => String(i)))
  })

  test('a producer-wide acks: 0 resolves sends with [] too', async () => {
    const topic = unique('acks0')
    cluster.createTopic(topic, 1, 1)
    const producer = kafka.producer({ idempotent: false, acks: 0 })
    await producer.connect()
    try {
      await expect(producer.send({ topic, messages: [{ value: 'fire-and-forget' }] })).resolves.toEqual([])
      // A per-send acks overrides it, with the broker's answer.
      await expect(producer.send({ topic, messages: [{ value: 'acked' }], acks: 1 })).resolves.toEqual([expect.objectContaining({ topicName: topic, baseOffset: '1' })])
    } finally {
      await producer.disconnect()
    }
  })

  describe('bad values', () => {
    let producer
    beforeAll(async () => { producer = kafka.producer(); await producer.connect() })
    afterAll(() => producer.disconnect())

    test.each([5, 2, -2])('acks: %p rejects with a KafkaJSNonRetriableError naming `acks`, and the producer keeps working', async (acks) => {
      const error = await producer.send({ topic: 'bad-acks', messages: [{ value: 'v' }], acks }).then(() => null, (e) => e)
      expect(error).toBeInstanceOf(KafkaJSNonRetriableError)
      expect(error.field).toBe('acks')
      expect(error.message).toContain('`acks`')
      const topic = unique('after-bad')
      cluster.createTopic(topic, 1, 1)
      await expect(producer.send({ topic, messages: [{ value: 'ok' }] })).resolves.toEqual([expect.objectContaining({ errorCode: 0 })])
    })

    // src/producer.rs `client_for` builds the sibling client through config::producer_config, whose
    // codec check names the producer-wide option (`producer.compression`), not the send's.
    test('compression: 7 on a send rejects with an error naming `compression` (the send\'s, not `producer.compression`)', async () => {
      const error = await producer.send({ topic: 'bad-codec', messages: [{ value: 'v' }], compression: 7 }).then(() => null, (e) => e)
      expect(error).toBeInstanceOf(KafkaJSError)
      expect(error.field).toBe('compression')
    })

    test('acks: 1 inside a transaction rejects naming `acks` (a transactional producer needs acks=all)', async () => {
      const tp = kafka.producer({ transactionalId: unique('tx'), maxInFlightRequests: 1 })
      await tp.connect()
      try {
        const error = await tp.send({ topic: 'bad-acks', messages: [{ value: 'v' }], acks: 1 }).then(() => null, (e) => e)
        expect(error).toBeInstanceOf(KafkaJSNonRetriableError)
        expect(error.field).toBe('acks')
      } finally {
        await tp.disconnect()
      }
    })
  })
})

describe('request instrumentation (REQUEST, REQUEST_TIMEOUT)', () => {
  test('REQUEST: each Produce request is reported once, with its own correlation id, broker and round trip', async () => {
    const topic = unique('requests')
    cluster.createTopic(topic, 1, 1)
    const producer = kafka.producer()
    const produced = []
    const third = deferred()
    producer.on(producer.events.REQUEST, (e) => {
      if (e.payload.apiName !== 'Produce') return
      produced.push(e.payload)
      if (produced.length === 3) third.resolve()
    })
    try {
      await producer.connect()
      for (let i = 0; i < 3; i++) await producer.send({ topic, messages: [{ value: `r${i}` }] })
      await within(5000, third.promise, 'three Produce REQUEST events')
    } finally {
      await producer.disconnect()
    }
    expect(produced).toHaveLength(3)
    const ids = produced.map((p) => p.correlationId)
    expect(new Set(ids).size).toBe(3)
    for (const p of produced) {
      expect(p.correlationId).toBeGreaterThan(0)
      expect(cluster.brokers).toContain(p.broker)
      expect(p).toMatchObject({ apiKey: 0, clientId: 'test', size: expect.any(Number), pendingDuration: 0 })
      expect(p.sentAt + p.duration).toBeLessThanOrEqual(Date.now())
    }
    // One partition, one broker connection: its requests are numbered in send order.
    expect([...ids].sort((a, b) => a - b)).toEqual(ids)
  })

  test('a request slower than requestTimeout emits REQUEST_TIMEOUT with kafkajs\'s fields, to a listener added after connect', async () => {
    const own = new MockCluster({ brokers: 1 })
    const client = new Kafka({ clientId: 'timeouts', brokers: own.brokers, logLevel: logLevel.NOTHING, requestTimeout: 1000 })
    const admin = client.admin()
    try {
      await admin.connect()
      const timedOut = nextEvent(admin, admin.events.REQUEST_TIMEOUT)
      own.setRtt(1, 2500)
      const pending = admin.fetchTopicMetadata().catch(() => undefined)
      const event = await within(15000, timedOut, 'a REQUEST_TIMEOUT event')
      own.setRtt(1, 0)
      await pending
      expect(event.type).toBe('admin.network.request_timeout')
      expect(event.payload).toEqual({
        broker: own.brokers[0], clientId: 'timeouts', correlationId: expect.any(Number), createdAt: expect.any(Number), sentAt: expect.any(Number),
        pendingDuration: 0, apiName: expect.any(String), apiKey: expect.any(Number), apiVersion: expect.any(Number),
      })
      expect(event.payload.sentAt).toBeLessThanOrEqual(event.timestamp)
    } finally {
      await admin.disconnect()
      own.close()
    }
  }, 30000)
})

test("an idempotent producer asks for its producer id while connect() runs, as kafkajs's: its first send does not wait out librdkafka's 500 ms retry timer", async () => {
  const topic = unique('pid')
  cluster.createTopic(topic, 3, 3)
  for (const idempotent of [true, false]) {
    const producer = kafka.producer({ idempotent })
    const requests = []
    producer.on(producer.events.REQUEST, ({ payload }) => requests.push(payload.apiName))
    try {
      await producer.connect()
      const started = Date.now()
      await producer.send({ topic, messages: [{ value: `first, idempotent ${idempotent}` }] })
      const firstSendMs = Date.now() - started
      console.log(`idempotent ${idempotent}: first send ${firstSendMs} ms; requests ${requests.join(', ')}`)
      expect(requests.includes('InitProducerId')).toBe(idempotent)
      // At the first metadata answer only the retired bootstrap connection was up, so librdkafka's
      // producer id waited for its 500 ms timer: every first send took over 500 ms.
      expect(firstSendMs).toBeLessThan(250)
    } finally { await producer.disconnect() }
  }
})

test('subscribe({ topics: [] }) subscribes nothing and resolves, as kafkajs; a subscription naming no topics at all rejects in both', async () => {
  const KafkaJS = require('kafkajs')
  for (const lib of [KafkaJS, require('..')]) {
    const consumer = new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.NOTHING }).consumer({ groupId: unique('g') })
    await expect(consumer.subscribe({ topics: [] })).resolves.toBeUndefined()
    await expect(consumer.subscribe({})).rejects.toBeInstanceOf(lib.KafkaJSNonRetriableError)
    await expect(consumer.subscribe({ topics: 'orders' })).rejects.toBeInstanceOf(lib.KafkaJSNonRetriableError)
  }
})

test('sendBatch({}) and sendBatch({ topicMessages: [] }) resolve [] as in kafkajs (topicMessages defaults to [])', async () => {
  const KafkaJS = require('kafkajs')
  for (const lib of [KafkaJS, require('..')]) {
    const producer = new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.NOTHING }).producer()
    await producer.connect()
    try {
      expect(await producer.sendBatch({})).toEqual([])
      expect(await producer.sendBatch({ topicMessages: [] })).toEqual([])
    } finally { await producer.disconnect() }
  }
})
