// ferrokafka's stall watchdog on a plain consumer, as a TypeScript user writes it.
import { Kafka, type Consumer, type ConsumerHealth, type StallReport, type RecoveryReport, type KafkaServiceOps } from 'ferrokafka'

export async function watch(kafka: Kafka): Promise<boolean> {
  const consumer: Consumer = kafka.consumer({ groupId: 'orders-group', stallTimeout: 30_000 })
  consumer.on(consumer.events.STALLED, (e) => {
    const report: StallReport = e.payload
    const where: string[] = report.lagging.map((l) => `${l.topic}[${l.partition}] lag ${l.lag}`)
    console.log(report.groupId, report.stalledForMs, report.inFlight?.offset, where)
  })
  consumer.on(consumer.events.RECOVERED, (e) => {
    const back: RecoveryReport = e.payload
    console.log(back.stalledForMs)
  })
  const h: ConsumerHealth = consumer.health()
  const since: number | null = h.lastProgressAt
  console.log(since, h.stall?.lagging.length, h.inFlight?.partition, h.stallTimeout, h.topics)
  return h.running && !h.stalled
}

/** The service's per-group entry and the consumer's health share their core shape. */
export async function sameShape(service: KafkaServiceOps, consumer: Consumer): Promise<void> {
  const entry = (await service.healthCheck()).groups['g']
  const fromConsumer: typeof entry = consumer.health()
  console.log(fromConsumer.running, fromConsumer.stalled, fromConsumer.topics)
}
