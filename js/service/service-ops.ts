/**
 * The operational side of `KafkaService`: last error, health rules with a live broker check,
 * consumer lag and the stall watchdog, metrics, and shutdown hooks. The messaging side
 * (`send`, `subscribe`, modes) lives in kafka-service.ts and feeds the state kept here.
 */
import { EventEmitter } from 'events'
import type { Admin } from '../admin'
import type { Consumer } from '../consumer'
import { publish, serviceChannels } from '../diagnostics'
import type { Kafka } from '../kafka'
import { defaultLogCreator, type logCreator } from '../logger'
import type { Producer } from '../producer'
import type { KafkaConfig } from '../types'
import { BrokerProbe } from './broker-probe'
import type { GroupProgress, PartitionLag } from './group-monitor'
import { Watchdog, type StallState } from '../stall'
import { consumerHealth, errorRecord, producerHealth, type ErrorRecord, type HealthDetails } from './health'
import { renderPrometheus, type ConsumerGroupMetrics, type MetricsSnapshot, type ProducerMetrics } from './metrics'
import { enableShutdownHooks, type ShutdownOptions } from './shutdown'

/** One consumer group of a service (internal). */
export interface ServiceGroup {
  consumer: Consumer
  handlers: Map<string, unknown[]>
  running: boolean
  restarting: Promise<void> | null
  progress: GroupProgress
}

/** One consumer group's state in `healthCheck().groups` (a plain consumer's `health()` has the same core). */
export type GroupHealth = StallState

/**
 * `healthCheck()`: the service's state, without contacting a broker. Shaped as seed 004
 * documents it (`{ connected: true, producer: true, consumers: 2, brokers: 'localhost:9092' }`),
 * with the per-group detail in `groups`.
 */
export interface KafkaHealth {
  connected: boolean
  enabled: boolean
  dev: boolean
  producer: boolean
  /** How many consumer groups the service has (one per `connectConsumer`/`subscribe` group). */
  consumers: number
  /** The bootstrap brokers, comma-joined as in `KAFKA_BROKERS`. */
  brokers: string
  /** Per group: running, stalled, and the topics its handlers cover. */
  groups: Record<string, GroupHealth>
  /** The most recent error any client of the service reported. */
  lastError?: ErrorRecord
}

/** What the operational side reads of the service's settings. */
export interface OpsSettings {
  enabled: boolean
  clientId: string
  brokers: string[]
  stallTimeoutMs?: number
  healthCheckTimeoutMs?: number
}

/**
 * Health, metrics, lag, stall detection and shutdown hooks of a `KafkaService`. Events:
 * `stalled` ({@link StallReport}) when a group stops making progress with records waiting,
 * `recovered` ({@link RecoveryReport}) when it moves again.
 */
export abstract class KafkaServiceOps extends EventEmitter {
  protected kafka: Kafka | null = null
  protected producer: Producer | null = null
  protected producerConnected = false
  protected dev = false
  protected readonly groups = new Map<string, ServiceGroup>()
  protected abstract settings: OpsSettings
  protected readonly counters = { messages: 0, bytes: 0, errors: 0, sendsInFlight: 0, messagesInFlight: 0 }
  private lastErr?: ErrorRecord
  private readonly statsSources = new Map<string, () => Record<string, number>>()
  private admin: Promise<Admin> | null = null
  private probe: BrokerProbe | null = null
  private watchdog: Watchdog | null = null

  /** The cluster config of the service's clients, with errors captured and a broker probe made for it. */
  protected observed(cluster: KafkaConfig): KafkaConfig {
    const config = { ...cluster, logCreator: this.errorCapture(cluster.logCreator ?? defaultLogCreator) }
    this.probe = new BrokerProbe(config, this.settings.healthCheckTimeoutMs ?? 3000)
    return config
  }

