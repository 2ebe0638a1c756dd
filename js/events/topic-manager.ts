/** Seed 002's `TopicManager`: topics with partitions and config, per organization, and DLQ names. */
import { Kafka } from '../kafka'
import type { ITopicConfig } from '../types'
import { kafkaConfigOf, resolveCluster, type ClusterConfig } from './config'

export const QUARANTINE_TOPIC = 'quarantine.queue'
export const MANUAL_REVIEW_TOPIC = 'manual.review.queue'

export class TopicManager {
  private readonly kafka: Kafka

  constructor(clusterConfig?: ClusterConfig) {
    this.kafka = new Kafka(kafkaConfigOf(resolveCluster(clusterConfig)))
  }

  /** Creates the topics that do not exist yet; resolves to the names created. */
  async ensureTopics(topics: ITopicConfig[]): Promise<string[]> {
    const admin = this.kafka.admin()
    await admin.connect()
    try {
      const existing = new Set(await admin.listTopics())
      const missing = topics.filter((t) => !existing.has(t.topic))
      if (missing.length) await admin.createTopics({ topics: missing })
      return missing.map((t) => t.topic)
    } finally {
      await admin.disconnect()
    }
  }

  /** `<topic>.<organizationId>` for each base topic, created if missing. */
  async createOrganizationTopics(baseTopics: string[], organizationId: string, numPartitions = 3, replicationFactor = 1): Promise<string[]> {
    const names = baseTopics.map((t) => this.organizationTopic(t, organizationId))
    await this.ensureTopics(names.map((topic) => ({ topic, numPartitions, replicationFactor })))
    return names
  }

  organizationTopic(topic: string, organizationId: string): string {
    return `${topic}.${organizationId}`
  }

  getDLQTopic(topic: string): string {
    return `dlq.${topic}`
  }

  getQuarantineTopic(): string {
    return QUARANTINE_TOPIC
  }

  getManualReviewTopic(): string {
    return MANUAL_REVIEW_TOPIC
  }

  /** The DLQ, quarantine and manual-review topics for `topics`. */
  async ensureDeadLetterTopics(topics: string[], numPartitions = 1): Promise<string[]> {
    const names = [...topics.map((t) => this.getDLQTopic(t)), QUARANTINE_TOPIC, MANUAL_REVIEW_TOPIC]
    return this.ensureTopics(names.map((topic) => ({ topic, numPartitions })))
  }
}
