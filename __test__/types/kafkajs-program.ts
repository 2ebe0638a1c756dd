// A program written against kafkajs's typings; only the import line names ferrokafka.
import {
  Kafka, logLevel, CompressionTypes, Partitioners, KafkaJSError, KafkaJSProtocolError, KafkaJSNonRetriableError,
  KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSTimeout, KafkaJSDeleteGroupsError,
  KafkaJSTopicMetadataNotLoaded, KafkaJSServerDoesNotSupportApiKey, KafkaJSAlterPartitionReassignmentsError,
  type Producer, type Consumer, type Admin, type EachMessagePayload, type EachBatchPayload, type RecordMetadata,
  type Message, type IHeaders, type KafkaConfig, type ITopicConfig, type LogEntry, type logCreator, type KafkaMessage,
  type ProducerRecord, type ConsumerRunConfig, type TopicPartitionOffsetAndMetadata,
} from 'ferrokafka'

const toWinston: logCreator = (level: number) => ({ namespace, level: l, label, log }: LogEntry) => {
  const { message, ...extra } = log
  if (l <= level) console.log(`${label} [${namespace}] ${message}`, extra)
}

const config: KafkaConfig = {
  clientId: 'orders-service',
  brokers: ['localhost:9092'],
  ssl: false,
  connectionTimeout: 3000,
  requestTimeout: 25000,
  retry: { initialRetryTime: 100, retries: 8 },
  logLevel: logLevel.WARN,
  logCreator: toWinston,
}

export async function produce(kafka: Kafka): Promise<RecordMetadata[]> {
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  const headers: IHeaders = { 'correlation-id': 'abc', trace: Buffer.from('x') }
  const messages: Message[] = [
    { key: 'order-1', value: JSON.stringify({ total: 10 }), headers },
    { key: Buffer.from('order-2'), value: null, partition: 0, timestamp: Date.now().toString() },
  ]
  const record: ProducerRecord = { topic: 'orders', messages, acks: -1, timeout: 30000, compression: CompressionTypes.GZIP }
  const meta = await producer.send(record)
  await producer.sendBatch({ topicMessages: [{ topic: 'orders', messages }, { topic: 'audit', messages }] })
  const tx = await producer.transaction()
  await tx.send({ topic: 'orders', messages })
  await tx.sendOffsets({ consumerGroupId: 'g', topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '42' }] }] })
  await (tx.isActive() ? tx.commit() : tx.abort())
  const remove = producer.on(producer.events.CONNECT, (e) => console.log(e.timestamp))
  remove()
  await producer.disconnect()
  return meta.map((m) => ({ ...m, baseOffset: m.baseOffset ?? '0' }))
}

export async function consume(kafka: Kafka): Promise<void> {
  const consumer: Consumer = kafka.consumer({ groupId: 'orders-group', sessionTimeout: 30000, heartbeatInterval: 3000, maxBytesPerPartition: 1048576 })
  await consumer.connect()
  await consumer.subscribe({ topics: ['orders', /audit-.*/], fromBeginning: true })
  consumer.on(consumer.events.GROUP_JOIN, (e) => console.log(e.payload))
  consumer.on(consumer.events.CRASH, (e) => console.log(e.payload.error))
  const run: ConsumerRunConfig = {
    autoCommit: true,
    autoCommitInterval: 5000,
    partitionsConsumedConcurrently: 2,
    eachMessage: async ({ topic, partition, message, heartbeat, pause }: EachMessagePayload) => {
      const m: KafkaMessage = message
      const key: string | undefined = m.key?.toString()
      const offset: string = m.offset
      const ts: number = Number(m.timestamp)
      if (!key) {
        const resume = pause()
        setTimeout(resume, 1000)
      }
      console.log(topic, partition, offset, ts, m.headers?.['correlation-id']?.toString())
      await heartbeat()
    },
  }
  await consumer.run(run)
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary, uncommittedOffsets }: EachBatchPayload) => {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break
        resolveOffset(message.offset)
        await heartbeat()
      }
      console.log(batch.highWatermark, batch.offsetLag(), batch.firstOffset(), batch.lastOffset(), batch.isEmpty(), uncommittedOffsets())
      await commitOffsetsIfNecessary()
    },
  })
  const commits: TopicPartitionOffsetAndMetadata[] = [{ topic: 'orders', partition: 0, offset: '10' }]
  await consumer.commitOffsets(commits)
  consumer.seek({ topic: 'orders', partition: 0, offset: '0' })
  consumer.pause([{ topic: 'orders' }])
  const paused: { topic: string; partitions: number[] }[] = consumer.paused()
  consumer.resume(paused)
  await consumer.stop()
  await consumer.disconnect()
}

