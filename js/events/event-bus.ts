/**
 * Seed 000's event bus: `publish` routes a domain event to its topic (keyed by aggregate);
 * `subscribe` takes event names with wildcards (`order.*`, `*.status_changed`, `*`) and resolves
 * once the subscription is live, so an event published after it is never missed.
 */
import { randomUUID } from 'crypto'
import { Kafka } from '../kafka'
import { native } from '../native'
import type { ConsumerConfig, ConsumerRunConfig, KafkaConfig, RecordMetadata } from '../types'
import { CHECK_ENVELOPES, READ_ROWS } from '../messages'
import { deferredEvent } from './lazy-event'
import type { RowsBatch } from '../batch'
import { kafkaConfigOf, resolveCluster, type ClusterConfig } from './config'
import { createEvent, parseDomainEventText, type DomainEvent, type EventMetadata } from './envelope'
import { EventConsumer, type HandlerContext, type RetryPolicyConfig } from './event-consumer'
import { EventProducer } from './event-producer'
import { validateEventSafe, type EventSchema } from './validation'
import { EventValidationError } from './envelope'

export type EventHandler<T = any> = (event: DomainEvent<T>, context: HandlerContext) => Promise<void> | void

export interface SubscribeOptions {
  fromBeginning?: boolean
  /** Explicit topics; by default derived from the event patterns and the domain map. */
  topics?: string[]
  retry?: RetryPolicyConfig
  dlqTopic?: string
  circuitBreaker?: { failureThreshold: number; cooldownMs?: number }
  /** A schema per event type, for the event's `data`: an invalid event goes to the DLQ as non-retryable. */
  schemas?: Record<string, EventSchema>
  /**
   * Parse each event when its handler first reads it (default true): an event Rust found well
   * formed as it was fetched is handed over as a Proxy over its JSON, so a handler that reads only
   * `event.type` (the `event-type` header's value, checked equal) or only counts never pays the
   * parse. `false` parses before the handler runs and hands over a plain object: needed for
   * `structuredClone(event)`, `postMessage(event)` or `v8.serialize(event)` (README).
   */
  deferParse?: boolean
  /** kafkajs consumer options for this subscription's group (sessionTimeout, heartbeatInterval, ...). */
  consumer?: Partial<Omit<ConsumerConfig, 'groupId'>>
}

export interface EventBusStats {
  published: number
  handled: number
  /** Events no handler pattern matched: committed and counted, never an error. */
  unmatched: number
}

const INTERNAL = /^(dlq\.|__|quarantine\.queue$|manual\.review\.queue$)/

class BusConsumer extends EventConsumer {
  /**
   * Starts one event's handler and returns what it returned (a promise for async handlers), so
   * the batch loop awaits once per event: no async wrapper of its own, whose extra promise every
   * event would pay for (and, with correlation tracking on, its async-hook calls).
   */
  private handleNow(topic: string, partition: number, offset: string, headers: Record<string, string>, event: DomainEvent, type: string, deferred: boolean): unknown {
    const schema = this.options.schemas?.[type]
    if (schema) {
      const r = validateEventSafe(schema, event.data)
      if (!r.success) throw new EventValidationError(r.error.message, r.error.issues)
    }
    const context = this.contextOf(topic, partition, offset, headers)
    // A deferred event has no metadata.correlationId unless the header carries it (envelope_check.rs).
    if (!deferred) context.correlationId = context.correlationId ?? event.metadata?.correlationId
    return this.within(context, event, () => this.handler(event, context))
  }

  constructor(cluster: ClusterConfig, groupId: string, private readonly patterns: string[], private readonly handler: EventHandler,
    private readonly options: SubscribeOptions, private readonly router: InstanceType<typeof native.EventRouter>, private readonly stats: EventBusStats) {
    super(cluster, { ...options.consumer, groupId, fromBeginning: options.fromBeginning, retry: options.retry, dlqTopic: options.dlqTopic, circuitBreaker: options.circuitBreaker })
  }

  get groupId(): string {
    return this.group.groupId
  }

