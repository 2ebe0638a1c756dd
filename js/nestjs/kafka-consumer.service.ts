/**
 * Seed 001's `KafkaConsumerService`: one consumer per group, each with the event layer's retry
 * and dead-letter policy. Groups drain when the application shuts down.
 */
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common'
import { KafkaJSNonRetriableError } from '../errors'
import { native } from '../native'
import type { TopicPartitionOffsetAndMetadata } from '../types'
import { GroupConsumer, type SubscriptionHandler } from './group-consumer'
import { KAFKA_SETTINGS, type KafkaSettings } from './options'

/** `subscribe(...)`: a group, its topics and one handler for its records. */
export interface ConsumerSubscription {
  groupId: string
  topics: string[]
  handler: SubscriptionHandler
  /** Event-name patterns: only records whose event name matches one reach the handler. */
  eventNames?: string[]
  fromBeginning?: boolean
  /** false: offsets are committed only by `commitOffsets` (default true). */
  autoCommit?: boolean
  sessionTimeout?: number
  heartbeatInterval?: number
}

/** What `getStatus()` reports (and the health indicator shows). */
export interface ConsumerStatus {
  enabled: boolean
  consumerGroups: string[]
  totalConsumers: number
  /** Per group: running, its topics, and whether the stall watchdog finds it stalled. */
  groups: Record<string, { running: boolean; topics: string[]; stalled: boolean }>
}

/**
 * Injectable consumer groups of `KafkaModule` (the `@EventHandler` registry uses it too): one
 * consumer per group with retries and a dead-letter topic; every group drains on shutdown.
 */
@Injectable()
export class KafkaConsumerService implements OnModuleDestroy {
  private readonly logger = new Logger('KafkaConsumerService')
  private readonly consumers = new Map<string, GroupConsumer>()
  private readonly router: InstanceType<typeof native.EventRouter>

  constructor(@Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings) {
    this.router = new native.EventRouter({ domainTopics: settings.options.domainTopics, env: process.env as Record<string, string> })
  }

  /**
   * Starts a consumer group; resolves once its partitions are assigned, so a record produced
   * afterwards is never missed. A disabled module only logs. One subscription per group.
   */
  async subscribe(subscription: ConsumerSubscription): Promise<void> {
    const { groupId, topics, handler, eventNames, fromBeginning, autoCommit, sessionTimeout, heartbeatInterval } = subscription
    if (typeof groupId !== 'string' || groupId === '') throw new KafkaJSNonRetriableError('subscribe: `groupId` must be a non-empty string', { field: 'groupId' })
    if (!Array.isArray(topics) || topics.length === 0) throw new KafkaJSNonRetriableError('subscribe: `topics` must list at least one topic', { field: 'topics' })
    if (typeof handler !== 'function') throw new KafkaJSNonRetriableError('subscribe: `handler` must be a function', { field: 'handler' })
    if (!this.settings.enabled) {
      this.logger.warn(`Kafka disabled: group ${groupId} not started (topics ${topics.join(', ')})`)
      return
    }
    if (this.consumers.has(groupId)) throw new KafkaJSNonRetriableError(`subscribe: group "${groupId}" is already subscribed`, { field: 'groupId' })
    const { options, cluster } = this.settings
    const consumer = new GroupConsumer(cluster, {
      sessionTimeout: 10_000, heartbeatInterval: 1_000, stallTimeout: options.stallTimeoutMs ?? 60_000, ...options.consumer,
      ...(sessionTimeout !== undefined ? { sessionTimeout } : {}), ...(heartbeatInterval !== undefined ? { heartbeatInterval } : {}),
      groupId, fromBeginning, autoCommit, dlqTopic: cluster.dlqTopic, circuitBreaker: options.circuitBreaker,
      retry: { maxRetries: 3, initialRetryTimeMs: 100, ...options.retryPolicy },
    }, topics, eventNames, handler, this.router)
    this.consumers.set(groupId, consumer)
    try {
      await consumer.start()
    } catch (e) {
      this.consumers.delete(groupId)
      await consumer.disconnect().catch(() => undefined)
      throw e
    }
    this.logger.log(`group ${groupId} consuming ${topics.join(', ')}`)
  }

  /** Commits offsets of a group subscribed with `autoCommit: false` (kafkajs's shape). */
  async commitOffsets(groupId: string, offsets: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    const consumer = this.consumers.get(groupId)
    if (!consumer) throw new KafkaJSNonRetriableError(`commitOffsets: no group "${groupId}"`, { field: 'groupId' })
    await consumer.raw.commitOffsets(offsets)
  }

  /** Stops one group: in-flight handlers finish, handled offsets commit, the member leaves. */
  async disconnect(groupId: string): Promise<void> {
    const consumer = this.consumers.get(groupId)
    if (!consumer) return
    this.consumers.delete(groupId)
    await consumer.disconnect()
  }

  /** Stops every group the same way, concurrently. */
  async disconnectAll(): Promise<void> {
    const all = [...this.consumers.values()]
    this.consumers.clear()
    const results = await Promise.allSettled(all.map((c) => c.disconnect()))
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed.length) throw new AggregateError(failed.map((f) => f.reason), `${failed.length} consumer group(s) failed to disconnect`)
  }

  /**
   * The first shutdown hook: groups drain before any provider's `beforeApplicationShutdown` /
   * `onApplicationShutdown` (where handlers' own resources should be closed) runs.
   */
  async onModuleDestroy(): Promise<void> {
    await this.disconnectAll()
  }

  /** The groups, whether each is running and whether it is stalled, for health reports. */
  getStatus(): ConsumerStatus {
    const groups: ConsumerStatus['groups'] = {}
    for (const [id, c] of this.consumers) groups[id] = { running: c.running, topics: [...c.topicList], stalled: c.stalled }
    return { enabled: this.settings.enabled, consumerGroups: Object.keys(groups), totalConsumers: this.consumers.size, groups }
  }
}
