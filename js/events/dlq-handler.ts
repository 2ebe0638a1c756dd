/**
 * Seed 002's `DLQHandler`: replays dead-lettered records to their original topic after a delay,
 * counting replays in the `dlq-reprocess-count` header; past `maxReprocessAttempts` a record goes
 * to manual review, past `quarantineAfterAttempts` to quarantine (decided in Rust, src/dlq.rs).
 * A record's DLQ offset is committed only after its replay or move was acknowledged.
 */
import { Kafka } from '../kafka'
import { native } from '../native'
import type { Consumer } from '../consumer'
import type { Producer } from '../producer'
import type { IHeaders, KafkaMessage } from '../types'
import { kafkaConfigOf, resolveCluster, type ClusterConfig } from './config'
import { MANUAL_REVIEW_TOPIC, QUARANTINE_TOPIC } from './topic-manager'
import { readDeadLetters, replayDeadLetters, type DeadLetterRecord, type ReplayOptions } from './dlq-tools'

export interface DLQHandlerOptions {
  /** Replays before a record goes to manual review instead (default 3). */
  maxReprocessAttempts?: number
  /** How long after its failure a record is replayed (ms, default 60000). */
  reprocessDelayMs?: number
  /** Replays before a record goes to quarantine (default 5); wins when lower than `maxReprocessAttempts`. */
  quarantineAfterAttempts?: number
  /** DLQ topics to watch; default every `dlq.*` topic. */
  dlqTopics?: string[]
  quarantineTopic?: string
  manualReviewTopic?: string
  groupId?: string
}

export interface DLQStats {
  received: number
  reprocessed: number
  sentToReview: number
  quarantined: number
  failed: number
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString()
/** Records waiting at once before fetching pauses (memory bound). */
const MAX_IN_FLIGHT = 10_000

export class DLQHandler {
  private readonly kafka: Kafka
  private consumer: Consumer | null = null
  private producer: Producer | null = null
  private readonly counts: DLQStats = { received: 0, reprocessed: 0, sentToReview: 0, quarantined: 0, failed: 0 }
  /** Per partition: offsets taken on, and whether each has been acknowledged. */
  private readonly pending = new Map<string, Map<number, boolean>>()
  private inflight = 0
  private readonly opts: Required<Omit<DLQHandlerOptions, 'dlqTopics'>> & { dlqTopics?: string[] }

  constructor(clusterConfig: ClusterConfig | undefined, options: DLQHandlerOptions = {}) {
    this.kafka = new Kafka(kafkaConfigOf(resolveCluster(clusterConfig)))
    this.opts = {
      maxReprocessAttempts: options.maxReprocessAttempts ?? 3,
      reprocessDelayMs: options.reprocessDelayMs ?? 60_000,
      quarantineAfterAttempts: options.quarantineAfterAttempts ?? 5,
      quarantineTopic: options.quarantineTopic ?? QUARANTINE_TOPIC,
      manualReviewTopic: options.manualReviewTopic ?? MANUAL_REVIEW_TOPIC,
      groupId: options.groupId ?? 'ferrokafka-dlq-handler',
      dlqTopics: options.dlqTopics,
    }
  }