  /** Rust's routing decisions, remembered per event type: a topic carries few distinct types. */
  private readonly decided = new Map<string, boolean>()

  /** Whether `type` matches one of the patterns; a crossing only for a type not seen before. */
  private matches(type: string): boolean {
    let matched = this.decided.get(type)
    if (matched === undefined) {
      if (this.decided.size >= 10_000) this.decided.clear()
      matched = this.router.matchBatch(this.patterns, [type])[0].length > 0
      this.decided.set(type, matched)
    }
    return matched
  }

  async start(topics: string[]): Promise<void> {
    await this.consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? false })
    await this.consumer.run({
      ...this.runOptions(),
      // Failures are reported per event, so a dead-lettered event never costs a refetch of its batch.
      eachBatchAutoResolve: false,
      [READ_ROWS]: true,
      [CHECK_ENVELOPES]: this.options.deferParse !== false,
      // Each event is read from the batch's rows as it comes: no kafkajs message object (nor a Buffer
      // per value and header) is built unless a failure report needs it, and each parsed event is
      // garbage once handled instead of the whole batch's living until its end.
      eachBatch: async (payload) => {
        const { topic, partition, rows } = payload.batch as RowsBatch
        for (let i = 0; i < rows.count; i++) {
          const offset = rows.offset(i)
          try {
            const headers = rows.headerStrings(i)
            const deferred = rows.deferParse(i)
            // Unparseable: non-retryable, to the DLQ. A deferred event's type is its header's.
            const event = deferred ? deferredEvent(rows, i, headers['event-type']) : parseDomainEventText(rows.valueText(i))
            const type = deferred ? headers['event-type'] : event.type
            if (!this.matches(type)) this.stats.unmatched++
            else {
              const result = this.handleNow(topic, partition, offset, headers, event, type, deferred)
              if (typeof (result as PromiseLike<void> | undefined)?.then === 'function') await result
              this.stats.handled++
            }
          } catch (error) {
            const action = await this.consumer.reportFailure(topic, partition, rows.message(i), error)
            if (action !== 'dead-lettered') return
          }
          payload.resolveOffset(offset)
        }
      },
    } as ConsumerRunConfig)
  }
}

export class EventBus {
  private readonly producer: EventProducer
  private readonly router: InstanceType<typeof native.EventRouter>
  private readonly consumers: BusConsumer[] = []
  private readonly cluster: ReturnType<typeof resolveCluster>
  readonly stats: EventBusStats = { published: 0, handled: 0, unmatched: 0 }
  private started = false

  constructor(config?: ClusterConfig & { domainTopics?: Record<string, string> }) {
    this.cluster = resolveCluster(config)
    this.router = new native.EventRouter({ domainTopics: config?.domainTopics, env: process.env as Record<string, string> })
    this.producer = new EventProducer(this.cluster, { domainTopics: config?.domainTopics })
  }

  async start(): Promise<this> {
    if (!this.started) await this.producer.connect()
    this.started = true
    return this
  }

  /** The topic an event type is published to. */
  topicFor(type: string): string {
    return this.router.topicFor(type)
  }

  /** `publish(event)` or `publish(type, aggregateId, aggregateType, data, metadata?)`. */
  async publish(typeOrEvent: string | DomainEvent, aggregateId?: string, aggregateType?: string, data?: unknown, metadata: EventMetadata = {}): Promise<RecordMetadata[]> {
    if (typeof typeOrEvent === 'string' ? typeOrEvent.length === 0 : typeof typeOrEvent?.type !== 'string' || typeOrEvent.type.length === 0) {
      const field = typeof typeOrEvent === 'string' || typeOrEvent === null || typeof typeOrEvent !== 'object' ? 'type' : 'event.type'
      throw new EventValidationError(`publish needs an event type: ${field} must be a non-empty string`)
    }
    const event: DomainEvent = typeof typeOrEvent === 'string'
      ? { ...createEvent(typeOrEvent, data, metadata), aggregateId: String(aggregateId ?? ''), aggregateType: aggregateType ?? typeOrEvent.split('.')[0] }
      : { ...typeOrEvent, id: typeOrEvent.id ?? randomUUID() }
    if (!this.started) await this.start()
    const out = await this.producer.sendEvent(event)
    this.stats.published++
    return out
  }

