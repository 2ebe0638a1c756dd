/** kafkajs's public types, so code typed against kafkajs compiles with only the import changed. */
import type { ConnectionOptions } from 'tls'
import type { logCreator } from './logger'

export type Mechanism = { mechanism: string; [key: string]: any }
export interface SASLOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer' | 'aws' | string
  username?: string
  password?: string
  /** OAUTHBEARER only: librdkafka's `sasl.oauthbearer.config` (unsecured JWT for development). */
  oauthbearerConfig?: string
  /**
   * OAUTHBEARER: kafkajs's token callback, called before the first connection and again before
   * the token expires (at three quarters of a JWT's `exp`, else every 15 minutes or so).
   *
   * ```ts
   * sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await fetchToken() }) }
   * ```
   */
  oauthBearerProvider?: () => Promise<{ value: string }> | { value: string }
  [key: string]: any
}

export interface RetryOptions {
  maxRetryTime?: number
  initialRetryTime?: number
  factor?: number
  multiplier?: number
  retries?: number
  restartOnFailure?: (e: Error) => Promise<boolean>
}

export type BrokersFunction = () => string[] | Promise<string[]>

export interface KafkaConfig {
  brokers: string[] | BrokersFunction
  ssl?: ConnectionOptions | boolean
  sasl?: SASLOptions
  clientId?: string
  connectionTimeout?: number
  authenticationTimeout?: number
  reauthenticationThreshold?: number
  requestTimeout?: number
  enforceRequestTimeout?: boolean
  retry?: RetryOptions
  socketFactory?: unknown
  logLevel?: number
  logCreator?: logCreator
  /** ferrokafka: librdkafka properties passed through as they are (e.g. `{ 'statistics.interval.ms': 1000 }`). */
  rdkafka?: Record<string, string | number | boolean>
}

export type ICustomPartitioner = () => (args: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => number
export interface PartitionMetadata {
  partitionErrorCode: number
  partitionId: number
  leader: number
  replicas: number[]
  isr: number[]
  offlineReplicas?: number[]
}

export interface ProducerConfig {
  createPartitioner?: ICustomPartitioner
  retry?: RetryOptions
  metadataMaxAge?: number
  allowAutoTopicCreation?: boolean
  /** Default true in ferrokafka (kafkajs: false): exactly-once delivery into each partition. */
  idempotent?: boolean
  transactionalId?: string
  transactionTimeout?: number
  maxInFlightRequests?: number
  /** ferrokafka: librdkafka `linger.ms` (default 0, see the README's tuning section). */
  lingerMs?: number
  /** ferrokafka: producer-wide acks (-1 all, 0, 1); 0 or 1 need `idempotent: false`. */
  acks?: number
}

export interface IHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined
}

export interface Message {
  key?: Buffer | string | null
  value: Buffer | string | null
  partition?: number
  headers?: IHeaders
  timestamp?: string
}

export interface ProducerRecord {
  topic: string
  messages: Message[]
  acks?: number
  timeout?: number
  compression?: number
}

export interface TopicMessages {
  topic: string
  messages: Message[]
}

export interface ProducerBatch {
  acks?: number
  timeout?: number
  compression?: number
  topicMessages?: TopicMessages[]
}

export interface RecordMetadata {
  topicName: string
  partition: number
  errorCode: number
  offset?: string
  timestamp?: string
  baseOffset?: string
  logAppendTime?: string
  logStartOffset?: string
}

export interface TopicOffsets {
  topic: string
  partitions: PartitionOffset[]
}
export interface PartitionOffset {
  partition: number
  offset: string
}
export interface Offsets {
  topics: TopicOffsets[]
}

