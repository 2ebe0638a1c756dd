// The runnable examples of the seeds' READMEs: each starts its own MockCluster, runs every
// documented usage example in order, prints one line per example and exits on its own.
const { spawnSync } = require('child_process')
const path = require('path')

const run = (name) => {
  const file = path.join(__dirname, '..', 'examples', name, 'index.js')
  const r = spawnSync(process.execPath, [file], { timeout: 90000, encoding: 'utf8' })
  // On failure, show what the program printed.
  if (r.status !== 0) console.error(`${name} exited with ${r.status} (${r.signal ?? 'no signal'}):\n${r.stdout}\n${r.stderr}`)
  return r
}

const stepLines = (stdout) => stdout.split('\n').filter((l) => /^\[\d+\] /.test(l))

test('seed-000: producer, consumer, event bus, validation, batch, transaction and error-handling examples', () => {
  const r = run('seed-000')
  expect(r.error).toBeUndefined()
  expect(r.signal).toBeNull()
  expect(r.status).toBe(0)
  const steps = stepLines(r.stdout)
  expect(steps).toEqual([
    expect.stringMatching(/^\[1\] producer: sent a message and a domain event to policy\.created, disconnected$/),
    expect.stringMatching(/^\[2\] consumer: policy-service handled policy\.created \(POL-12346\) and policy\.updated \(premium 1300\)$/),
    expect.stringMatching(/^\[3\] event bus: published, claims-service received policy\.cancelled \(correlation [0-9a-f-]{36}\), shut down$/),
    expect.stringMatching(/^\[4\] validation: valid event accepted; invalid rejected \(.*customerId.*premium.*\); validateEvent threw EventValidationError$/),
    expect.stringMatching(/^\[5\] batch processing: analytics-service processed 5 events/),
    expect.stringMatching(/^\[6\] transaction: policy\.created and payment\.initiated committed together$/),
    expect.stringMatching(/^\[7\] error handling: policy-999 sent to dlq\.policy\.created with error "policy POL-99999 has no customer"$/),
  ])
  // The documented handlers' own output.
  expect(r.stdout).toMatch(/^Policy created: /m)
  expect(r.stdout).toMatch(/^Policy updated: /m)
  expect(r.stdout).toMatch(/^Received policy\.cancelled: /m)
  expect(r.stdout).toMatch(/^Valid event: /m)
  expect(r.stdout.trimEnd().split('\n').pop()).toBe('seed-000: all 7 examples ran')
})

test('seed-001: a NestJS app on ferrokafka/nestjs: @EventHandler patterns, topic mapping, terminus /health, DLQ, best practices, KAFKA_ENABLED=false', () => {
  const r = run('seed-001')
  expect(r.error).toBeUndefined()
  expect(r.signal).toBeNull()
  expect(r.status).toBe(0)
  expect(stepLines(r.stdout)).toEqual([
    '[1] quick start: OrdersEventHandler (group orders-creation-handler) received order.created for ORD-1 from fsm.projects',
    "[2] patterns: order.created -> order.created; order.* -> order.cancelled,order.created,order.status_changed,order.updated; *.status_changed -> order.status_changed; * -> 4 events; one service's created/updated/cancelled handlers ran 1/1/1 time(s)",
    '[3] topic mapping: custom.event from my-custom-topic; projects.service_order.created from fsm.projects',
    '[4] health: GET /health -> 200 ok, kafka up (14 consumer groups)',
    expect.stringMatching(/^\[5\] error handling: INV-9 dead-lettered after 4 attempts \(fsm\.billing\[\d\]@0, group billing-invoice-rejections, error "Processing failed", correlation corr-inv-9\); INV-10 handled manually, not dead-lettered$/),
    '[6] best practices: the repeated contract was processed then skipped; the follow-up event kept correlation id corr-ct-1',
    '[7] testing: KAFKA_ENABLED=false connected nothing, recorded 1 send to test.event; the mocked handler was called with orderId 123',
  ])
  expect(r.stdout).toMatch(/^Received order\.created event \| order: ORD-1 /m)
  expect(r.stdout.trimEnd().split('\n').pop()).toBe('seed-001: all 7 examples ran')
})

test('seed-002: EventProducer, EventConsumer and DLQHandler examples', () => {
  const r = run('seed-002')
  expect(r.error).toBeUndefined()
  expect(r.signal).toBeNull()
  expect(r.status).toBe(0)
  expect(stepLines(r.stdout)).toEqual([
    '[1] producer: sendMessage -> employee.onboard, sendToOrganizationTopic -> employee.onboard.org-456',
    '[2] consumer: my-consumer-group processed employee.onboard for emp-125 (organization org-456)',
    '[3] dlq handler: replayed emp-126 to employee.onboard.org-456 (dlq-reprocess-count 1); stats received=1 reprocessed=1',
  ])
  expect(r.stdout).toMatch(/^Processing onboarding: /m)
  expect(r.stdout.trimEnd().split('\n').pop()).toBe('seed-002: all 3 examples ran')
})

test('seed-003: the kafkaService producer, consumer, error-handling, health, dev-mode and shutdown examples', () => {
  const r = run('seed-003')
  expect(r.signal).toBeNull()
  expect(r.status).toBe(0)
  expect(stepLines(r.stdout)).toHaveLength(7)
  expect(r.stdout).toMatch(/^\[5\] health: connected, consumers 1 \(event-processor\), brokers 127\.0\.0\.1:\d+$/m)
  expect(r.stdout).toMatch(/^Processing login for user: u1$/m)
  expect(r.stdout).toMatch(/^Kafka not available, implementing fallback\.\.\.$/m)
  expect(r.stdout).toMatch(/^\[DEV\] Would send to test-topic: \{"message":"Hello World"\}$/m)
  expect(r.stdout.trimEnd().split('\n').pop()).toBe('seed-003: all 7 examples ran')
})

test('seed-004: getKafkaService publishEvent/subscribe examples across two consumer groups', () => {
  const r = run('seed-004')
  expect(r.signal).toBeNull()
  expect(r.status).toBe(0)
  expect(r.stdout).toMatch(/^\[4\] consumed: analytics:USER_CREATED, analytics:USER_LOGIN, analytics:USER_UPDATED, login, welcome$/m)
  expect(r.stdout).toMatch(/^Welcome email to ada@example\.com \(Ada\)$/m)
  // Seed 004's documented health shape: a group count and a comma string of brokers.
  expect(r.stdout).toMatch(/^\[5\] health: connected=true, producer=true, consumers=2 \(etelios-analytics-service etelios-notification-service\), brokers 127\.0\.0\.1:\d+$/m)
  expect(r.stdout.trimEnd().split('\n').pop()).toBe('seed-004: all 5 examples ran')
})