export async function administer(kafka: Kafka): Promise<void> {
  const admin: Admin = kafka.admin()
  await admin.connect()
  const topics: ITopicConfig[] = [{ topic: 'orders', numPartitions: 6, replicationFactor: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]
  const created: boolean = await admin.createTopics({ topics, waitForLeaders: true })
  const names: string[] = await admin.listTopics()
  const meta = await admin.fetchTopicMetadata({ topics: ['orders'] })
  const leaders: number[] = meta.topics[0].partitions.map((p) => p.leader)
  const offsets = await admin.fetchTopicOffsets('orders')
  const highs: string[] = offsets.map((o) => o.high)
  const group = await admin.fetchOffsets({ groupId: 'orders-group', topics: ['orders'] })
  const committed: string[] = group.flatMap((t) => t.partitions.map((p) => p.offset))
  await admin.setOffsets({ groupId: 'orders-group', topic: 'orders', partitions: [{ partition: 0, offset: '5' }] })
  await admin.resetOffsets({ groupId: 'orders-group', topic: 'orders', earliest: true })
  const { groups } = await admin.listGroups()
  const described = await admin.describeGroups(groups.map((g) => g.groupId))
  console.log(created, names, leaders, highs, committed, described.groups[0]?.state)
  await admin.deleteGroups(['orders-group'])
  await admin.disconnect()
}

export function classify(e: unknown): string {
  if (e instanceof KafkaJSNumberOfRetriesExceeded) return 'retries'
  if (e instanceof KafkaJSProtocolError) return `protocol:${e.type}`
  if (e instanceof KafkaJSConnectionError) return 'connection'
  if (e instanceof KafkaJSNonRetriableError) return 'fatal'
  if (e instanceof KafkaJSError) return e.retriable ? 'retry' : 'error'
  return 'other'
}

/** kafkajs's derived errors: built with kafkajs's arguments, their fields read, used as types. */
export function derivedErrors(e: unknown): string[] {
  const timeout: KafkaJSTimeout = new KafkaJSTimeout()
  const out = [timeout.message]
  if (e instanceof KafkaJSDeleteGroupsError) out.push(...e.groups.map((g) => `${g.groupId}:${g.error?.message}`))
  if (e instanceof KafkaJSTopicMetadataNotLoaded) out.push(e.topic)
  if (e instanceof KafkaJSServerDoesNotSupportApiKey) out.push(`${e.apiName}(${e.apiKey})`)
  const reassign: KafkaJSAlterPartitionReassignmentsError = new KafkaJSAlterPartitionReassignmentsError('refused', 'orders', 2)
  out.push(`${reassign.topic}/${reassign.partition}`, new KafkaJSTopicMetadataNotLoaded('missing', { topic: 'orders' }).topic)
  return out
}

export const kafka = new Kafka(config)

/** An OAUTHBEARER client as kafkajs documents it (e.g. AWS MSK IAM or an OIDC token endpoint). */
export const oauthKafka = new Kafka({
  clientId: 'orders',
  brokers: ['broker:9098'],
  ssl: true,
  sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 'token-from-the-issuer' }) },
})
