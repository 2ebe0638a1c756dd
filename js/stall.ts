/**
 * The stall rule, shared by the plain `Consumer` (option `stallTimeout`) and `KafkaService`
 * (`stallTimeoutMs`): records wait on an assigned partition, yet no handler started on a new
 * record or succeeded for the timeout (a record retried after a failure, again and again, is no
 * progress). A consumer whose handler hangs keeps its group membership, so this rule is
 * the only signal that it stopped. Also the lag arithmetic and the watchdog timer applying it.
 */
import type { TopicPartitions } from './types'

/** Lag of one partition for one group. */
export interface PartitionLag {
  topic: string
  partition: number
  /** The partition's high watermark (next offset to be written). */
  high: string
  /** The group's committed offset (`-1`: none, or not known to a plain consumer yet). */
  committed: string
  /** The next offset after the last record this process handled (`null`: none handled yet). */
  position: string | null
  /** Records not yet handled: high watermark minus the later of position and committed offset. */
  lag: number
  /** Whether this member is currently assigned the partition. */
  assigned: boolean
}

/** Payload of a `stalled` event: the service's, and the consumer's `consumer.stalled`. */
export interface StallReport {
  groupId: string
  /** When the group last started a new record or handled one (epoch ms). */
  lastProgressAt: number
  /** How long without progress, when reported. */
  stalledForMs: number
  /** Assigned partitions with records waiting. */
  lagging: PartitionLag[]
  /** The record whose handler is still running, if one is. */
  inFlight: { topic: string; partition: number; offset: string; startedAt: number } | null
  /** Records whose handler failed and that wait for a retry (their retries are not progress). */
  failing: { topic: string; partition: number; offset: string }[]
}

/** Payload of a `recovered` event (service) or `consumer.recovered`: the group handled a record again. */
export interface RecoveryReport {
  groupId: string
  stalledForMs: number
}

/** What a consumer group's health reads: the service's `healthCheck().groups[groupId]`, and more. */
export interface StallState {
  running: boolean
  /** Stalled now: reported by a `stalled` event and not yet recovered. */
  stalled: boolean
  topics: string[]
}

export const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

/**
 * One lag row. `low` is where a partition with nothing committed or handled starts (its log
 * start, or the first record fetched): every record from there is still to be handled.
 */
export function lagRow(
  topic: string, partition: number, marks: { high: number; low: number; committed: number; position?: number }, assigned: boolean,
): PartitionLag {
  const { high, low, committed: c, position } = marks
  const from = Math.max(c, position ?? -1, c < 0 && position === undefined ? low : -1)
  return {
    topic, partition, high: String(high), committed: String(c), position: position === undefined ? null : String(position),
    lag: Math.max(0, high - from), assigned,
  }
}

/** Progress of one consumer group and the stall rule over it. */
export class ProgressWatch {
  lastProgressAt = Date.now()
  /** When records were first seen waiting since the last progress (a fresh burst is not a stall). */
  lagSeenAt: number | null = null
  stalled: StallReport | null = null
  inFlight: StallReport['inFlight'] = null
  /** Next offset to handle per partition key: after the last handled record, or where fetching resumed. */
  readonly positions = new Map<string, number>()
  /** Per partition key, the record whose handler failed last, until the partition moves past it. */
  private readonly failing = new Map<string, { topic: string; partition: number; offset: string }>()

  constructor(readonly groupId: string) {}

  /** A handler started on a record: progress unless it retries a failed one; the record a stall report names. */
  started(topic: string, partition: number, offset: string): void {
    const now = Date.now()
    if (this.failing.get(partitionKey(topic, partition))?.offset !== offset) this.lastProgressAt = now
    this.inFlight = { topic, partition, offset, startedAt: now }
  }

  /**
   * A handler finished. `ok` true: the partition moves past `offset` (progress; the recovery
   * report when the group was stalled); false: it failed and the record waits for a retry, which
   * is no progress; null: it returned without moving the partition (an `eachBatch` that paused).
   */
  finished(topic: string, partition: number, offset: string, ok: boolean | null): RecoveryReport | null {
    this.inFlight = null
    const key = partitionKey(topic, partition)
    if (ok === false) {
      this.failing.set(key, { topic, partition, offset })
      return null
    }
    if (ok) this.positions.set(key, Number(offset) + 1)
    return this.moved(key)
  }

  /**
   * A handler still running moved past `offset` (an `eachBatch` resolving offsets as it goes):
   * progress, with the next record now the one in flight.
   */
  resolved(topic: string, partition: number, offset: string): RecoveryReport | null {
    const key = partitionKey(topic, partition)
    this.positions.set(key, Number(offset) + 1)
    const report = this.moved(key)
    this.inFlight = { topic, partition, offset: String(Number(offset) + 1), startedAt: this.lastProgressAt }
    return report
  }

  private moved(key: string): RecoveryReport | null {
    this.failing.delete(key)
    this.lastProgressAt = Date.now()
    this.lagSeenAt = null
    if (!this.stalled) return null
    const report = { groupId: this.groupId, stalledForMs: this.lastProgressAt - this.stalled.lastProgressAt }
    this.stalled = null
    return report
  }

  /**
   * Applies the stall rule once; returns a report when the group has just become stalled.
   * `readLag` is called only once the group has been idle for `timeoutMs`.
   */
  async check(timeoutMs: number, assignment: TopicPartitions[], readLag: () => Promise<PartitionLag[]>): Promise<StallReport | null> {
    const now = Date.now()
    // A failing record of a partition since revoked is another member's now.
    const assigned = new Set(assignment.flatMap((t) => t.partitions.map((p) => partitionKey(t.topic, p))))
    for (const key of this.failing.keys()) if (!assigned.has(key)) this.failing.delete(key)
    if (this.stalled || now - this.lastProgressAt < timeoutMs || assignment.every((t) => t.partitions.length === 0)) return null
    const lagging = (await readLag()).filter((p) => p.assigned && p.lag > 0)
    if (lagging.length === 0) {
      this.lagSeenAt = null
      return null
    }
    // A handler running (or a record failing) for the whole timeout is a stall now; records that
    // have only just arrived after a quiet spell get a timeout of their own to be picked up.
    if (!this.inFlight && this.failing.size === 0) {
      if (this.lagSeenAt === null || this.lagSeenAt < this.lastProgressAt) this.lagSeenAt = now
      if (now - this.lagSeenAt < timeoutMs) return null
    }
    if (Date.now() - this.lastProgressAt < timeoutMs) return null // progress while lag was read
    this.stalled = {
      groupId: this.groupId, lastProgressAt: this.lastProgressAt, stalledForMs: now - this.lastProgressAt, lagging, inFlight: this.inFlight, failing: [...this.failing.values()],
    }
    return this.stalled
  }
}

/**
 * Runs `tick` a few times per `timeoutMs` (never two at once) while started; the timer never
 * keeps the process alive. `tick` reports its own errors.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | null = null
  private checking: Promise<void> | null = null

  constructor(private readonly timeoutMs: number, private readonly tick: (timeoutMs: number) => Promise<void>) {}

  start(): void {
    if (this.timer || this.timeoutMs <= 0) return
    this.timer = setInterval(() => {
      if (this.checking) return
      this.checking = this.tick(this.timeoutMs).catch(() => undefined).finally(() => { this.checking = null })
    }, Math.min(Math.max(Math.floor(this.timeoutMs / 4), 50), 15_000))
    this.timer.unref()
  }

  /** Stops the timer; resolves once a check under way has finished. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.checking
  }
}
