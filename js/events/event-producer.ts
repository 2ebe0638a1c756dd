/** Seed 002's producer (`EventProducer`, formerly `OfficeFlowProducer`) and seed 000's `getProducer()`. */
import { randomUUID } from 'crypto'
import { Kafka } from '../kafka'
import type { Producer } from '../producer'
import { native } from '../native'
import type { IHeaders, Message, ProducerConfig, RecordMetadata, TopicMessages } from '../types'
import { kafkaConfigOf, resolveCluster, type ClusterConfig } from './config'
import { CorrelationTracker } from './correlation'
import type { DomainEvent, EventMessage, EventMessageInput } from './envelope'

export interface ProducerOptions extends ProducerConfig {
  enableIdempotence?: boolean
  /** Service name written as `metadata.source` of messages sent with `sendMessage`. */
  source?: string
  /** Domain -> topic routes for `sendEvent`, on top of the defaults and `KAFKA_<DOMAIN>_TOPIC`. */
  domainTopics?: Record<string, string>
}

/** Headers every event carries, plus the trace context of the handler that published it. */
export function eventHeaders(type: string, correlationId: string | undefined, extra: IHeaders = {}): IHeaders {
  const headers: IHeaders = { 'event-type': type, 'content-type': 'application/json', ...extra }
  if (correlationId) headers['correlation-id'] = correlationId
  const traceparent = CorrelationTracker.context()?.traceparent
  if (traceparent && !headers.traceparent) headers.traceparent = traceparent
  return headers
}

/** A send inside `sendTransaction`: kafkajs's shape. */
export interface EventTransaction {
  send(record: { topic: string; messages: Message[] }): Promise<RecordMetadata[]>
  sendBatch(batch: { topicMessages: TopicMessages[] }): Promise<RecordMetadata[]>
}

export class EventProducer {
  private readonly kafka: Kafka
  private readonly producer: Producer
  private txProducer: Producer | null = null
  private readonly router: InstanceType<typeof native.EventRouter>
  private connected = false

  constructor(clusterConfig?: ClusterConfig, private readonly options: ProducerOptions = {}) {
    const cluster = resolveCluster(clusterConfig)
    this.kafka = new Kafka(kafkaConfigOf(cluster))
    const { enableIdempotence, source: _s, domainTopics, ...rest } = options
    this.producer = this.kafka.producer({ ...rest, idempotent: enableIdempotence ?? rest.idempotent })
    this.router = new native.EventRouter({ domainTopics, env: process.env as Record<string, string> })
  }

  get isConnected(): boolean {
    return this.connected
  }

  async connect(): Promise<void> {
    await this.producer.connect()
    this.connected = true
  }

  async disconnect(): Promise<void> {
    this.connected = false
    await Promise.all([this.producer.disconnect(), this.txProducer?.disconnect()])
  }

  /** Seed 000: `send(topic, { key, value, headers })`. */
  async send(topic: string, message: Message | Message[]): Promise<RecordMetadata[]> {
    return this.producer.send({ topic, messages: Array.isArray(message) ? message : [message] })
  }

  /** Seed 000: a domain event to its routed topic, keyed by aggregate so its events stay ordered. */
  async sendEvent(event: DomainEvent): Promise<RecordMetadata[]> {
    const context = CorrelationTracker.context()
    const metadata = { ...event.metadata }
    metadata.correlationId = metadata.correlationId ?? context?.correlationId ?? randomUUID()
    if (context?.eventId && !metadata.causationId) metadata.causationId = context.eventId
    const full = { ...event, id: event.id ?? randomUUID(), metadata, timestamp: event.timestamp ?? new Date().toISOString() }
    return this.publishEvent(this.router.topicFor(event.type), full, event.aggregateId)
  }

  /** Seeds 003/004: `publishEvent(topic, event, key)`. */
  async publishEvent(topic: string, event: { type?: string; metadata?: { correlationId?: string }; correlationId?: string; [k: string]: any }, key?: string): Promise<RecordMetadata[]> {
    const correlationId = event.metadata?.correlationId ?? event.correlationId ?? CorrelationTracker.getCorrelationId()
    return this.producer.send({
      topic,
      messages: [{ key: key ?? null, value: JSON.stringify(event), headers: eventHeaders(String(event.type ?? 'event'), correlationId) }],
    })
  }

  /** Seed 002: an `EventMessage`, completed with id, correlation id, timestamp and source. */
  async sendMessage(topic: string, message: EventMessageInput, key?: string): Promise<RecordMetadata[]> {
    const full = this.complete(message)
    return this.producer.send({
      topic,
      messages: [{ key: key ?? full.metadata.organizationId ?? full.id, value: JSON.stringify(full), headers: eventHeaders(full.type, full.metadata.correlationId) }],
    })
  }

  /** Seed 002: to `<topic>.<organizationId>`, keyed by the organization for tenant ordering. */
  async sendToOrganizationTopic(topic: string, organizationId: string, message: EventMessageInput): Promise<RecordMetadata[]> {
    const withOrg: EventMessageInput = { ...message, metadata: { ...message.metadata, organizationId } }
    return this.sendMessage(`${topic}.${organizationId}`, withOrg, organizationId)
  }

  /** Runs `fn` in one transaction: everything it sends commits together, or aborts if it throws. */
  async sendTransaction<T>(fn: (tx: EventTransaction) => Promise<T>): Promise<T> {
    if (!this.txProducer) {
      const transactionalId = this.options.transactionalId ?? `ferrokafka-tx-${randomUUID()}`
      this.txProducer = this.kafka.producer({ transactionalId, idempotent: true })
      await this.txProducer.connect()
    }
    const tx = await this.txProducer.transaction()
    try {
      const result = await fn({ send: (r) => tx.send(r), sendBatch: (b) => tx.sendBatch(b) })
      await tx.commit()
      return result
    } catch (e) {
      if (tx.isActive()) await tx.abort()
      throw e
    }
  }

  private complete(message: EventMessageInput): EventMessage {
    const meta = message.metadata ?? {}
    return {
      id: message.id ?? randomUUID(),
      type: message.type,
      payload: message.payload,
      metadata: {
        ...meta,
        correlationId: meta.correlationId ?? CorrelationTracker.getCorrelationId() ?? randomUUID(),
        timestamp: meta.timestamp ?? new Date().toISOString(),
        source: meta.source ?? this.options.source ?? 'ferrokafka',
        version: meta.version ?? '1.0',
      },
    }
  }
}

let shared: EventProducer | null = null

/** Seed 000's `getProducer()`: one producer per process, configured from `KAFKA_*`. */
export function getProducer(clusterConfig?: ClusterConfig): EventProducer {
  shared = shared ?? new EventProducer(clusterConfig)
  return shared
}
