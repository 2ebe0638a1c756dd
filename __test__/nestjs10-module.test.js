// ferrokafka/nestjs on NestJS 10 (CommonJS, @nestjs/testing, terminus 10): fixtures/nestjs10-module is installed from the
// registry into a cache directory outside the repo (see nest-apps.js) with ferrokafka placed in
// its node_modules, and runs fixtures/nest-module-scenario.cjs: KafkaModule.forRoot over a
// MockCluster, an @EventHandler receiving an event, a throwing one dead-lettered, terminus's
// /health over HTTP (up, 503 with the broker down, up again), and a process that exits by itself
// after app.close(). Prints the timings.
const { installedFixture, runApp } = require('./nest-apps')
const { expectModuleScenario, figures } = require('./nest-module-expect')

let app
beforeAll(() => {
  app = installedFixture('nestjs10-module', { prefix: 'nest10-module', shared: ['nest-module-scenario.cjs', 'nest-scenario-kit.cjs'] })
}, 180_000)

test('KafkaModule, @EventHandler, the DLQ and KafkaHealthIndicator in a NestJS 10 application', async () => {
  const run = await runApp(app, 'app.js', {}, 60_000, 'the NestJS 10 app')
  expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' })
  expectModuleScenario(run.result, 10)
  console.log(`ferrokafka/nestjs on NestJS 10: ${figures(run.result)}`)
}, 70_000)
