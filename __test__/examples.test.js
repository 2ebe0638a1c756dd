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
  expect(r.stdout.trimEnd().split('\n').pop()).toBe('seed-004: all 5 examples ran')
})
