/**
 * Seed 002's consumer (`EventConsumer`, formerly `OfficeFlowConsumer`) and seed 000's
 * `createConsumer()`. Handlers get the message and a context; a throw goes through Rust's
 * retry and dead-letter policy (see src/dlq.rs), never lost and never blocking other partitions.
 */
import { DISCONNECT_WITHIN, type Consumer } from '../consumer'
import { Kafka } from '../kafka'
import type { CircuitBreakerConfig, ConsumerConfig, DeadLetterConfig, EachBatchPayload, KafkaMessage } from '../types'
import { kafkaConfigOf, resolveCluster, type ClusterConfig } from './config'
import { runHandler } from './correlation'
import { parseDomainEvent, type DomainEvent } from './envelope'

/** What every event-layer handler receives besides the message. */
export interface HandlerContext {
  topic: string
  partition: number
  offset: string
  /** Header values as strings. */
  headers: Record<string, string>
  correlationId: string | undefined
  /** 1 on first delivery, 2 on the first retry, ... */
  attempt: number
  groupId: string
}

export type MessageHandler = (message: any, context: HandlerContext) => Promise<void> | void

/** Per-subscription retry policy, as the event layer documents it. */
export interface RetryPolicyConfig {
  maxRetries?: number
  initialRetryTimeMs?: number
  multiplier?: number
  maxRetryTimeMs?: number
  jitter?: number
}

export interface ConsumerGroupConfig extends ConsumerConfig {
  /** Topics to subscribe at `run()` (seed 000's `createConsumer({ groupId, topics })`). */
  topics?: string[]
  fromBeginning?: boolean
  retry?: ConsumerConfig['retry'] & RetryPolicyConfig
  /** One DLQ topic for all; default `dlq.<topic>` (or `KAFKA_DLQ_TOPIC`). */
  dlqTopic?: string
  circuitBreaker?: CircuitBreakerConfig
  autoCommit?: boolean
}

export function headerStrings(message: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {}
  const headers = message.headers
  // for-in: no entries array per message on the consume path.
  for (const k in headers) {
    const v = headers[k]
    if (v === undefined) continue
    out[k] = (Array.isArray(v) ? v[v.length - 1] : v).toString()
  }
  return out
}

export class EventConsumer {
  protected readonly kafka: Kafka
  protected readonly consumer: Consumer
  private readonly topicHandlers = new Map<string, MessageHandler[]>()
  private readonly typeHandlers = new Map<string, MessageHandler[]>()
  private readonly topics = new Set<string>()
  private fromBeginning: boolean
  private readonly dlqTopic?: string

  constructor(clusterConfig: ClusterConfig | undefined, protected readonly group: ConsumerGroupConfig) {
    const cluster = resolveCluster(clusterConfig)
    this.kafka = new Kafka(kafkaConfigOf(cluster))
    const { topics, fromBeginning, dlqTopic, circuitBreaker: _c, retry, ...consumerConfig } = group
    this.consumer = this.kafka.consumer({ ...consumerConfig, retry: retry ? { retries: retry.retries, initialRetryTime: retry.initialRetryTime } : undefined })
    for (const t of topics ?? []) this.topics.add(t)
    this.fromBeginning = fromBeginning ?? false
    this.dlqTopic = dlqTopic ?? cluster.dlqTopic
  }

  async connect(): Promise<void> {
    await this.consumer.connect()
  }

  async subscribe({ topics, fromBeginning }: { topics: string[]; fromBeginning?: boolean }): Promise<void> {
    for (const t of topics) this.topics.add(t)
    if (fromBeginning) this.fromBeginning = true
  }

  /** Seed 000: a handler for every message of `topic`. */
  on(topic: string, handler: MessageHandler): this {
    this.topics.add(topic)
    this.topicHandlers.set(topic, [...(this.topicHandlers.get(topic) ?? []), handler])
    return this
  }

  /** Seed 002: a handler for messages whose envelope `type` is `eventType`; gets the parsed envelope. */
  registerHandler(eventType: string, handler: MessageHandler): this {
    this.typeHandlers.set(eventType, [...(this.typeHandlers.get(eventType) ?? []), handler])
    return this
  }