  /** Starts watching the DLQ topics; resolves once partitions are assigned. */
  async start(): Promise<void> {
    this.producer = this.kafka.producer()
    await this.producer.connect()
    this.consumer = this.kafka.consumer({ groupId: this.opts.groupId })
    await this.consumer.connect()
    await this.consumer.subscribe({ topics: this.opts.dlqTopics ?? [/^dlq\..*/], fromBeginning: true })
    // Each record waits out its own delay while fetching goes on, so one record never blocks
    // another. Offsets are committed by hand, only up to the first record not yet acknowledged.
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const key = `${batch.topic}\u0000${batch.partition}`
        const pending = this.pending.get(key) ?? new Map<number, boolean>()
        this.pending.set(key, pending)
        for (const m of batch.messages) {
          const offset = Number(m.offset)
          if (pending.has(offset)) continue
          pending.set(offset, false)
          this.inflight++
          void this.handle(batch.topic, m)
            .then(() => { pending.set(offset, true); return this.commitDone(batch.topic, batch.partition, pending) }, () => {
              // Not acknowledged: left uncommitted, so a restart replays it.
              this.counts.failed++
            })
            .finally(() => { this.inflight-- })
        }
        while (this.inflight > MAX_IN_FLIGHT) await new Promise((r) => setTimeout(r, 10))
      },
    })
  }

  /** Commits past every acknowledged record that has no unacknowledged one before it. */
  private async commitDone(topic: string, partition: number, pending: Map<number, boolean>): Promise<void> {
    const offsets = [...pending.keys()].sort((a, b) => a - b)
    let next = -1
    for (const o of offsets) {
      if (!pending.get(o)) break
      pending.delete(o)
      next = o + 1
    }
    if (next >= 0 && this.consumer) await this.consumer.commitOffsets([{ topic, partition, offset: String(next) }]).catch(() => {})
  }

  private async handle(dlqTopic: string, m: KafkaMessage): Promise<void> {
    this.counts.received++
    const reprocessed = Number(header(m, 'dlq-reprocess-count') ?? '0') || 0
    const route = native.dlqRoute(reprocessed, this.opts.maxReprocessAttempts, this.opts.quarantineAfterAttempts)
    const original = header(m, 'dlq-original-topic') ?? dlqTopic.replace(/^dlq\./, '')
    const headers: IHeaders = { ...m.headers, 'dlq-reprocess-count': String(reprocessed + 1), 'dlq-source-topic': dlqTopic }
    if (route === 'reprocess') {
      const failedAt = Date.parse(header(m, 'dlq-failed-at') ?? '') || Number(m.timestamp)
      const wait = failedAt + this.opts.reprocessDelayMs - Date.now()
      // Unref'd: a stopped handler's waiting records (uncommitted) never hold the process open.
      if (wait > 0) await new Promise((r) => setTimeout(r, wait).unref())
      await this.counted('reprocessed', this.producer!.send({ topic: original, messages: [{ key: m.key, value: m.value, headers }] }))
    } else {
      const topic = route === 'review' ? this.opts.manualReviewTopic : this.opts.quarantineTopic
      await this.counted(route === 'review' ? 'sentToReview' : 'quarantined', this.producer!.send({ topic, messages: [{ key: m.key, value: m.value, headers }] }))
    }
  }

  /**
   * Counts a send as soon as it is handed over (undone if it fails): a consumer of the target topic
   * in this process may see the record before the broker's acknowledgement reaches JavaScript.
   */
  private async counted(stat: 'reprocessed' | 'sentToReview' | 'quarantined', send: Promise<unknown>): Promise<void> {
    this.counts[stat]++
    try {
      await send
    } catch (e) {
      this.counts[stat]--
      throw e
    }
  }

  /** Operators: replays `dlqTopic`'s records (those `filter` accepts, at most `limit`) now. */
  async replay(dlqTopic: string, options: ReplayOptions = {}): Promise<number> {
    const n = await replayDeadLetters(this.kafka, dlqTopic, options)
    this.counts.reprocessed += n
    return n
  }

  /** Operators: the records of `dlqTopic` with their failure headers, committing nothing. */
  async inspect(dlqTopic: string, limit?: number): Promise<DeadLetterRecord[]> {
    return readDeadLetters(this.kafka, dlqTopic, limit)
  }

  stats(): DLQStats {
    return { ...this.counts }
  }

  async stop(): Promise<void> {
    // Records still waiting stay uncommitted and are replayed by the next start.
    await this.consumer?.disconnect()
    await this.producer?.disconnect()
    this.consumer = this.producer = null
  }
}
