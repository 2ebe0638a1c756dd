// ferrokafka/nestjs in a real NestJS 11 application (Test.createTestingModule + app.init(), Express,
// terminus 11): a /health endpoint over HTTP (up, then down with the broker down), @EventHandler
// methods receiving events produced to MockCluster (derived and explicit topics, wildcards), a
// throwing handler dead-lettered with its failure context, KAFKA_ENABLED=false connecting
// nothing, app.close() draining an in-flight handler before the producer closes, and a stalled
// handler group reported by the health indicator.
require('reflect-metadata')
const dc = require('diagnostics_channel')
const net = require('net')
const { Injectable, Controller, Get, Module, Inject } = require('@nestjs/common')
const { Test } = require('@nestjs/testing')
const { TerminusModule, HealthCheckService, HealthCheck } = require('@nestjs/terminus')
const { logLevel } = require('..')
const { KafkaModule, EventHandler, KafkaProducerService, EventHandlerRegistry, KafkaHealthIndicator, KAFKA_SETTINGS } = require('../nestjs')
const { unique, deferred, within, consumeUntil, inbox, adminOf, startCluster } = require('./helpers')

// JavaScript has no decorator syntax yet: apply them as TypeScript's emitted code does.
const onMethod = (Class, method, ...decorators) => Reflect.decorate(decorators, Class.prototype, method, Object.getOwnPropertyDescriptor(Class.prototype, method))
const inject = (Class, ...types) => Reflect.defineMetadata('design:paramtypes', types, Class)

const headerText = (m, name) => m.headers?.[name]?.toString()

/** A terminus health controller exactly as seed 001 documents it. */
function healthController() {
  class HealthController {
    constructor(health, kafkaHealth) { this.health = health; this.kafkaHealth = kafkaHealth }
    check() { return this.health.check([() => this.kafkaHealth.isHealthy('kafka')]) }
  }
  onMethod(HealthController, 'check', Get(), HealthCheck())
  Controller('health')(HealthController)
  inject(HealthController, HealthCheckService, KafkaHealthIndicator)
  return HealthController
}

