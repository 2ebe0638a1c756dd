// NestJS's own Kafka transport (ServerKafka + ClientKafka from @nestjs/microservices 11, CommonJS:
// NestJS loads `kafkajs` with `require()`) on ferrokafka installed as `kafkajs`, as
// `"kafkajs": "npm:ferrokafka"` installs it: fixtures/nestjs11 answers @MessagePattern through
// ClientKafka.send(), receives an emit()ted event with its key and headers, dead-letters a poison
// event through `options.run.deadLetter` while the events after it are handled, and exits on its
// own after client.close() and app.close(). See nest-transport-suite.js.
const { transportSuite } = require('./nest-transport-suite')

transportSuite({ major: 11, fixture: 'nestjs11', script: 'app.js' })
