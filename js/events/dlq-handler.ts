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
import { resolveCluster, type ClusterConfig } from './config'
import { MANUAL_REVIEW_TOPIC, QUARANTINE_TOPIC } from './topic-manager'

export interface DLQHandlerOptions {
  maxReprocessAttempts?: number
  reprocessDelayMs?: number
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

export class DLQHandler {
  private readonly kafka: Kafka
  private consumer: Consumer | null = null
  private producer: Producer | null = null
  private readonly counts: DLQStats = { received: 0, reprocessed: 0, sentToReview: 0, quarantined: 0, failed: 0 }
  private readonly opts: Required<Omit<DLQHandlerOptions, 'dlqTopics'>> & { dlqTopics?: string[] }

  constructor(clusterConfig: ClusterConfig | undefined, options: DLQHandlerOptions = {}) {
    this.kafka = new Kafka(resolveCluster(clusterConfig))
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
    await this.consumer.run({
      // Records of a batch, and the batches of different partitions, wait out their delays side
      // by side: one record waiting never blocks another.
      partitionsConsumedConcurrently: 64,
      eachBatch: async ({ batch }) => {
        await Promise.all(batch.messages.map((m) => this.handle(batch.topic, m)))
      },
    })
  }

  private async handle(dlqTopic: string, m: KafkaMessage): Promise<void> {
    this.counts.received++
    const reprocessed = Number(header(m, 'dlq-reprocess-count') ?? '0') || 0
    const route = native.dlqRoute(reprocessed, this.opts.maxReprocessAttempts, this.opts.quarantineAfterAttempts)
    const original = header(m, 'dlq-original-topic') ?? dlqTopic.replace(/^dlq\./, '')
    const headers: IHeaders = { ...m.headers, 'dlq-reprocess-count': String(reprocessed + 1), 'dlq-source-topic': dlqTopic }
    try {
      if (route === 'reprocess') {
        const failedAt = Date.parse(header(m, 'dlq-failed-at') ?? '') || Number(m.timestamp)
        const wait = failedAt + this.opts.reprocessDelayMs - Date.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        await this.producer!.send({ topic: original, messages: [{ key: m.key, value: m.value, headers }] })
        this.counts.reprocessed++
      } else {
        const topic = route === 'review' ? this.opts.manualReviewTopic : this.opts.quarantineTopic
        await this.producer!.send({ topic, messages: [{ key: m.key, value: m.value, headers }] })
        if (route === 'review') this.counts.sentToReview++
        else this.counts.quarantined++
      }
    } catch (e) {
      this.counts.failed++
      throw e // not committed: the record comes back
    }
  }

  stats(): DLQStats {
    return { ...this.counts }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect()
    await this.producer?.disconnect()
    this.consumer = this.producer = null
  }
}
