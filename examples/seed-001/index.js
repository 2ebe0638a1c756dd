// Seed 001's README (the NestJS Kafka module of an FSM platform), every usage example in order, on
// `ferrokafka/nestjs` in a NestJS 11 application against an embedded MockCluster, with a terminus
// /health endpoint served over HTTP. The documented handlers are kept as written; JavaScript has no
// decorator syntax yet, so decorators are applied as TypeScript's compiled output applies them.
// One line per example, then a summary; exits on its own.
//
//   node examples/seed-001/index.js
require('reflect-metadata')
const { Injectable, Logger, Controller, Get, Module, Inject } = require('@nestjs/common')
const { NestFactory } = require('@nestjs/core')
const { Test } = require('@nestjs/testing')
const { TerminusModule, HealthCheckService, HealthCheck } = require('@nestjs/terminus')
const { MockCluster } = require('../../testing')
const { Kafka, logLevel, readDeadLetters } = require('../..')
const { KafkaModule, EventHandler, KafkaProducerService, KafkaHealthIndicator } = require('../../nestjs')

const onMethod = (Class, method, ...decorators) => Reflect.decorate(decorators, Class.prototype, method, Object.getOwnPropertyDescriptor(Class.prototype, method))
const injectable = (Class, ...deps) => { deps.forEach((d, i) => Inject(d)(Class, undefined, i)); Injectable()(Class); return Class }

/** Resolves when `n` items arrived under `name`; bounded so a broken example fails instead of hanging. */
const seen = {}
const waiters = []
function record(name, item) {
  ;(seen[name] = seen[name] ?? []).push(item)
  for (const w of waiters.filter((w) => w.name === name && seen[name].length >= w.n)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(seen[name]) }
}
function waitFor(name, n = 1) {
  if ((seen[name]?.length ?? 0) >= n) return Promise.resolve(seen[name])
  return new Promise((resolve, reject) => {
    waiters.push({ name, n, resolve })
    setTimeout(() => reject(new Error(`${name}: fewer than ${n} event(s) within 30 s (got ${JSON.stringify(seen[name] ?? [])})`)), 30_000).unref()
  })
}

// 2. Create an Event Handler (Quick Start).
class OrdersEventHandler {
  constructor() { this.logger = new Logger(OrdersEventHandler.name) }
  async handleOrderCreated(event, context) {
    this.logger.log(`Received order.created event | order: ${event.orderId}`)
    console.log(`Received order.created event | order: ${event.orderId} (${context.topic}[${context.partition}]@${context.offset})`)
    record('quick-start', event.orderId)
  }
}
onMethod(OrdersEventHandler, 'handleOrderCreated', EventHandler({ eventName: 'order.created', topics: ['fsm.projects'], groupId: 'orders-creation-handler' }))
injectable(OrdersEventHandler)

// Event name patterns, and several handlers in one service.
class PatternHandlers {
  async exact(event) { record('exact order.created', event.event_name) }
  async allOrders(event) { record('order.*', event.event_name) }
  async statusChanges(event) { record('*.status_changed', event.event_name) }
  async everything(event) { record('*', event.event_name) }
  async handleCreated(event) { record('handleCreated', event.event_name) }
  async handleUpdated(event) { record('handleUpdated', event.event_name) }
  async handleCancelled(event) { record('handleCancelled', event.event_name) }
}
onMethod(PatternHandlers, 'exact', EventHandler({ eventName: 'order.created' }))
onMethod(PatternHandlers, 'allOrders', EventHandler({ eventName: 'order.*' }))
onMethod(PatternHandlers, 'statusChanges', EventHandler({ eventName: '*.status_changed' }))
onMethod(PatternHandlers, 'everything', EventHandler({ eventName: '*' }))
onMethod(PatternHandlers, 'handleCreated', EventHandler({ eventName: 'order.created' }))
onMethod(PatternHandlers, 'handleUpdated', EventHandler({ eventName: 'order.updated' }))
onMethod(PatternHandlers, 'handleCancelled', EventHandler({ eventName: 'order.cancelled' }))
injectable(PatternHandlers)

