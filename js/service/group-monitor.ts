/**
 * Per-group progress of the service's consumers: counters, the next offset after each handled
 * record, consumer lag per partition, and the stall rule (records waiting on an assigned
 * partition, yet no handler started or finished for `stallTimeoutMs`).
 */
import type { Admin } from '../admin'
import type { TopicPartitions } from '../types'

/** Lag of one partition for one group. */
export interface PartitionLag {
  topic: string
  partition: number
  /** The partition's high watermark (next offset to be written). */
  high: string
  /** The group's committed offset (`-1`: none). */
  committed: string
  /** The next offset after the last record this process handled (`null`: none handled yet). */
  position: string | null
  /** Records not yet handled: high watermark minus the later of position and committed offset. */
  lag: number
  /** Whether this member is currently assigned the partition. */
  assigned: boolean
}

/** Payload of the service's `stalled` event (and `ferrokafka:service.stalled`). */
export interface StallReport {
  groupId: string
  /** When the group last started or finished handling a record (epoch ms). */
  lastProgressAt: number
  /** How long without progress, when reported. */
  stalledForMs: number
  /** Assigned partitions with records waiting. */
  lagging: PartitionLag[]
  /** The record whose handler is still running, if one is. */
  inFlight: { topic: string; partition: number; offset: string; startedAt: number } | null
}

/** Payload of the service's `recovered` event: the group handled a record again. */
export interface RecoveryReport {
  groupId: string
  stalledForMs: number
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`

/** Progress and counters of one consumer group of the service (internal). */
export class GroupProgress {
  lastProgressAt = Date.now()
  /** When records were first seen waiting since the last progress (a fresh burst is not a stall). */
  lagSeenAt: number | null = null
  stalled: StallReport | null = null
  inFlight: StallReport['inFlight'] = null
  readonly positions = new Map<string, number>()
  messages = 0
  bytes = 0
  errors = 0
  deadLettered = 0

  constructor(readonly groupId: string) {}

  /** A handler started on a record: progress, and the record a stall report names. */
  started(topic: string, partition: number, offset: string): void {
    this.lastProgressAt = Date.now()
    this.inFlight = { topic, partition, offset, startedAt: this.lastProgressAt }
  }

  /** Records a finished handler; returns the recovery report when the group was stalled. */
  finished(topic: string, partition: number, offset: string, bytes: number, ok: boolean): RecoveryReport | null {
    this.lastProgressAt = Date.now()
    this.inFlight = null
    this.lagSeenAt = null
    if (ok) {
      this.messages++
      this.bytes += bytes
      this.positions.set(keyOf(topic, partition), Number(offset) + 1)
    } else this.errors++
    if (!this.stalled) return null
    const report = { groupId: this.groupId, stalledForMs: this.lastProgressAt - this.stalled.lastProgressAt }
    this.stalled = null
    return report
  }

  /** Partitions the group reads, with lag; committed offsets and watermarks come from `admin`. */
  async lag(admin: Admin, topics: string[], assignment: TopicPartitions[]): Promise<PartitionLag[]> {
    const assigned = new Set(assignment.flatMap((t) => t.partitions.map((p) => keyOf(t.topic, p))))
    const committed = new Map<string, number>()
    if (topics.length) {
      for (const t of await admin.fetchOffsets({ groupId: this.groupId, topics })) {
        for (const p of t.partitions) committed.set(keyOf(t.topic, p.partition), Number(p.offset))
      }
    }
    const out: PartitionLag[] = []
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const key = keyOf(topic, p.partition)
        const c = committed.get(key) ?? -1
        const position = this.positions.get(key)
        // Nothing committed or handled: every retained record is still to be read.
        const from = Math.max(c, position ?? -1, c < 0 && position === undefined ? Number(p.low) : -1)
        out.push({
          topic, partition: p.partition, high: String(p.high), committed: String(c), position: position === undefined ? null : String(position),
          lag: Math.max(0, Number(p.high) - from), assigned: assigned.has(key),
        })
      }
    }
    return out
  }

  /**
   * Applies the stall rule once; returns a report when the group has just become stalled.
   * `readLag` is called only once the group has been idle for `timeoutMs`.
   */
  async check(timeoutMs: number, assignment: TopicPartitions[], readLag: () => Promise<PartitionLag[]>): Promise<StallReport | null> {
    const now = Date.now()
    if (this.stalled || now - this.lastProgressAt < timeoutMs || assignment.every((t) => t.partitions.length === 0)) return null
    const lagging = (await readLag()).filter((p) => p.assigned && p.lag > 0)
    if (lagging.length === 0) {
      this.lagSeenAt = null
      return null
    }
    // A handler running for the whole timeout is a stall now; records that have only just
    // arrived after a quiet spell get a timeout of their own to be picked up.
    if (!this.inFlight) {
      if (this.lagSeenAt === null || this.lagSeenAt < this.lastProgressAt) this.lagSeenAt = now
      if (now - this.lagSeenAt < timeoutMs) return null
    }
    if (Date.now() - this.lastProgressAt < timeoutMs) return null // progress while lag was read
    this.stalled = { groupId: this.groupId, lastProgressAt: this.lastProgressAt, stalledForMs: now - this.lastProgressAt, lagging, inFlight: this.inFlight }
    return this.stalled
  }
}
