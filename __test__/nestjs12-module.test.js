// ferrokafka/nestjs on NestJS 12 (ESM-only, NestFactory, terminus 12): fixtures/nestjs12-module is installed from the
// registry into a cache directory outside the repo (see nest-apps.js) with ferrokafka placed in
// its node_modules, and runs fixtures/nest-module-scenario.cjs: KafkaModule.forRoot over a
// MockCluster, an @EventHandler receiving an event, a throwing one dead-lettered, terminus's
// /health over HTTP (up, 503 with the broker down, up again), and a process that exits by itself
// after app.close(). Prints the timings.
const { installedFixture, runApp } = require('./nest-apps')
const { expectModuleScenario, figures } = require('./nest-module-expect')

let app
beforeAll(() => {
  app = installedFixture('nestjs12-module', { prefix: 'nest12-module', shared: ['nest-module-scenario.cjs', 'nest-scenario-kit.cjs'] })
}, 180_000)

test('KafkaModule, @EventHandler, the DLQ and KafkaHealthIndicator in a NestJS 12 application', async () => {
  const run = await runApp(app, 'app.mjs', {}, 60_000, 'the NestJS 12 app')
  expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' })
  expectModuleScenario(run.result, 12)
  console.log(`ferrokafka/nestjs on NestJS 12: ${figures(run.result)}`)
}, 70_000)