// Topic mapping: a derived domain topic, and an override.
class MappingHandlers {
  async serviceOrder(event, context) { record('mapping', `${event.event_name} from ${context.topic}`) }
  async custom(event, context) { record('mapping', `${event.event_name} from ${context.topic}`) }
}
onMethod(MappingHandlers, 'serviceOrder', EventHandler({ eventName: 'projects.service_order.created' }))
onMethod(MappingHandlers, 'custom', EventHandler({ eventName: 'custom.event', topics: ['my-custom-topic'] }))
injectable(MappingHandlers)

// Error handling: automatic DLQ, and manual handling that does not re-throw.
class BillingHandlers {
  constructor() { this.logger = new Logger(BillingHandlers.name) }
  async handleInvoiceRejected(event, context) {
    record('dlq attempts', context.attempt)
    // If this throws an error, the message will be sent to DLQ
    throw new Error('Processing failed')
  }
  async handleInvoicePaid(event) {
    try {
      if (!event.amount) throw new Error(`invoice ${event.invoiceId} has no amount`)
    } catch (error) {
      this.logger.error('Failed to process event', error.message)
      record('manual', event.invoiceId) // not re-thrown: no DLQ
    }
  }
}
onMethod(BillingHandlers, 'handleInvoiceRejected', EventHandler({ eventName: 'invoice.rejected', groupId: 'billing-invoice-rejections' }))
onMethod(BillingHandlers, 'handleInvoicePaid', EventHandler({ eventName: 'invoice.paid', groupId: 'billing-invoice-processor' }))
injectable(BillingHandlers)

// Best practices: idempotent handlers, correlation ids propagated downstream.
class ContractsHandler {
  constructor(producer) { this.producer = producer; this.processed = new Set() }
  async handleSigned(event, context) {
    const { contractId } = event
    if (this.processed.has(contractId)) {
      console.log(`Contract ${contractId} already processed, skipping`)
      record('idempotent', 'skipped')
      return
    }
    this.processed.add(contractId)
    const correlationId = context.headers['correlation-id'] || event.correlation_id
    await this.producer.sendEvent('contracts.document.archived', { contractId }, correlationId)
    record('idempotent', 'processed')
  }
  async handleArchived(event, context) { record('correlation', context.headers['correlation-id']) }
}
onMethod(ContractsHandler, 'handleSigned', EventHandler({ eventName: 'contracts.document.signed', groupId: 'contracts-signature-processor' }))
onMethod(ContractsHandler, 'handleArchived', EventHandler({ eventName: 'contracts.document.archived', groupId: 'contracts-archive-auditor' }))
injectable(ContractsHandler, KafkaProducerService)

// Health Checks: the documented controller.
class HealthController {
  constructor(health, kafkaHealth) { this.health = health; this.kafkaHealth = kafkaHealth }
  check() { return this.health.check([() => this.kafkaHealth.isHealthy('kafka')]) }
}
onMethod(HealthController, 'check', Get(), HealthCheck())
Controller('health')(HealthController)
injectable(HealthController, HealthCheckService, KafkaHealthIndicator)

class AppModule {}
Module({
  imports: [KafkaModule, TerminusModule],
  controllers: [HealthController],
  providers: [OrdersEventHandler, PatternHandlers, MappingHandlers, BillingHandlers, ContractsHandler],
})(AppModule)

