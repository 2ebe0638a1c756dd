/**
 * A run's offsets as kafkajs's offset manager exposes them to handlers: what was resolved and not
 * yet committed (`uncommittedOffsets()`, across every partition the run handled, including the
 * batches still running), and whether `autoCommitThreshold`/`autoCommitInterval` want a commit
 * now — after each `eachMessage` message (with autoCommit, so a long batch is checkpointed rather
 * than committed only at its end) and in `commitOffsetsIfNecessary()` (whatever autoCommit says,
 * as kafkajs's). Batch-end commits stay Rust's (src/consumer.rs).
 */
import type { OffsetsByTopicPartition } from './types'
import type { NativeConsumer, TopicPartitionOffset } from '../binding'
import { call, callSync } from './errors'
import type { Logger } from './logger'
import { partitionKey as keyOf } from './stall'
import * as check from './validate'

type OffsetsGiven = { topics?: { topic: string; partitions: { partition: number | string; offset: string }[] }[] }

export class RunOffsets {
  /** Next offsets resolved by finished batches and not yet known committed, by partition key. */
  private readonly resolved = new Map<string, TopicPartitionOffset>()
  /** The batches running now: each reads its own resolved offset when asked. */
  private readonly live = new Map<string, () => TopicPartitionOffset | null>()
  /** The offset the last commit of this run sent, by partition key (kafkajs's committed offsets). */
  private readonly acked = new Map<string, bigint>()
  private sinceCommit = 0
  private lastCommitAt = Date.now()

  constructor(private readonly policy: { autoCommit?: boolean; autoCommitThreshold?: number | null; autoCommitInterval?: number | null }) {}

  /** A batch of `topic`/`partition` starts: `current` reads the next offset it resolved so far. */
  track(topic: string, partition: number, current: () => TopicPartitionOffset | null): void {
    this.live.set(keyOf(topic, partition), current)
  }

  /** The batch ended: what it resolved stays uncommitted until a commit covers it. */
  untrack(topic: string, partition: number): void {
    const key = keyOf(topic, partition)
    const last = this.live.get(key)?.()
    this.live.delete(key)
    if (last) this.resolved.set(key, last)
  }

  /** `count` more offsets resolved (kafkajs counts them against `autoCommitThreshold`). */
  resolvedMore(count: number): void {
    this.sinceCommit += count
  }

  /** Whether the threshold of resolved offsets or the interval since the last commit is reached. */
  due(): boolean {
    const { autoCommitThreshold: threshold, autoCommitInterval: interval } = this.policy
    return (threshold != null && this.sinceCommit >= threshold) || (interval != null && Date.now() - this.lastCommitAt >= interval)
  }

  /** One more message handled by `eachMessage`: whether kafkajs would commit now (autoCommit on, and due). */
  handledOne(): boolean {
    if (this.policy.autoCommit === false) return false
    this.sinceCommit++
    return this.due()
  }

  /** A commit reached the broker: what it covers is no longer uncommitted. */
  committed(topics: NonNullable<OffsetsGiven['topics']>): void {
    this.sinceCommit = 0
    this.lastCommitAt = Date.now()
    for (const t of topics) {
      for (const p of t.partitions) {
        const key = keyOf(t.topic, Number(p.partition))
        const offset = BigInt(p.offset)
        this.acked.set(key, offset)
        const r = this.resolved.get(key)
        if (r && BigInt(r.offset) <= offset) this.resolved.delete(key)
      }
    }
  }

  /**
   * kafkajs's commit in the middle of an `eachMessage` batch (`autoCommitThreshold` or
   * `autoCommitInterval` reached): this partition's progress is stored and committed now. A failed
   * commit is logged; the offset stays stored for the next one.
   */
  async checkpoint(nc: NativeConsumer, topic: string, partition: number, offset: string, log: Logger): Promise<void> {
    const next = String(BigInt(offset) + 1n)
    try {
      callSync(() => nc.store([{ topic, partition, offset: next }], 0))
      await call(() => nc.commit())
      this.committed([{ topic, partitions: [{ partition, offset: next }] }])
    } catch (e) {
      // Tried again once due again, not at the next message (a rebalancing group refuses commits
      // for seconds; the batch's end commits what is stored anyway).
      this.sinceCommit = 0
      this.lastCommitAt = Date.now()
      log.warn(`Offset commit failed: ${(e as Error).message}`, { topic, partition })
    }
  }

  /**
   * kafkajs's `commitOffsetsIfNecessary(offsets?)`: the offsets given (`{}`: every uncommitted
   * one), or with none given every uncommitted offset once due; waits for the broker.
   */
  async commitIfNecessary(nc: NativeConsumer, offsets?: OffsetsGiven): Promise<void> {
    if (offsets === undefined && !this.due()) return
    if (offsets !== undefined) check.options(offsets, 'offsets')
    const topics = offsets?.topics ?? this.uncommitted().topics
    const list = check.topicOffsets(topics, 'offsets.topics')
    if (list.length > 0) await call(() => nc.commit(list, offsets?.topics === undefined))
    this.committed(topics)
  }

  /** A new generation: kafkajs's offset manager starts afresh with the new assignment. */
  clear(): void {
    this.resolved.clear()
    this.acked.clear()
  }

  /** kafkajs's `uncommittedOffsets()`: partitions as strings (kafkajs reads them from object keys). */
  uncommitted(): OffsetsByTopicPartition {
    const all = new Map(this.resolved)
    for (const [key, current] of this.live) {
      const r = current()
      if (r) all.set(key, r)
    }
    // A running batch's resolved offset that the last commit sent is not uncommitted (kafkajs compares
    // resolved and committed offsets the same way).
    for (const [key, r] of all) if (BigInt(r.offset) === this.acked.get(key)) all.delete(key)
    const byTopic = new Map<string, { partition: number; offset: string }[]>()
    for (const r of all.values()) {
      const list = byTopic.get(r.topic) ?? []
      list.push({ partition: String(r.partition) as unknown as number, offset: r.offset })
      byTopic.set(r.topic, list)
    }
    return { topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) }
  }
}
