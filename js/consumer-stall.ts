/**
 * The plain Consumer's stall watchdog (consumer option `stallTimeout`): the rule of ./stall.ts,
 * fed by the run loop. Lag comes only from what the loop already has — each fetched partition's
 * high watermark (librdkafka's cached value), where fetching resumed, what handlers finished and
 * what COMMIT_OFFSETS reported — so a check never makes a broker round trip.
 */
import { lagRow, partitionKey, ProgressWatch, Watchdog, type PartitionLag, type RecoveryReport, type StallReport, type StallState } from './stall'
import { consumerEvents as events } from './consumer-events'
import type { Logger } from './logger'
import type { TopicPartitions } from './types'

/** `consumer.health()`: the service's per-group state plus the stall details. */
export interface ConsumerHealth extends StallState {
  groupId: string
  /** The `stallTimeout` in effect (0: no watchdog, `stalled` is always false). */
  stallTimeout: number
  /** When a handler last started on a new record or succeeded, or `run()` began (epoch ms); null without a watchdog. */
  lastProgressAt: number | null
  /** The record whose handler is running now, if one is. */
  inFlight: StallReport['inFlight']
  /** While stalled: the report the `consumer.stalled` event carried. */
  stall: StallReport | null
}

/** What the watchdog reads of its consumer, and where it reports. */
export interface StallSource {
  assignment(): TopicPartitions[]
  /** Partition keys the user paused: records waiting there are not a stall. */
  isPaused(key: string): boolean
  /** The consumer's instrumentation (`consumer.on` listeners and diagnostics_channel). */
  emit(eventName: string, payload: unknown): void
  logger: Logger
}

/** One consumer's progress, lag as the run loop knows it, and the timer applying the rule (internal). */
export class ConsumerStallWatch {
  private readonly progress: ProgressWatch
  private readonly watchdog: Watchdog
  private readonly highs = new Map<string, number>()
  private readonly committed = new Map<string, number>()

  constructor(groupId: string, readonly timeoutMs: number, private readonly source: StallSource) {
    this.progress = new ProgressWatch(groupId)
    this.watchdog = new Watchdog(timeoutMs, (timeout) => this.check(timeout))
  }

  /** Starts the timer; the time until `run()` counts as progress. */
  start(): void {
    this.progress.lastProgressAt = Date.now()
    this.watchdog.start()
  }

  stop(): Promise<void> {
    return this.watchdog.stop()
  }

  /** A batch of a partition was fetched: its watermark, and where handling resumes. */
  fetched(topic: string, partition: number, highWatermark: string, firstOffset: string, lastOffset: string): void {
    const key = partitionKey(topic, partition)
    this.highs.set(key, Math.max(Number(highWatermark), Number(lastOffset) + 1))
    this.progress.positions.set(key, Number(firstOffset))
  }

  started(topic: string, partition: number, offset: string): void {
    this.progress.started(topic, partition, offset)
  }

  /** `ok` true: the partition moves past `offset` (handled or dead-lettered); false: the handler failed; null: it returned without moving it. */
  finished(topic: string, partition: number, offset: string, ok: boolean | null): void {
    this.recovered(this.progress.finished(topic, partition, offset, ok))
  }

  /** An `eachBatch` handler resolved `offset` while still running. */
  resolved(topic: string, partition: number, offset: string): void {
    this.recovered(this.progress.resolved(topic, partition, offset))
  }

  private recovered(report: RecoveryReport | null): void {
    if (!report) return
    this.source.logger.info('Consumer recovered from a stall', { ...report })
    this.source.emit(events.RECOVERED, report)
  }

  /** COMMIT_OFFSETS's `topics`: the committed offsets the lag rows show. */
  commits(topics: { topic: string; partitions: { partition: number | string; offset: string }[] }[] = []): void {
    for (const t of topics) for (const p of t.partitions) this.committed.set(partitionKey(t.topic, Number(p.partition)), Number(p.offset))
  }

  /** A new assignment: what was known of partitions no longer assigned is stale when they come back. */
  assigned(assignment: Record<string, number[]> = {}): void {
    const kept = new Set(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => partitionKey(topic, p))))
    for (const map of [this.highs, this.committed, this.progress.positions]) {
      for (const key of map.keys()) if (!kept.has(key)) map.delete(key)
    }
  }

  /** Assigned, unpaused partitions whose watermark the loop has seen, with lag. */
  lag(assignment: TopicPartitions[]): PartitionLag[] {
    const out: PartitionLag[] = []
    for (const t of assignment) {
      for (const partition of t.partitions) {
        const key = partitionKey(t.topic, partition)
        const high = this.highs.get(key)
        if (high === undefined || this.source.isPaused(key)) continue
        const position = this.progress.positions.get(key)
        out.push(lagRow(t.topic, partition, { high, low: position ?? high, committed: this.committed.get(key) ?? -1, position }, true))
      }
    }
    return out
  }

  private async check(timeout: number): Promise<void> {
    const assignment = this.source.assignment()
    const report = await this.progress.check(timeout, assignment, async () => this.lag(assignment))
    if (!report) return
    // A WARN line too: a stall must be visible to users who never subscribe to events.
    this.source.logger.warn('Consumer stalled: records waiting and no handler progress', {
      groupId: report.groupId, stalledForMs: report.stalledForMs, inFlight: report.inFlight,
      failing: report.failing.map((f) => `${f.topic}[${f.partition}]@${f.offset}`).join(','),
      lagging: report.lagging.map((l) => `${l.topic}[${l.partition}]:${l.lag}`).join(','),
    })
    this.source.emit(events.STALLED, report)
  }

  health(base: Omit<StallState, 'stalled'> & { groupId: string }): ConsumerHealth {
    const p = this.progress
    return { ...base, stalled: p.stalled !== null, stallTimeout: this.timeoutMs, lastProgressAt: p.lastProgressAt, inFlight: p.inFlight, stall: p.stalled }
  }
}