async function main() {
  const cluster = new MockCluster({ brokers: 1 })
  const topics = ['fsm.projects', 'fsm.assignments', 'fsm.scheduling', 'fsm.execution', 'fsm.contracts', 'fsm.billing', 'my-custom-topic', 'dlq.processing_errors']
  for (const t of topics) cluster.createTopic(t, 3, 1)
  // 1. The documented .env, pointed at the embedded cluster; `order.*` and `invoice.*` events get domain topics too.
  Object.assign(process.env, {
    KAFKA_ENABLED: 'true', KAFKA_BROKERS: cluster.bootstrapServers, KAFKA_CLIENT_ID: 'fsm-platform', KAFKA_DLQ_TOPIC: 'dlq.processing_errors',
    KAFKA_ORDER_TOPIC: 'fsm.projects', KAFKA_INVOICE_TOPIC: 'fsm.billing',
  })
  let ran = 0
  const step = (line) => console.log(`[${++ran}] ${line}`)

  const app = await NestFactory.create(AppModule, { logger: ['error'] })
  await app.listen(0, '127.0.0.1')
  const producer = app.get(KafkaProducerService)

  // 3. Register Handler in Module: discovered; handle an order.created.
  await producer.sendEvent('order.created', { orderId: 'ORD-1' })
  await waitFor('quick-start')
  step('quick start: OrdersEventHandler (group orders-creation-handler) received order.created for ORD-1 from fsm.projects')

  await producer.sendEvent('order.updated', { orderId: 'ORD-1' })
  await producer.sendEvent('order.cancelled', { orderId: 'ORD-1' })
  await producer.sendEvent('order.status_changed', { orderId: 'ORD-1', status: 'closed' })
  await Promise.all([waitFor('exact order.created'), waitFor('order.*', 4), waitFor('*.status_changed'), waitFor('*', 4),
    waitFor('handleCreated'), waitFor('handleUpdated'), waitFor('handleCancelled')])
  const names = (k) => [...new Set(seen[k])].sort().join(',')
  step(`patterns: order.created -> ${names('exact order.created')}; order.* -> ${names('order.*')}; *.status_changed -> ${names('*.status_changed')}; * -> ${seen['*'].length} events; one service's created/updated/cancelled handlers ran ${['handleCreated', 'handleUpdated', 'handleCancelled'].map((k) => seen[k].length).join('/')} time(s)`)

  await producer.sendEvent('projects.service_order.created', { serviceOrderId: 'SO-7' })
  await producer.send('my-custom-topic', { event_name: 'custom.event', id: 'c-1' })
  await waitFor('mapping', 2)
  step(`topic mapping: ${[...seen.mapping].sort().join('; ')}`)

  const res = await fetch(`http://127.0.0.1:${app.getHttpServer().address().port}/health`)
  const health = await res.json()
  step(`health: GET /health -> ${res.status} ${health.status}, kafka ${health.details.kafka.status} (${health.details.kafka.consumer.totalConsumers} consumer groups)`)

  await producer.sendEvent('invoice.rejected', { invoiceId: 'INV-9' }, 'corr-inv-9')
  await producer.sendEvent('invoice.paid', { invoiceId: 'INV-10' })
  await waitFor('manual')
  const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING })
  let dead = []
  while (dead.length === 0) {
    await waitFor('dlq attempts', 4)
    dead = await readDeadLetters(kafka, 'dlq.processing_errors')
  }
  const d = dead[0]
  step(`error handling: INV-9 dead-lettered after ${seen['dlq attempts'].length} attempts (${d.originalTopic}[${d.headers['dlq-original-partition']}]@${d.headers['dlq-original-offset']}, group ${d.headers['dlq-consumer-group']}, error "${d.errorMessage}", correlation ${d.headers['dlq-correlation-id']}); INV-10 handled manually, not dead-lettered`)

  // Keyed by contract: both land on one partition, in order.
  await producer.sendEvent('contracts.document.signed', { contractId: 'CT-1' }, 'corr-ct-1', 'CT-1')
  await producer.sendEvent('contracts.document.signed', { contractId: 'CT-1' }, 'corr-ct-1', 'CT-1')
  await Promise.all([waitFor('idempotent', 2), waitFor('correlation')])
  step(`best practices: the repeated contract was ${seen.idempotent.join(' then ')}; the follow-up event kept correlation id ${seen.correlation[0]}`)

  await app.close()

  // Testing: Disabling Kafka in Tests, and Mocking Event Handlers (a spy in place of jest.fn()).
  process.env.KAFKA_ENABLED = 'false'
  const calls = []
  const mockHandler = (...args) => { calls.push(args) }
  class MyService {
    async handleTestEvent(event, context) { return mockHandler(event, context) }
  }
  onMethod(MyService, 'handleTestEvent', EventHandler({ eventName: 'test.event' }))
  injectable(MyService)
  const testing = await Test.createTestingModule({ imports: [KafkaModule], providers: [MyService] }).compile()
  testing.useLogger(false)
  await testing.init()
  await testing.get(KafkaProducerService).sendEvent('test.event', { orderId: '123' })
  await testing.get(MyService).handleTestEvent({ orderId: '123' }, { topic: 'fsm.projects' })
  const sink = testing.get(KafkaProducerService).devSink
  await testing.close()
  step(`testing: KAFKA_ENABLED=false connected nothing, recorded ${sink.length} send to ${sink[0].topic}; the mocked handler was called with orderId ${calls[0][0].orderId}`)

  cluster.close()
  console.log(`seed-001: all ${ran} examples ran`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
