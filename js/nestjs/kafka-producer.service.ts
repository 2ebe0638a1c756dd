/**
 * Seed 001's `KafkaProducerService`: JSON sends, domain events routed by name, status for the
 * health indicator. A thin Nest face of `KafkaService`, which owns the dev/disabled modes.
 */
import { randomUUID } from 'crypto'
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common'
import { CorrelationTracker } from '../events/correlation'
import { native } from '../native'
import { KafkaService } from '../service/kafka-service'
import type { RecordMetadata } from '../types'
import { KAFKA_SETTINGS, type KafkaSettings } from './options'

/** A record of `sendBatch`: the value is sent as JSON. */
export interface BatchMessage {
  value: unknown
  key?: string
  headers?: Record<string, string>
}

/** What `getStatus()` reports (and the health indicator shows). */
export interface ProducerStatus {
  enabled: boolean
  connected: boolean
  /** Disabled, or fell back to logging sends (`devFallback`). */
  dev: boolean
  brokers: string[]
}

/** A value carrying its event name (`event_name`, or `type`) is labelled with it, for consumers that route by header. */
function nameHeaders(message: unknown): Record<string, string> {
  const m = message as { event_name?: unknown; type?: unknown } | null
  const name = m && typeof m === 'object' ? (typeof m.event_name === 'string' ? m.event_name : m.type) : undefined
  return typeof name === 'string' && name !== '' ? { 'event-name': name, 'event-type': name } : {}
}

/**
 * Injectable producer of `KafkaModule`: JSON values, seed 001's `sendEvent`, and the dev sink
 * when Kafka is disabled. Connects on module init, flushes on application shutdown.
 */
@Injectable()
export class KafkaProducerService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('KafkaProducerService')
  private readonly service: KafkaService
  private readonly router: InstanceType<typeof native.EventRouter>

  constructor(@Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings) {
    const { dlqTopic: _dlq, ...cluster } = settings.cluster
    this.service = new KafkaService({
      ...cluster, enabled: settings.enabled, devFallback: settings.options.devFallback,
      log: (line) => this.logger.log(line),
    })
    // Sets the mode up (a disabled service records sends from the start); connects nothing.
    this.service.init()
    this.router = new native.EventRouter({ domainTopics: settings.options.domainTopics, env: process.env as Record<string, string> })
  }

  /** Connects before any provider's `onApplicationBootstrap` may send; a failure fails start-up unless `devFallback`. */
  async onModuleInit(): Promise<void> {
    if (!this.settings.enabled) {
      this.logger.warn('Kafka disabled (KAFKA_ENABLED=false): nothing connects; sends are recorded in devSink')
      return
    }
    await this.service.initialize()
  }

  /** Last of the shutdown hooks, so other providers' shutdown hooks can still send: flushes, then disconnects. */
  async onApplicationShutdown(): Promise<void> {
    await this.service.disconnect()
  }

  /** JSON `message` to `topic`; in dev/disabled mode recorded in `devSink` and logged, resolving `[]`. */
  async send(topic: string, message: unknown, key?: string, headers?: Record<string, string>): Promise<RecordMetadata[]> {
    return this.service.send(topic, [message], key, { ...nameHeaders(message), ...headers })
  }

  /** Several records to one topic in one call (librdkafka batches them). */
  async sendBatch(topic: string, messages: BatchMessage[]): Promise<RecordMetadata[]> {
    const sent = await Promise.all(messages.map((m) => this.service.send(topic, [m.value], m.key, m.headers)))
    return sent.flat()
  }

  /**
   * Seed 001's domain event: `{ event_id, event_name, event_timestamp, correlation_id, ...data }`
   * to the topic of the event's domain (`projects.*` -> `fsm.projects`, ...; an unmapped name is
   * its own topic), with headers `event-name`, `event-type`, `event-version` and `correlation-id`.
   * The correlation id defaults to the handled event's (inside a handler) or a new one.
   */
  async sendEvent(eventName: string, data: Record<string, unknown> = {}, correlationId?: string, key?: string): Promise<RecordMetadata[]> {
    const id = randomUUID()
    const correlation = correlationId ?? CorrelationTracker.getCorrelationId() ?? randomUUID()
    const event = { event_id: id, event_name: eventName, event_timestamp: Date.now(), correlation_id: correlation, ...data }
    const headers = { 'event-name': eventName, 'event-type': eventName, 'event-version': '1.0', 'correlation-id': correlation }
    return this.send(this.topicFor(eventName), event, key ?? id, headers)
  }

  /** The topic `sendEvent` uses for an event name. */
  topicFor(eventName: string): string {
    return this.router.topicFor(eventName)
  }

  /** Every send made while disabled or in dev fallback, oldest first. */
  get devSink(): KafkaService['devSink'] {
    return this.service.devSink
  }

  /** True once the producer connected (never while disabled). */
  isProducerConnected(): boolean {
    return this.service.isConnected
  }

  /** Enabled/connected/dev state and the bootstrap brokers, for health reports. */
  getStatus(): ProducerStatus {
    const brokers = Array.isArray(this.settings.cluster.brokers) ? this.settings.cluster.brokers : []
    return { enabled: this.settings.enabled, connected: this.service.isConnected, dev: this.service.devMode || !this.settings.enabled, brokers }
  }
}