  /** Every ERROR-level log entry of the service's clients (librdkafka's included) becomes the last error. */
  private errorCapture(creator: logCreator): logCreator {
    return (level) => {
      const write = creator(level)
      return (entry) => {
        if (entry.level === 1) this.recordError(entry.namespace || 'client', { message: entry.log.message, code: entry.log.facility })
        write(entry)
      }
    }
  }

  protected recordError(source: string, error: unknown): void {
    const record = errorRecord(source, error)
    this.lastErr = record
    publish(serviceChannels.ERROR, () => record)
  }

  /** The most recent error any client of the service reported (message, source, time), if any. */
  get lastError(): ErrorRecord | undefined {
    return this.lastErr
  }

  /** Checks every group for a stall a few times per `stallTimeoutMs` (the shared rule and timer, ../stall.ts). */
  protected startWatchdog(): void {
    if (!this.watchdog) this.watchdog = new Watchdog(this.settings.stallTimeoutMs ?? 60_000, (timeout) => this.checkStalls(timeout))
    this.watchdog.start()
  }

  private async checkStalls(timeout: number): Promise<void> {
    for (const [groupId, g] of this.groups) {
      if (!g.running) continue
      try {
        const assignment = g.consumer.assignment()
        const report = await g.progress.check(timeout, assignment, () => this.lagOf(groupId, g, assignment))
        if (report) {
          publish(serviceChannels.STALLED, () => report)
          this.emit('stalled', report)
        }
      } catch (e) {
        this.recordError(`lag:${groupId}`, e)
      }
    }
  }