  parseDomainEvent<T = any>(message: KafkaMessage | { value: Buffer | string | null }): DomainEvent<T> {
    return parseDomainEvent<T>(message)
  }

  protected runOptions() {
    const r = this.group.retry ?? {}
    const deadLetter: DeadLetterConfig = {
      topic: this.dlqTopic, maxRetries: r.maxRetries ?? r.retries ?? 3, initialRetryTimeMs: r.initialRetryTimeMs ?? r.initialRetryTime ?? 100,
      multiplier: r.multiplier, maxRetryTimeMs: r.maxRetryTimeMs ?? r.maxRetryTime, jitter: r.jitter,
    }
    return { deadLetter, circuitBreaker: this.group.circuitBreaker, autoCommit: this.group.autoCommit }
  }

  protected context(topic: string, partition: number, message: KafkaMessage): HandlerContext {
    return this.contextOf(topic, partition, message.offset, headerStrings(message))
  }

  protected contextOf(topic: string, partition: number, offset: string, headers: Record<string, string>): HandlerContext {
    return {
      topic, partition, offset, headers, correlationId: headers['correlation-id'],
      attempt: this.consumer.attemptOf(topic, partition, offset), groupId: this.group.groupId,
    }
  }

  /** Runs a handler with the message's correlation id, the event's id and trace context current. */
  protected within<T>(context: HandlerContext, event: { readonly id?: string } | undefined, fn: () => T): T {
    return runHandler(context.correlationId, event, context.headers.traceparent, fn)
  }

  private async dispatch(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const context = this.context(topic, partition, message)
    const byTopic = this.topicHandlers.get(topic) ?? []
    let envelope: any
    if (this.typeHandlers.size > 0) {
      const type = context.headers['event-type'] ?? (envelope = parseDomainEvent(message)).type
      const byType = [...(this.typeHandlers.get(type) ?? []), ...(this.typeHandlers.get('*') ?? [])]
      if (byType.length) {
        envelope = envelope ?? parseDomainEvent(message)
        context.correlationId = context.correlationId ?? envelope.metadata?.correlationId
        await this.within(context, envelope, async () => { for (const h of byType) await h(envelope, context) })
      }
    }
    if (byTopic.length) await this.within(context, undefined, async () => { for (const h of byTopic) await h(message, context) })
  }

  /** Starts consuming; resolves once the group is joined and partitions are assigned. */
  async run(): Promise<void> {
    await this.consumer.subscribe({ topics: [...this.topics], fromBeginning: this.fromBeginning })
    await this.consumer.run({ ...this.runOptions(), eachMessage: async ({ topic, partition, message }) => this.dispatch(topic, partition, message) })
  }

  /** Seed 000's batch mode: kafkajs's eachBatch payload, with the same retry and DLQ policy. */
  async runBatch(handler: (payload: EachBatchPayload) => Promise<void>): Promise<void> {
    await this.consumer.subscribe({ topics: [...this.topics], fromBeginning: this.fromBeginning })
    await this.consumer.run({ ...this.runOptions(), eachBatch: handler })
  }

  /**
   * Stops consuming and leaves the group; waits for in-flight handlers (at most `timeoutMs` when
   * given: past it they are given up on and their messages redelivered to the group).
   */
  async disconnect(options: { timeoutMs?: number } = {}): Promise<void> {
    if (options.timeoutMs === undefined) await this.consumer.disconnect()
    else await this.consumer[DISCONNECT_WITHIN](options.timeoutMs)
  }

  /** The underlying kafkajs-style consumer (events, pause/resume, seek). */
  get raw(): Consumer {
    return this.consumer
  }
}

/** Seed 000's `createConsumer({ groupId, topics })`, configured from `KAFKA_*`. */
export function createConsumer(config: ConsumerGroupConfig, clusterConfig?: ClusterConfig): EventConsumer {
  return new EventConsumer(clusterConfig, config)
}