describe('a NestJS 11 application on KafkaModule', () => {
  let cluster
  let kafka
  let app
  let url
  const statusTopic = unique('billing')
  const created = inbox()
  const orders = inbox()
  const statuses = inbox()
  const failures = []
  const config = { brokers: null }

  class OrdersEventHandler {
    async handleOrderCreated(event, context) { created.push({ event, context }) }
    async handleAnyOrder(event, context) { orders.push({ event, context }) }
  }
  onMethod(OrdersEventHandler, 'handleOrderCreated', EventHandler({ eventName: 'projects.order.created' }))
  onMethod(OrdersEventHandler, 'handleAnyOrder', EventHandler({ eventName: 'projects.order.*', topics: ['fsm.projects'], groupId: unique('orders-all') }))
  Injectable()(OrdersEventHandler)

  class BillingHandler {
    async onStatus(event, context) { statuses.push({ event, context }) }
    async onPaymentFailed(event, context) {
      failures.push(context.attempt)
      throw new Error(`payment gateway down for ${event.paymentId}`)
    }
  }
  onMethod(BillingHandler, 'onStatus', EventHandler({ eventName: '*.status_changed', topics: [statusTopic], fromBeginning: true }))
  onMethod(BillingHandler, 'onPaymentFailed', EventHandler({ eventName: 'contracts.payment.failed' }))
  Injectable()(BillingHandler)

  const CONFIG = Symbol('config')
  class ConfigModule {}
  Module({ providers: [{ provide: CONFIG, useValue: config }], exports: [CONFIG] })(ConfigModule)

  beforeAll(async () => {
    ;({ cluster, kafka } = startCluster(1))
    for (const t of ['fsm.projects', 'fsm.contracts', 'dlq.processing_errors', statusTopic]) cluster.createTopic(t, 2, 1)
    config.brokers = cluster.brokers
    const moduleRef = await Test.createTestingModule({
      imports: [
        KafkaModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (c) => ({ brokers: c.brokers, clientId: 'nest-test', logLevel: logLevel.NOTHING, retryPolicy: { maxRetries: 1, initialRetryTimeMs: 50 }, healthCheckTimeoutMs: 1000 }),
        }),
        TerminusModule,
      ],
      controllers: [healthController()],
      providers: [OrdersEventHandler, BillingHandler],
    }).compile()
    app = moduleRef.createNestApplication({ logger: false })
    await app.listen(0, '127.0.0.1')
    url = `${await app.getUrl()}/health`.replace('[::1]', '127.0.0.1')
  })

  afterAll(async () => {
    await app?.close()
    cluster?.close()
  })

  test('the registry found every decorated method, with derived topics and generated group ids', () => {
    const handlers = app.get(EventHandlerRegistry).getHandlers().map((h) => [h.className, h.methodName, h.topics, h.groupId])
    expect(handlers).toEqual(expect.arrayContaining([
      ['OrdersEventHandler', 'handleOrderCreated', ['fsm.projects'], 'nest-test-OrdersEventHandler-handleOrderCreated'],
      ['OrdersEventHandler', 'handleAnyOrder', ['fsm.projects'], expect.stringMatching(/^orders-all-/)],
      ['BillingHandler', 'onStatus', [statusTopic], 'nest-test-BillingHandler-onStatus'],
      ['BillingHandler', 'onPaymentFailed', ['fsm.contracts'], 'nest-test-BillingHandler-onPaymentFailed'],
    ]))
    expect(handlers).toHaveLength(4)
  })

  test('GET /health is up with the producer and every group running', async () => {
    const res = await fetch(url)
    const body = await res.json()
    expect(res.status).toBe(200)
    expect(body.status).toBe('ok')
    expect(body.details.kafka).toMatchObject({ status: 'up', producer: { connected: true, brokersReachable: true }, consumer: { enabled: true, totalConsumers: 4 } })
  })

  test('decorated handlers receive events: exact name with a derived topic, a wildcard with explicit topics, a name read from the value', async () => {
    const producer = app.get(KafkaProducerService)
    await producer.sendEvent('projects.order.created', { orderId: '123' }, 'corr-123')
    await producer.sendEvent('projects.order.updated', { orderId: '123', total: 50 })
    await producer.send(statusTopic, { type: 'invoice.status_changed', invoiceId: 'inv-1' }, 'inv-1')

    const got = await created.waitFor((x) => x.event.orderId === '123')
    expect(got.event).toEqual(expect.objectContaining({ orderId: '123', event_name: 'projects.order.created', correlation_id: 'corr-123' }))
    expect(got.context).toEqual(expect.objectContaining({ topic: 'fsm.projects', partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/) }))
    expect(got.context.headers).toEqual(expect.objectContaining({ 'event-name': 'projects.order.created', 'correlation-id': 'corr-123' }))

    const names = async (...expected) => {
      for (const n of expected) await orders.waitFor((x) => x.event.event_name === n, 20000, n)
      return orders.seen.map((x) => x.event.event_name).sort()
    }
    expect(await names('projects.order.created', 'projects.order.updated')).toEqual(['projects.order.created', 'projects.order.updated'])
    const status = await statuses.waitFor((x) => x.event.invoiceId === 'inv-1')
    expect(status.context).toMatchObject({ topic: statusTopic, eventName: 'invoice.status_changed', key: 'inv-1' })
    // The exact-name handler shares a topic with the update but never saw it.
    expect(created.seen.map((x) => x.event.event_name)).toEqual(['projects.order.created'])
  })

  test('a throwing handler is retried, then its event lands in dlq.processing_errors with the failure context', async () => {
    await app.get(KafkaProducerService).sendEvent('contracts.payment.failed', { paymentId: 'pay-9' }, 'corr-pay-9')
    const [dead] = await consumeUntil(kafka, { topics: ['dlq.processing_errors'], done: (seen) => seen.length >= 1 })
    const m = dead.message
    expect(JSON.parse(m.value.toString())).toEqual(expect.objectContaining({ paymentId: 'pay-9', event_name: 'contracts.payment.failed' }))
    expect(headerText(m, 'dlq-original-topic')).toBe('fsm.contracts')
    expect(headerText(m, 'dlq-original-partition')).toMatch(/^[01]$/)
    expect(headerText(m, 'dlq-original-offset')).toMatch(/^\d+$/)
    expect(headerText(m, 'dlq-consumer-group')).toBe('nest-test-BillingHandler-onPaymentFailed')
    expect(headerText(m, 'dlq-error-message')).toBe('payment gateway down for pay-9')
    expect(headerText(m, 'dlq-error-stack')).toContain('onPaymentFailed')
    expect(new Date(headerText(m, 'dlq-failed-at')).getTime()).toBeGreaterThan(Date.now() - 60000)
    expect(headerText(m, 'dlq-attempts')).toBe('2')
    expect(headerText(m, 'dlq-correlation-id')).toBe('corr-pay-9')
    expect(headerText(m, 'event-name')).toBe('contracts.payment.failed')
    expect(failures).toEqual([1, 2])
  })

  test('GET /health turns 503 with the kafka indicator down while the broker is down, and up again after', async () => {
    cluster.brokerDown(1)
    try {
      const res = await fetch(url)
      const body = await res.json()
      expect(res.status).toBe(503)
      expect(body.status).toBe('error')
      expect(body.error.kafka).toMatchObject({ status: 'down', producer: { brokersReachable: false } })
    } finally {
      cluster.brokerUp(1)
    }
    const again = await fetch(url)
    expect(again.status).toBe(200)
  })
})

