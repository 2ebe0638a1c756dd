/**
 * Per-group progress of the service's consumers: the shared stall rule (../stall.ts) plus the
 * service's counters, and consumer lag read from the group's committed offsets and the
 * partitions' watermarks through an admin client.
 */
import type { Admin } from '../admin'
import { lagRow, partitionKey, ProgressWatch, type PartitionLag, type RecoveryReport } from '../stall'
import type { TopicPartitions } from '../types'

export type { PartitionLag, StallReport, RecoveryReport } from '../stall'

/** Progress and counters of one consumer group of the service (internal). */
export class GroupProgress extends ProgressWatch {
  messages = 0
  bytes = 0
  errors = 0
  deadLettered = 0

  /** Records a finished handler; returns the recovery report when the group was stalled. */
  handled(topic: string, partition: number, offset: string, bytes: number, ok: boolean): RecoveryReport | null {
    if (ok) {
      this.messages++
      this.bytes += bytes
    } else this.errors++
    return this.finished(topic, partition, offset, ok)
  }

  /** Partitions the group reads, with lag; committed offsets and watermarks come from `admin`. */
  async lag(admin: Admin, topics: string[], assignment: TopicPartitions[]): Promise<PartitionLag[]> {
    const assigned = new Set(assignment.flatMap((t) => t.partitions.map((p) => partitionKey(t.topic, p))))
    const committed = new Map<string, number>()
    if (topics.length) {
      for (const t of await admin.fetchOffsets({ groupId: this.groupId, topics })) {
        for (const p of t.partitions) committed.set(partitionKey(t.topic, p.partition), Number(p.offset))
      }
    }
    const out: PartitionLag[] = []
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const key = partitionKey(topic, p.partition)
        const marks = { high: Number(p.high), low: Number(p.low), committed: committed.get(key) ?? -1, position: this.positions.get(key) }
        out.push(lagRow(topic, p.partition, marks, assigned.has(key)))
      }
    }
    return out
  }
}
