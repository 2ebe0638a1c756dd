// NestJS's own Kafka transport (ServerKafka + ClientKafka from @nestjs/microservices 12, ESM-only:
// NestJS loads `kafkajs` with `import()`) on ferrokafka installed as `kafkajs`, as
// `"kafkajs": "npm:ferrokafka"` installs it: fixtures/nestjs12 answers @MessagePattern through
// ClientKafka.send(), receives an emit()ted event with its key and headers, dead-letters a poison
// event through `options.run.deadLetter` while the events after it are handled, and exits on its
// own after client.close() and app.close(). See nest-transport-suite.js.
const { transportSuite } = require('./nest-transport-suite')

transportSuite({ major: 12, fixture: 'nestjs12', script: 'app.mjs' })
