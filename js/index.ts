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
export type { KafkaServiceOptions, KafkaHealth, MessageContext, ServiceHandler } from './service/kafka-service'
