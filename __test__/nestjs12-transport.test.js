// NestJS 12 (ESM-only; loads `kafkajs` with `import()`) on ferrokafka: fixtures/nestjs12 is
// installed from the registry into a cache directory outside the repo (see nest-apps.js),
// ferrokafka is placed there as `node_modules/kafkajs`, and the app answers @MessagePattern
// through ClientKafka.send(), receives an emit()ted event with its key and headers, dead-letters
// a poison event through `options.run.deadLetter` while the events after it are handled, and
// exits on its own after client.close() and app.close(). Prints the timings.
const fs = require('fs')
const path = require('path')
const { MockCluster } = require('..')
const { installedFixture, runApp, expectPoisonDeadLettered } = require('./nest-apps')

let app, cluster
beforeAll(() => {
  app = installedFixture('nestjs12', { prefix: 'nest12', as: ['kafkajs'] })
  cluster = new MockCluster({ brokers: 1 })
  for (const t of ['math.sum', 'math.sum.reply', 'order.created', 'order.checked', 'order.checked.dlq']) cluster.createTopic(t, 1, 1)
}, 180_000)
afterAll(() => cluster?.close())

test('a NestJS 12 Kafka microservice answers @MessagePattern, receives @EventPattern and dead-letters a poison event on ferrokafka', async () => {
  expect(JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'kafkajs', 'package.json'), 'utf8')).name).toBe('ferrokafka')
  const run = await runApp(app, 'app.mjs', { KAFKA_BROKERS: cluster.bootstrapServers }, 60_000, 'the NestJS 12 app')
  expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null })
  const { result } = run
  expect(result.reply).toBe('6')
  expect(result.event).toEqual({ data: { id: 1 }, key: 'o-1', headers: { h: 'v' } })
  expectPoisonDeadLettered(run)
  // ClientKafka's reply-partition assigner is replaced once, with a warning naming it.
  const warnings = run.stdout.split('\n').filter((l) => l.includes('cannot run inside librdkafka'))
  expect(warnings).toEqual([expect.stringContaining('"NestReplyPartitionAssigner"')])
  console.log(`NestJS 12 on ferrokafka: listen ${result.listenMs} ms, first reply ${result.replyMs} ms, close ${result.closeMs} ms; ` +
    `poison: good events past it ${result.passedMs} ms, in the DLQ ${result.deadLetterMs} ms`)
}, 70_000)