test('KAFKA_ENABLED=false (seed 001 test setup): nothing connects, handlers do not start, sends go to the dev sink', async () => {
  const connections = []
  const server = net.createServer((socket) => { connections.push(socket.remoteAddress); socket.destroy() })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const saved = { ...process.env }
  process.env.KAFKA_ENABLED = 'false'
  process.env.KAFKA_BROKERS = `127.0.0.1:${server.address().port}`
  const mockHandler = jest.fn()
  class MyService {
    async handleTestEvent(event, context) { return mockHandler(event, context) }
  }
  onMethod(MyService, 'handleTestEvent', EventHandler({ eventName: 'test.event' }))
  Injectable()(MyService)
  try {
    const module = await Test.createTestingModule({ imports: [KafkaModule], providers: [MyService] }).compile()
    module.useLogger(false)
    await module.init()
    const producer = module.get(KafkaProducerService)
    expect(module.get(KAFKA_SETTINGS).enabled).toBe(false)
    expect(await producer.sendEvent('test.event', { orderId: '123' })).toEqual([])
    expect(producer.devSink).toEqual([expect.objectContaining({ topic: 'test.event', value: expect.objectContaining({ orderId: '123' }) })])
    expect(module.get(EventHandlerRegistry).getHandlers()).toEqual([])
    expect(await module.get(KafkaHealthIndicator).isHealthy('kafka')).toEqual({ kafka: expect.objectContaining({ status: 'up', producer: expect.objectContaining({ enabled: false }) }) })
    // The handler stays callable directly, as the seed's mocking example does.
    await module.get(MyService).handleTestEvent({ orderId: '123' }, {})
    expect(mockHandler).toHaveBeenCalledWith(expect.objectContaining({ orderId: '123' }), expect.any(Object))
    await module.close()
    expect(connections).toEqual([])
  } finally {
    process.env = saved
    await new Promise((resolve) => server.close(resolve))
  }
})

test('app.close() lets an in-flight handler finish (its own send included), commits its offset, then closes the producer', async () => {
  const { cluster, kafka } = startCluster(1)
  const jobEvent = unique('job.requested')
  const followUp = unique('jobs-done')
  cluster.createTopic(jobEvent, 1, 1)
  cluster.createTopic(followUp, 1, 1)
  const saved = { ...process.env }
  process.env.KAFKA_BROKERS = cluster.bootstrapServers
  process.env.KAFKA_CLIENT_ID = 'drain-test'
  const started = deferred()
  const order = []
  const groupId = unique('drain')
  class JobsHandler {
    constructor(producer) { this.producer = producer }
    async onJob(event) {
      started.resolve()
      // A slow handler: still running when close() is called.
      await new Promise((resolve) => setTimeout(resolve, 500))
      await this.producer.send(followUp, { done: event.jobId })
      order.push('handler finished')
    }
  }
  // No topics: an unmapped event name is its own topic.
  onMethod(JobsHandler, 'onJob', EventHandler({ eventName: jobEvent, groupId }))
  Injectable()(JobsHandler)
  Inject(KafkaProducerService)(JobsHandler, undefined, 0)
  let app
  try {
    const moduleRef = await Test.createTestingModule({ imports: [KafkaModule], providers: [JobsHandler] }).compile()
    app = moduleRef.createNestApplication({ logger: false })
    await app.init()
    const sent = await app.get(KafkaProducerService).sendEvent(jobEvent, { jobId: 'j-1' })
    expect(sent[0].topicName).toBe(jobEvent)
    await within(20000, started.promise, 'the handler starting')
    const closing = app
    app = null
    await closing.close()
    order.push('closed')
    expect(order).toEqual(['handler finished', 'closed'])
    const committed = await adminOf(kafka, (admin) => admin.fetchOffsets({ groupId, topics: [jobEvent] }))
    expect(committed[0].partitions[0].offset).toBe(String(Number(sent[0].baseOffset) + 1))
    const [done] = await consumeUntil(kafka, { topics: [followUp], done: (seen) => seen.length >= 1 })
    expect(JSON.parse(done.message.value.toString())).toEqual({ done: 'j-1' })
  } finally {
    process.env = saved
    await app?.close()
    cluster.close()
  }
})

