// The checks shared by nestjs10-, nestjs11- and nestjs12-module.test.js on the result of
// fixtures/nest-module-scenario.cjs.

/** Asserts the scenario's result for an application on NestJS `major`. */
function expectModuleScenario(result, major) {
  // ferrokafka/nestjs resolved the application's NestJS, not a second copy.
  expect(result.nestSeenByFacade).toMatch(new RegExp(`^${major}\\.`))
  expect(result.handlers).toEqual([
    ['OrdersHandler', 'onCreated', ['fsm.projects'], 'nest-app-OrdersHandler-onCreated'],
    ['BillingHandler', 'onPaymentFailed', ['fsm.contracts'], 'nest-app-BillingHandler-onPaymentFailed'],
  ])

  expect(result.healthUp.status).toBe(200)
  expect(result.healthUp.body).toMatchObject({
    status: 'ok',
    details: { kafka: { status: 'up', producer: { connected: true, brokersReachable: true }, consumer: { enabled: true, totalConsumers: 2 } } },
  })
  expect(result.healthDown.status).toBe(503)
  expect(result.healthDown.body).toMatchObject({ status: 'error', error: { kafka: { status: 'down', producer: { brokersReachable: false } } } })
  expect(result.healthAgain.status).toBe(200)

  expect(result.event).toEqual(expect.objectContaining({ orderId: 'o-1', event_name: 'projects.order.created', correlation_id: 'corr-1' }))
  expect(result.context).toMatchObject({
    topic: 'fsm.projects', partition: 0, offset: '0', eventName: 'projects.order.created', correlationId: 'corr-1', attempt: 1,
    groupId: 'nest-app-OrdersHandler-onCreated',
  })

  // retryPolicy.maxRetries 1: two calls, then the DLQ.
  expect(result.paymentAttempts).toEqual([1, 2])
  const { value, headers } = result.dead
  expect(value).toEqual(expect.objectContaining({ paymentId: 'pay-9', event_name: 'contracts.payment.failed' }))
  expect(headers).toMatchObject({
    'dlq-original-topic': 'fsm.contracts', 'dlq-original-partition': '0', 'dlq-original-offset': '0',
    'dlq-consumer-group': 'nest-app-BillingHandler-onPaymentFailed', 'dlq-error-name': 'Error',
    'dlq-error-message': 'payment gateway down for pay-9', 'dlq-attempts': '2', 'dlq-correlation-id': 'corr-pay-9',
    'event-name': 'contracts.payment.failed',
  })
  expect(headers['dlq-error-stack']).toContain('onPaymentFailed')
}

/** The figures every module test prints. */
const figures = (r) => `start ${r.startMs} ms, event handled ${r.receivedMs} ms, dead-lettered ${r.deadLetterMs} ms, close ${r.closeMs} ms`

/**
 * The module test of one NestJS major: installs `fixtures/<fixture>` (see nest-apps.js), runs
 * `script` there and checks the shared scenario's result.
 */
function moduleSuite({ major, fixture, script, what }) {
  const { installedFixture, runApp } = require('./nest-apps')
  let app
  beforeAll(() => {
    app = installedFixture(fixture, { prefix: `nest${major}-module`, shared: ['nest-module-scenario.cjs', 'nest-scenario-kit.cjs', 'nest-module-app.cjs'] })
  }, 180_000)

  test(`KafkaModule, @EventHandler, the DLQ and KafkaHealthIndicator in a NestJS ${major} application (${what})`, async () => {
    const run = await runApp(app, script, {}, 60_000, `the NestJS ${major} app`)
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' })
    expectModuleScenario(run.result, major)
    console.log(`ferrokafka/nestjs on NestJS ${major}: ${figures(run.result)}`)
  }, 70_000)
}

module.exports = { expectModuleScenario, figures, moduleSuite }