  /** Subscribes `groupId` to event patterns (or topics); resolves once partitions are assigned. */
  async subscribe(groupId: string, patterns: string | string[], handler: EventHandler, options: SubscribeOptions = {}): Promise<void> {
    const list = Array.isArray(patterns) ? patterns : [patterns]
    if (typeof groupId !== 'string' || groupId.length === 0) throw new EventValidationError('subscribe needs a groupId: a non-empty string')
    if (list.length === 0 || !list.every((p) => typeof p === 'string' && p.length > 0)) {
      throw new EventValidationError('subscribe needs event patterns or topics: a non-empty string or array of them')
    }
    if (typeof handler !== 'function') throw new EventValidationError('subscribe needs a handler function (event, context) => ...')
    // Two subscriptions of one group would split its partitions between them, each committing
    // (as unmatched) the events meant for the other's handler.
    if (this.consumers.some((c) => c.groupId === groupId)) {
      throw new EventValidationError(`group "${groupId}" is already subscribed on this bus: subscribe it once with every pattern, or use another groupId per handler`)
    }
    const topics = options.topics ?? (await this.topicsFor(list))
    const consumer = new BusConsumer(this.cluster, groupId, list, handler, options, this.router, this.stats)
    this.consumers.push(consumer)
    try {
      await consumer.connect()
      await consumer.start(topics)
    } catch (e) {
      // A subscription that never started is not this group's: a later subscribe may retry it.
      this.consumers.splice(this.consumers.indexOf(consumer), 1)
      await consumer.disconnect().catch(() => {})
      throw e
    }
  }

  private async topicsFor(patterns: string[]): Promise<string[]> {
    return topicsForPatterns(kafkaConfigOf(this.cluster), this.router, patterns)
  }

  /**
   * Stops fetching, lets in-flight handlers finish, commits, flushes and disconnects. Handlers
   * still running after `timeoutMs` (default 30 s) are given up on: their events are not
   * committed, so the group gets them again.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new EventValidationError('shutdown timeoutMs must be a number of milliseconds from 0')
    await Promise.all(this.consumers.splice(0).map((c) => c.disconnect({ timeoutMs })))
    if (this.started) await this.producer.disconnect()
    this.started = false
  }
}

/**
 * The topics that carry events matching `patterns`: a name or a mapped domain is routed by
 * `router`; a wildcard over unmapped event types adds the existing topics it matches (internal
 * `dlq.*`/`__*`/quarantine topics excluded). Throws when nothing carries them.
 */
export async function topicsForPatterns(cluster: KafkaConfig, router: InstanceType<typeof native.EventRouter>, patterns: string[]): Promise<string[]> {
  const topics = new Set<string>()
  let existing: string[] | null = null
  for (const p of patterns) {
    const routed = router.topicsForPattern(p)
    for (const t of routed) topics.add(t)
    // A name or a mapped domain is fully routed; a wildcard may also match unmapped types.
    if (!p.includes('*') || (routed.length > 0 && !p.split('.')[0].includes('*'))) continue
    if (!existing) {
      const admin = new Kafka(cluster).admin()
      await admin.connect()
      try { existing = await admin.listTopics() } finally { await admin.disconnect() }
    }
    for (const t of existing) if (!INTERNAL.test(t) && native.eventMatches(p, t)) topics.add(t)
  }
  if (topics.size === 0) throw new EventValidationError(`No topic carries events matching ${JSON.stringify(patterns)}: pass options.topics`)
  return [...topics]
}

/** Seed 000's `initializeEventBus(config?)`: configuration from `KAFKA_*` by default. */
export async function initializeEventBus(config?: ClusterConfig & { domainTopics?: Record<string, string> }): Promise<EventBus> {
  return new EventBus(config).start()
}