test('a stalled handler group turns KafkaHealthIndicator down (stalled: true on the group) until it moves again', async () => {
  const { cluster } = startCluster(1)
  const eventName = unique('stall.event')
  cluster.createTopic(eventName, 1, 1)
  const gate = deferred()
  const started = deferred()
  class SlowHandler {
    async onEvent() { started.resolve(); await gate.promise }
  }
  onMethod(SlowHandler, 'onEvent', EventHandler({ eventName }))
  Injectable()(SlowHandler)
  const groupId = 'stall-test-SlowHandler-onEvent'
  // The consumer's own STALLED/RECOVERED events, as published on diagnostics_channel.
  const stalled = deferred()
  const recovered = deferred()
  const onStalled = (m) => { if (m.payload.groupId === groupId) stalled.resolve(m.payload) }
  const onRecovered = (m) => { if (m.payload.groupId === groupId) recovered.resolve(m.payload) }
  dc.subscribe('ferrokafka:consumer.stalled', onStalled)
  dc.subscribe('ferrokafka:consumer.recovered', onRecovered)
  let app
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [KafkaModule.forRoot({ brokers: cluster.brokers, clientId: 'stall-test', logLevel: logLevel.NOTHING, stallTimeoutMs: 1000, healthCheckTimeoutMs: 1000 })],
      providers: [SlowHandler],
    }).compile()
    app = moduleRef.createNestApplication({ logger: false })
    await app.init()
    const indicator = app.get(KafkaHealthIndicator)
    expect(await indicator.isConsumerHealthy('kafka')).toMatchObject({ kafka: { status: 'up', groups: { [groupId]: { running: true, stalled: false } } } })
    const producer = app.get(KafkaProducerService)
    await producer.sendEvent(eventName, { n: 1 })
    await producer.sendEvent(eventName, { n: 2 })
    await within(20000, started.promise, 'the handler starting')
    await within(20000, stalled.promise, 'the group reported stalled')
    const down = await indicator.isConsumerHealthy('kafka').then(() => null, (e) => e)
    expect(down?.causes).toMatchObject({ kafka: { status: 'down', groups: { [groupId]: { running: true, stalled: true } } } })
    gate.resolve()
    await within(20000, recovered.promise, 'the group recovering')
    expect(await indicator.isConsumerHealthy('kafka')).toMatchObject({ kafka: { status: 'up', groups: { [groupId]: { stalled: false } } } })
  } finally {
    gate.resolve()
    dc.unsubscribe('ferrokafka:consumer.stalled', onStalled)
    dc.unsubscribe('ferrokafka:consumer.recovered', onRecovered)
    await app?.close()
    cluster.close()
  }
}, 60_000)

test("NestJS stays optional: require('ferrokafka') loads no @nestjs package, require('ferrokafka/nestjs') does", () => {
  const { execFileSync } = require('child_process')
  const loaded = (entry) => execFileSync(process.execPath, ['-e',
    `require(${JSON.stringify(entry)}); console.log(Object.keys(require.cache).filter((f) => f.includes('/@nestjs/')).length)`], { encoding: 'utf8', cwd: __dirname }).trim()
  expect(loaded('..')).toBe('0')
  expect(Number(loaded('../nestjs'))).toBeGreaterThan(0)
})
