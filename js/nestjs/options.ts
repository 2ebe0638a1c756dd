/** The options of `KafkaModule` and their resolution against the `KAFKA_*` environment. */
import type { ModuleMetadata } from '@nestjs/common'
import { configFromEnv } from '../events/config'
import type { CircuitBreakerConfig, ConsumerConfig, KafkaConfig } from '../types'
import type { RetryPolicyConfig } from '../events/event-consumer'

/** Injection token of the options given to `KafkaModule.forRoot` / `forRootAsync`. */
export const KAFKA_MODULE_OPTIONS = Symbol('ferrokafka:KAFKA_MODULE_OPTIONS')
/** Injection token of the resolved {@link KafkaSettings}. */
export const KAFKA_SETTINGS = Symbol('ferrokafka:KAFKA_SETTINGS')

/**
 * `KafkaModule.forRoot(options)`: a kafkajs client config plus the module's own settings. What
 * is not given comes from `KAFKA_*` (see `configFromEnv`); plain `imports: [KafkaModule]` uses
 * the environment only.
 */
export interface KafkaModuleOptions extends Partial<KafkaConfig> {
  /** false: nothing connects, handlers do not start, sends go to the dev sink (default `KAFKA_ENABLED`, else true). */
  enabled?: boolean
  /** When no broker is reachable at start-up, log sends instead of failing the application. */
  devFallback?: boolean
  /** Dead-letter topic of every `@EventHandler` (default `KAFKA_DLQ_TOPIC`, else `dlq.processing_errors` as seed 001 documents). */
  dlqTopic?: string
  /** Extra domain -> topic routes (e.g. `{ order: 'fsm.projects' }`) on top of seed 001's map and `KAFKA_<DOMAIN>_TOPIC`. */
  domainTopics?: Record<string, string>
  /** Handler retries before the DLQ (defaults: 3 retries from 100 ms, doubling). */
  retryPolicy?: RetryPolicyConfig
  /** Pauses a group's partitions after this many consecutive failures (a downstream outage). */
  circuitBreaker?: CircuitBreakerConfig
  /** kafkajs consumer options for every handler group (defaults: sessionTimeout 10000, heartbeatInterval 1000). */
  consumer?: Partial<Omit<ConsumerConfig, 'groupId'>>
  /** How long a health check waits for a broker to answer (default 3000 ms). */
  healthCheckTimeoutMs?: number
  /**
   * A handler group with records waiting and no handler started on a new record or succeeded for
   * this long is stalled: `KafkaHealthIndicator` reports it down (`stalled: true` on the group) until it moves
   * again (default 60000 ms; 0 turns the watchdog off). A `consumer.stallTimeout` wins.
   */
  stallTimeoutMs?: number
}

/** `KafkaModule.forRootAsync(...)`: options from a factory with injected dependencies. */
export interface KafkaModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => KafkaModuleOptions | Promise<KafkaModuleOptions>
  inject?: any[]
}

/** The options after the environment filled the gaps: what every provider of the module reads. */
export interface KafkaSettings {
  enabled: boolean
  /** The client configuration (holds credentials: never log it). */
  cluster: KafkaConfig & { dlqTopic: string }
  options: KafkaModuleOptions
}

/** Seed 001's default dead-letter topic. */
export const DEFAULT_DLQ_TOPIC = 'dlq.processing_errors'

/** Resolves options against `process.env` (read when the module is instantiated, not imported). */
export function resolveSettings(options: KafkaModuleOptions = {}): KafkaSettings {
  const env = configFromEnv(process.env, 'ferrokafka')
  const {
    enabled, devFallback: _d, dlqTopic, domainTopics: _t, retryPolicy: _r, circuitBreaker: _c, consumer: _k, healthCheckTimeoutMs: _h, stallTimeoutMs: _s,
    ...client
  } = options
  const cluster = {
    logLevel: 1,
    ...client,
    brokers: client.brokers ?? env.brokers,
    clientId: client.clientId ?? env.clientId,
    ssl: client.ssl ?? env.ssl,
    sasl: client.sasl ?? (env.sasl as KafkaConfig['sasl']),
    dlqTopic: dlqTopic ?? env.dlqTopic ?? DEFAULT_DLQ_TOPIC,
  }
  return { enabled: enabled ?? env.enabled, cluster, options }
}
