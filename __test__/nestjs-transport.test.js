// NestJS's own Kafka transport (ServerKafka + ClientKafka from @nestjs/microservices 11) on
// ferrokafka through the `kafkajs` alias: request-response, events with key and headers,
// `options.run.deadLetter` passed by NestJS into consumer.run() (a poison event retried, then
// dead-lettered with its failure context while the events after it are handled), and a process
// that exits by itself after client.close() and app.close(). Prints the timings.
const { spawnSync } = require('child_process')
const path = require('path')
const { expectPoisonDeadLettered } = require('./nest-apps')

test('a NestJS 11 Kafka microservice answers @MessagePattern, receives @EventPattern and dead-letters a poison event on ferrokafka', () => {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'nestjs-transport-app.js')], { encoding: 'utf8', timeout: 90_000 })
  expect(run.signal).toBeNull() // exited by itself, not killed by the bound
  expect(run.status).toBe(0)
  const result = JSON.parse(run.stdout.trim().split('\n').pop())
  expect(result.reply).toBe('6')
  expect(result.event).toEqual({ data: { id: 1 }, key: 'o-1', headers: { h: 'v' } })
  expectPoisonDeadLettered({ result, stderr: run.stderr })
  console.log(`NestJS on ferrokafka: listen ${result.listenMs} ms, first reply ${result.replyMs} ms, close ${result.closeMs} ms; ` +
    `poison: good events past it ${result.passedMs} ms, in the DLQ ${result.deadLetterMs} ms`)
})
