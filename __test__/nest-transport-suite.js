// The suite nestjs-transport.test.js (NestJS 11, CommonJS) and nestjs12-transport.test.js
// (NestJS 12, ESM) each run: their fixture installed from the registry into a cache directory
// outside the repo (see nest-apps.js), ferrokafka's packed files placed there as
// `node_modules/kafkajs`, and fixtures/nest-transport-scenario.cjs run by the app over a
// MockCluster in this process. Prints the timings.
const fs = require('fs')
const path = require('path')
const { MockCluster } = require('..')
const { installedFixture, runApp } = require('./nest-apps')

/**
 * The poison-event scenario of the transport fixtures: `run.deadLetter` (topic
 * order.checked.dlq, maxRetries 2) through NestJS's ServerKafka; ids 1, 3 and 4 are good, 2 throws.
 */
function expectPoisonDeadLettered({ result, stderr }) {
  // The handler saw the poison three times (first delivery + 2 retries), then the good events
  // after it on the same partition, in order: the partition was not blocked.
  expect(result.poisonAttempts).toEqual(['1', '1', '1'])
  expect(result.checked).toEqual([{ id: 1, offset: '0' }, { id: 3, offset: '2' }, { id: 4, offset: '3' }])
  const { key, value, headers } = result.dead
  expect({ key, value: JSON.parse(value) }).toEqual({ key: 'c-2', value: { id: 2, poison: true } })
  expect(headers).toMatchObject({
    'dlq-original-topic': 'order.checked', 'dlq-original-partition': '0', 'dlq-original-offset': '1',
    'dlq-consumer-group': 'srv-group-server', 'dlq-error-message': 'poison order 2', 'dlq-attempts': '3', 'dlq-non-retryable': 'false',
  })
  expect(headers['dlq-error-name']).toMatch(/Error|Exception/)
  expect(headers['dlq-error-stack']).toContain('poison order 2')
  expect(Date.now() - new Date(headers['dlq-failed-at']).getTime()).toBeLessThan(60_000)
  expect(Number(headers['dlq-original-timestamp'])).toBeGreaterThan(0)
  // Committed past the poison and the events after it.
  expect(result.committed).toBe('4')
  // The only errors logged are the consumer's three reports of the poison: retry, retry, dead-letter.
  const errors = stderr.split('\n').filter((l) => /ERROR/.test(l))
  expect(errors).toHaveLength(3)
  for (const line of errors) expect(line).toContain('poison order 2')
  expect(errors.map((l) => /"action":"([a-z-]+)"/.exec(l)?.[1])).toEqual(['retry', 'retry', 'dead-lettered'])
}

/** Defines the suite for NestJS `major`: `fixtures/<fixture>` started with `node <script>`. */
function transportSuite({ major, fixture, script }) {
  let app, cluster
  beforeAll(() => {
    app = installedFixture(fixture, { prefix: `nest${major}`, as: ['kafkajs'], shared: ['nest-transport-scenario.cjs', 'nest-scenario-kit.cjs'] })
    cluster = new MockCluster({ brokers: 1 })
    for (const t of ['math.sum', 'math.sum.reply', 'order.created', 'order.checked', 'order.checked.dlq']) cluster.createTopic(t, 1, 1)
  }, 180_000)
  afterAll(() => cluster?.close())

  test(`a NestJS ${major} Kafka microservice answers @MessagePattern, receives @EventPattern and dead-letters a poison event on ferrokafka`, async () => {
    // What `"kafkajs": "npm:ferrokafka"` installs: the package's own files under the alias.
    expect(JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'kafkajs', 'package.json'), 'utf8')).name).toBe('ferrokafka')
    const run = await runApp(app, script, { KAFKA_BROKERS: cluster.bootstrapServers }, 60_000, `the NestJS ${major} app`)
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null })
    const { result } = run
    expect(result.reply).toBe('6')
    expect(result.event).toEqual({ data: { id: 1 }, key: 'o-1', headers: { h: 'v' } })
    expectPoisonDeadLettered(run)
    // ClientKafka's reply-partition assigner is replaced once, with a warning naming it.
    const warnings = run.stdout.split('\n').filter((l) => l.includes('cannot run inside librdkafka'))
    expect(warnings).toEqual([expect.stringContaining('"NestReplyPartitionAssigner"')])
    console.log(`NestJS ${major} on ferrokafka: listen ${result.listenMs} ms, first reply ${result.replyMs} ms, close ${result.closeMs} ms; ` +
      `poison: good events past it ${result.passedMs} ms, in the DLQ ${result.deadLetterMs} ms`)
  }, 70_000)
}

module.exports = { transportSuite }
