/**
 * ferrokafka: the kafkajs API on librdkafka.
 *
 * ```ts
 * import { Kafka, logLevel } from 'ferrokafka'
 * const kafka = new Kafka({ clientId: 'app', brokers: ['localhost:9092'], logLevel: logLevel.WARN })
 * ```
 */
export { Kafka } from './kafka'
export { Producer, Transaction } from './producer'
export { Consumer } from './consumer'
export { Admin } from './admin'
export { Batch } from './batch'
export * from './enums'
export * from './errors'
export * from './types'
export { Partitioners, PartitionAssigners } from './partitioners'
export { AssignerProtocol } from './assigner-protocol'
export type { MemberMetadata, MemberAssignment } from './assigner-protocol'
export type { Logger, LogEntry, logCreator } from './logger'
export { MockCluster } from './testing'
import { native } from './native'

/** The librdkafka version linked into the native binary. */
export const librdkafkaVersion = (): string => native.librdkafkaVersion()
export * from './events'
export { KafkaService, getKafkaService, kafkaService } from './service/kafka-service'
export { KAFKA_TOPICS, getConsumerGroup } from './service/topics'
export type { KafkaServiceOptions, MessageContext, ServiceHandler } from './service/kafka-service'
export { KafkaServiceOps } from './service/service-ops'
export type { KafkaHealth, GroupHealth } from './service/service-ops'
export type { ErrorRecord, HealthDetails } from './service/health'
export type { PartitionLag, StallReport, RecoveryReport, StallState } from './stall'
export type { ConsumerHealth } from './consumer-stall'
export { renderPrometheus } from './service/metrics'
export type { MetricsSnapshot, ProducerMetrics, ConsumerGroupMetrics, LibrdkafkaStats } from './service/metrics'
export { enableShutdownHooks } from './service/shutdown'
export type { ShutdownOptions, Closable } from './service/shutdown'
export { serviceChannels, CHANNEL_PREFIX } from './diagnostics'