export interface ConsumerConfig {
  groupId: string
  partitionAssigners?: unknown[]
  metadataMaxAge?: number
  sessionTimeout?: number
  rebalanceTimeout?: number
  heartbeatInterval?: number
  maxBytesPerPartition?: number
  minBytes?: number
  maxBytes?: number
  maxWaitTimeInMs?: number
  retry?: RetryOptions & { restartOnFailure?: (err: Error) => Promise<boolean> }
  allowAutoTopicCreation?: boolean
  maxInFlightRequests?: number
  readUncommitted?: boolean
  rackId?: string
  /** ferrokafka: static membership (librdkafka `group.instance.id`). */
  groupInstanceId?: string
  /** ferrokafka: `'classic'` (default) or `'consumer'` (KIP-848). */
  groupProtocol?: 'classic' | 'consumer'
  /**
   * ferrokafka: the stall watchdog. A consumer with records waiting on its assigned partitions
   * and no handler started on a new record or succeeded for this many ms (retries of a failing
   * record are no progress) is stalled: a `consumer.stalled` event
   * (`consumer.events.STALLED`, payload `StallReport`), a WARN log line, and `health().stalled`
   * true until a handler succeeds again (`consumer.recovered`). A handler that never settles
   * keeps its member in the group, so without this nothing reports it. Checks read only what
   * the run loop already has (no broker round trip). Default 0: off (`KafkaService` uses its
   * own `stallTimeoutMs`, default 60000).
   */
  stallTimeout?: number
}

export interface KafkaMessage {
  key: Buffer | null
  value: Buffer | null
  timestamp: string
  attributes: number
  offset: string
  size?: number
  headers?: IHeaders
  magicByte?: number
  isControlRecord?: boolean
  batchContext?: unknown
}

export interface Batch {
  topic: string
  partition: number
  highWatermark: string
  messages: KafkaMessage[]
  isEmpty(): boolean
  firstOffset(): string | null
  lastOffset(): string
  offsetLag(): string
  offsetLagLow(): string
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: KafkaMessage
  heartbeat(): Promise<void>
  pause(): () => void
}

export interface EachBatchPayload {
  batch: Batch
  resolveOffset(offset: string): void
  heartbeat(): Promise<void>
  pause(): () => void
  commitOffsetsIfNecessary(offsets?: Offsets): Promise<void>
  uncommittedOffsets(): OffsetsByTopicPartition
  isRunning(): boolean
  isStale(): boolean
}

export interface OffsetsByTopicPartition {
  topics: TopicOffsets[]
}

export type EachMessageHandler = (payload: EachMessagePayload) => Promise<void>
export type EachBatchHandler = (payload: EachBatchPayload) => Promise<void>

/**
 * ferrokafka: retry-then-dead-letter for any consumer (and so for NestJS `@EventPattern`
 * handlers, whose `run` options NestJS passes through). Rust owns the policy.
 */
export interface DeadLetterConfig {
  /** One DLQ topic for every source topic; default `dlq.<source topic>`. */
  topic?: string
  /** Retries before dead-lettering (default 3); non-retryable errors skip them. */
  maxRetries?: number
  initialRetryTimeMs?: number
  multiplier?: number
  maxRetryTimeMs?: number
  /** Randomisation of each backoff, ±fraction (default 0.2). */
  jitter?: number
}

/** ferrokafka: after `failureThreshold` consecutive failures, pause for `cooldownMs`, then probe. */
export interface CircuitBreakerConfig {
  failureThreshold: number
  cooldownMs?: number
}

export interface ConsumerRunConfig {
  deadLetter?: DeadLetterConfig
  circuitBreaker?: CircuitBreakerConfig
  autoCommit?: boolean
  autoCommitInterval?: number | null
  autoCommitThreshold?: number | null
  eachBatchAutoResolve?: boolean
  partitionsConsumedConcurrently?: number
  eachBatch?: EachBatchHandler
  eachMessage?: EachMessageHandler
}

export interface ConsumerSubscribeTopics {
  topics: (string | RegExp)[]
  fromBeginning?: boolean
}
export interface ConsumerSubscribeTopic {
  topic: string | RegExp
  fromBeginning?: boolean
}

export interface TopicPartitionOffsetAndMetadata {
  topic: string
  partition: number
  offset: string
  metadata?: string | null
}

export interface TopicPartitions {
  topic: string
  partitions: number[]
}

export interface ITopicConfig {
  topic: string
  numPartitions?: number
  replicationFactor?: number
  replicaAssignment?: object[]
  configEntries?: { name: string; value: string }[]
}

export interface ITopicMetadata {
  name: string
  partitions: PartitionMetadata[]
}

export interface GroupOverview {
  groupId: string
  protocolType: string
}

export interface MemberDescription {
  clientHost: string
  clientId: string
  memberId: string
  memberAssignment: Buffer
  memberMetadata: Buffer
}

export interface GroupDescription {
  groupId: string
  members: MemberDescription[]
  protocol: string
  protocolType: string
  state: string
  errorCode?: number
}
