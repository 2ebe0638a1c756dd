// ferrokafka/nestjs on NestJS 10 (CommonJS, @nestjs/testing, terminus 10): fixtures/nestjs10-module is installed from the
// registry into a cache directory outside the repo (see nest-apps.js) with ferrokafka placed in
// its node_modules, and runs fixtures/nest-module-scenario.cjs: KafkaModule.forRoot over a
// MockCluster, an @EventHandler receiving an event, a throwing one dead-lettered, terminus's
// /health over HTTP (up, 503 with the broker down, up again), and a process that exits by itself
// after app.close(). Prints the timings.
const { moduleSuite } = require('./nest-module-expect')

moduleSuite({ major: 10, fixture: 'nestjs10-module', script: 'nest-module-app.cjs', what: 'CommonJS, @nestjs/testing, terminus 10' })