  private adminClient(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka!.admin()
      this.admin = admin.connect().then(() => admin)
      // A broker outage at first use must not poison every later lag read.
      this.admin.catch(() => {
        this.admin = null
        admin.disconnect().catch(() => undefined)
      })
    }
    return this.admin
  }

  private async lagOf(groupId: string, g: ServiceGroup, assignment = g.consumer.assignment()): Promise<PartitionLag[]> {
    return g.progress.lag(await this.adminClient(), [...g.handlers.keys()], assignment)
  }

  /**
   * Consumer lag per group and partition: high watermark minus the later of the group's
   * committed offset and the next offset after the last record handled here.
   */
  async consumerLag(): Promise<Record<string, PartitionLag[]>> {
    const out: Record<string, PartitionLag[]> = {}
    for (const [id, g] of this.groups) if (g.running) out[id] = await this.lagOf(id, g)
    return out
  }

  /** Seed 004's health report: state only, no broker contacted (see `isHealthy()` for a live check). */
  async healthCheck(): Promise<KafkaHealth> {
    const groups = this.consumerStates()
    return {
      connected: this.producerConnected, enabled: this.settings.enabled, dev: this.dev, producer: this.producerConnected,
      consumers: Object.keys(groups).length, brokers: this.settings.brokers.join(','), groups,
      ...(this.lastErr ? { lastError: this.lastErr } : {}),
    }
  }

  /** Every group; with `subscribedOnly`, those a `subscribe` gave handlers (a bare `connectConsumer` group has nothing to run). */
  private consumerStates(subscribedOnly = false): KafkaHealth['groups'] {
    const consumers: KafkaHealth['groups'] = {}
    for (const [id, g] of this.groups) {
      if (!subscribedOnly || g.handlers.size) consumers[id] = { running: g.running, stalled: g.progress.stalled !== null, topics: [...g.handlers.keys()] }
    }
    return consumers
  }

  private probeBrokers() {
    return this.probe!.check().then((r) => {
      if (!r.reachable) this.recordError('health-probe', { message: r.error ?? 'no broker answered' })
      return r
    })
  }

  /** The producer rule with what it was based on (shared with the NestJS health indicator). */
  producerHealth(): Promise<HealthDetails> {
    return producerHealth({ enabled: this.settings.enabled, connected: this.producerConnected, dev: this.dev }, () => this.probeBrokers())
  }

  /** The consumer rule with what it was based on (shared with the NestJS health indicator). */
  consumerHealth(): Promise<HealthDetails> {
    return consumerHealth({ enabled: this.settings.enabled, dev: this.dev, groups: this.consumerStates(true) }, () => this.probeBrokers())
  }

  /** Connected and a broker answering within `healthCheckTimeoutMs`; true when disabled or in dev mode. */
  async isProducerHealthy(): Promise<boolean> {
    return (await this.producerHealth()).healthy
  }

  /** Every group running and not stalled, and a broker answering; true when disabled or in dev mode. */
  async isConsumerHealthy(): Promise<boolean> {
    return (await this.consumerHealth()).healthy
  }

  /** Both rules (one broker check serves both). */
  async isHealthy(): Promise<boolean> {
    const [p, c] = await Promise.all([this.producerHealth(), this.consumerHealth()])
    return p.healthy && c.healthy
  }

  /** Adds counters of another component to `metrics()`: `addStatsSource('event_bus', () => bus.stats)`. */
  addStatsSource(name: string, stats: () => Record<string, number>): this {
    this.statsSources.set(name, stats)
    return this
  }

  /**
   * Counters and gauges of the service: records and bytes produced and consumed, send errors,
   * sends in flight, per group handler errors, dead-lettered records, stall state and (unless
   * `{ lag: false }`) lag per partition; plus added stats sources and librdkafka statistics
   * when the native binding provides them.
   */
  async metrics(options: { lag?: boolean } = {}): Promise<MetricsSnapshot> {
    const producer: ProducerMetrics = { connected: this.producerConnected, ...this.counters }
    const consumers: ConsumerGroupMetrics[] = []
    const native: NonNullable<MetricsSnapshot['native']> = {}
    const ps = this.producer?.statistics()
    if (ps) native.producer = ps
    for (const [groupId, g] of this.groups) {
      const p = g.progress
      const m: ConsumerGroupMetrics = { groupId, running: g.running, stalled: p.stalled !== null, messages: p.messages, bytes: p.bytes, errors: p.errors, deadLettered: p.deadLettered }
      if (options.lag !== false && g.running) {
        try { m.lag = await this.lagOf(groupId, g) } catch (e) { this.recordError(`lag:${groupId}`, e) }
      }
      const cs = g.consumer.statistics()
      if (cs) native[`consumer:${groupId}`] = cs
      consumers.push(m)
    }
    const stats: Record<string, Record<string, number>> = {}
    for (const [name, read] of this.statsSources) stats[name] = { ...read() }
    return {
      timestamp: Date.now(), clientId: this.settings.clientId, producer, consumers, stats,
      ...(this.lastErr ? { lastError: this.lastErr } : {}), ...(Object.keys(native).length ? { native } : {}),
    }
  }

  /** `metrics()` in Prometheus text format: the body of a `/metrics` endpoint. */
  async metricsText(options: { lag?: boolean } = {}): Promise<string> {
    return renderPrometheus(await this.metrics(options))
  }

  /**
   * Opt-in: on SIGINT/SIGTERM, `disconnect()` this service (consumers stop after their in-flight
   * handlers, handled offsets commit, the producer flushes) within `timeoutMs` (default 10 s),
   * then re-raise the signal so the process exits. Returns a function removing the hooks.
   */
  enableShutdownHooks(options: ShutdownOptions = {}): () => void {
    return enableShutdownHooks(this, options)
  }

  /** Stops the watchdog and closes the lag reader (part of `disconnect()`). */
  protected async closeOps(): Promise<void> {
    // A check still reading lag would otherwise open a lag reader after it was closed.
    await this.watchdog?.stop()
    this.watchdog = null
    const admin = this.admin
    this.admin = null
    if (admin) await admin.then((a) => a.disconnect(), () => undefined)
  }

  /** Stops consumers (in-flight handlers finish, offsets commit), flushes and disconnects. */
  abstract disconnect(): Promise<void>
}
