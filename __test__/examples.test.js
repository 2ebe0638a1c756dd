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

test('seed-003: every kafkaService example: producer, consumers, dev mode, error handling, best practices, monitoring, patterns, test connection, SIGINT shutdown', () => {
  const r = run('seed-003')
  expect(r.error).toBeUndefined()
  expect(r.signal).toBeNull()
  expect(r.status).toBe(0)
  const at = String.raw`\[\d\]@\d+`
  expect(stepLines(r.stdout)).toEqual([
    '[1] producer: sent one message and an array of two to user-events',
    '[2] producer example: UserEventService published a login and an action',
    '[3] consumer: event-processor handled user-events and system-events on one group',
    '[4] development mode: logged instead of sent (1 recorded, nothing delivered)',
    '[5] error handling: a send before connectProducer() reported "not connected"',
    expect.stringMatching(new RegExp(`^\\[6\\] consumer error handling: job-1 processed \\(attempt 1\\); job-2 failed "downstream timeout" -> re-sent to jobs${at} -> processed \\(attempt 2\\); job-3 failed "invalid payload: amount is missing" -> dead-lettered to jobs\\.dlq${at}$`)),
    expect.stringMatching(new RegExp(`^\\[7\\] topic naming: acknowledged at user\\.events\\.login${at}, order\\.processing\\.payment${at}, system\\.alerts\\.error${at}$`)),
    expect.stringMatching(/^\[8\] message schema: msg-[0-9a-f-]{36} \(id, type, version, timestamp, source, data\) arrived at event-processor unchanged$/),
    '[9] consumer groups: analytics-service 3/3, notification-service 3/3, audit-service 3/3 of the same user.events.login records',
    expect.stringMatching(/^\[10\] health: connected, consumers 5 \(event-processor,job-worker,analytics-service,notification-service,audit-service\), brokers 127\.0\.0\.1:\d+$/),
    expect.stringMatching(/^\[11\] monitoring: GET \/health\/kafka -> 200 \{"status":"connected","clientId":"narad","brokers":\["127\.0\.0\.1:\d+"\]\}$/),
    '[12] event sourcing: ORDER_CREATED and ORDER_UPDATED for ORD-1 appended, orders.events went from 0 to 2 records',
    '[13] saga: order-saga handled ORDER_CREATED then PAYMENT_COMPLETED for ORD-2',
    '[14] test connection: test-topic went from 0 to 1 records',
    '[15] graceful shutdown: SIGINT handled, kafkaService disconnected (connected false, consumer groups 0)',
  ])
  // The documented handlers' own output.
  expect(r.stdout).toMatch(/^Published login event for user: user123$/m)
  expect(r.stdout).toMatch(/^Processing login for user: u1$/m)
  expect(r.stdout).toMatch(/^\[DEV\] Would send to test-topic: \{ message: 'Hello World' \}$/m)
  expect(r.stdout).toMatch(/^Kafka not available, implementing fallback\.\.\.$/m)
  expect(r.stderr).toMatch(/^Message processing failed: downstream timeout$/m)
  expect(r.stderr).toMatch(/^Message processing failed: invalid payload: amount is missing$/m)
  expect(r.stdout).toMatch(/^Kafka connected: true$/m)
  expect(r.stdout).toMatch(/^Saga started for ORD-2: payment of 99\.5 requested\nSaga continued for ORD-2: payment of 99\.5 completed, shipping next$/m)
  expect(r.stdout).toMatch(/^Kafka connection successful$/m)
  expect(r.stdout).not.toMatch(/Kafka connection failed/)
  // The SIGINT handler ran last: its own line, the shutdown step, then the summary.
  expect(r.stdout.trimEnd().split('\n').slice(-3)).toEqual([
    'Shutting down gracefully...',
    '[15] graceful shutdown: SIGINT handled, kafkaService disconnected (connected false, consumer groups 0)',
    'seed-003: all 15 examples ran',
  ])
})

test('seed-004: every getKafkaService example: two groups, publishing, health, event schema, error handling, idempotency, partition keys, Azure Event Hubs config', () => {
  const r = run('seed-004')
  expect(r.error).toBeUndefined()
  expect(r.signal).toBeNull()
  expect(r.status).toBe(0)
  const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
  const steps = stepLines(r.stdout)
  expect(steps).toEqual([
    '[1] consumers: notification-service subscribed to user.created and user.login',
    '[2] consumers: analytics-service subscribed to three user topics',
    '[3] publishing: USER_CREATED, USER_LOGIN, EMPLOYEE_CREATED and USER_UPDATED published with partition keys',
    '[4] consumed: analytics:USER_CREATED, analytics:USER_LOGIN, analytics:USER_UPDATED, login, welcome',
    // Seed 004's documented health shape: a group count and a comma string of brokers.
    expect.stringMatching(/^\[5\] health: connected=true, producer=true, consumers=2 \(etelios-analytics-service etelios-notification-service\), brokers 127\.0\.0\.1:\d+$/),
    expect.stringMatching(new RegExp(`^\\[6\\] event schema: USER_CREATED (${uuid}) arrived with metadata tenantId=tenant-42, source=auth-service, eventId=\\1 \\(the event's id\\)$`)),
    expect.stringMatching(new RegExp(`^\\[7\\] error handling: ${uuid} logged by logger\\.error, not rethrown \\(handled 1x\\); the next on its partition, ${uuid}, processed$`)),
    expect.stringMatching(new RegExp(`^\\[8\\] idempotency: ${uuid} \\(ORD-7\\) delivered 2x: processed then skipped; ${uuid} \\(ORD-8\\) delivered 1x: processed; 2 orders processed$`)),
    expect.stringMatching(/^\[9\] partition keys: u-7 -> partition [0-5] x3 \(offsets \d+,\d+,\d+\); u-8 -> partition [0-5] x3 \(offsets \d+,\d+,\d+\)$/),
    expect.stringMatching(/^\[10\] azure event hubs: brokers your-namespace\.servicebus\.windows\.net:9093, ssl true, sasl plain as \$ConnectionString; printed password "\[redacted\]"; process\.env restored \(brokers 127\.0\.0\.1:\d+\)$/),
  ])
  // One user's events: consecutive offsets on its one partition.
  for (const [, first, second, third] of steps[8].matchAll(/offsets (\d+),(\d+),(\d+)/g)) {
    expect([Number(second) - Number(first), Number(third) - Number(second)]).toEqual([1, 1])
  }
  // The documented handlers' own output.
  expect(r.stdout).toMatch(/^Welcome email to ada@example\.com \(Ada\)$/m)
  expect(r.stdout).toMatch(/^User logged in: u-1$/m)
  expect(r.stdout).toMatch(new RegExp(`^logger\\.error: Error processing event \\(${uuid}: invalid email "not-an-address"\\)$`, 'm'))
  expect(r.stdout.match(/^Reserving stock for ORD-7$/gm)).toHaveLength(1)
  expect(r.stdout).toMatch(/^Reserving stock for ORD-8$/m)
  // The Event Hubs config was printed, its password never.
  expect(r.stdout).toMatch(/username: '\$ConnectionString'/)
  expect(r.stdout).toMatch(/password: '\[redacted\]'/)
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/SharedAccessKey|not-a-real-key/)
  expect(r.stdout.trimEnd().split('\n').pop()).toBe('seed-004: all 10 examples ran')
})
