// ferrokafka/nestjs on NestJS 12 (ESM-only, @nestjs/testing, terminus 12): fixtures/nestjs12-module is installed from the
// registry into a cache directory outside the repo (see nest-apps.js) with ferrokafka placed in
// its node_modules, and runs fixtures/nest-module-scenario.cjs: KafkaModule.forRoot over a
// MockCluster, an @EventHandler receiving an event, a throwing one dead-lettered, terminus's
// /health over HTTP (up, 503 with the broker down, up again), and a process that exits by itself
// after app.close(). Prints the timings.
const { moduleSuite } = require('./nest-module-expect')

moduleSuite({ major: 12, fixture: 'nestjs12-module', script: 'app.mjs', what: 'ESM-only, Test.createTestingModule, terminus 12' })
