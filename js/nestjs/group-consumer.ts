/**
 * One consumer group of `KafkaConsumerService`: the event layer's consumer (Rust retry and DLQ
 * policy) run per batch, with event names matched in Rust once per batch.
 */
import type { ClusterConfig } from '../events/config'
import { EventConsumer, headerStrings, type ConsumerGroupConfig } from '../events/event-consumer'
import type { native } from '../native'
import type { KafkaMessage } from '../types'

/** A record as a subscription handler sees it. */
export interface ConsumedMessage {
  topic: string
  partition: number
  offset: string
  message: KafkaMessage
  /** The value parsed as JSON (the raw string when it is not JSON; null without a value). */
  data: any
  headers: Record<string, string>
  key: string | null
  /** Header `event-name`, else the value's `event_name`/`type`, else header `event-type`. */
  eventName: string | undefined
  /** Indexes into the subscription's `eventNames` that this event matches. */
  matched: number[]
  correlationId: string | undefined
  attempt: number
  groupId: string
}

/** Handles one record; a throw is retried and then dead-lettered by the group's policy. */
export type SubscriptionHandler = (message: ConsumedMessage) => Promise<void> | void

function decode(message: KafkaMessage): { data: any; headers: Record<string, string>; eventName: string | undefined } {
  const headers = headerStrings(message)
  let data: any = null
  if (message.value) {
    const raw = message.value.toString()
    try { data = JSON.parse(raw) } catch { data = raw }
  }
  const fromValue = data && typeof data === 'object' ? (data.event_name ?? data.type) : undefined
  // `event-type` last: a plain JSON send of the service facade labels its records `message`.
  const eventName = headers['event-name'] ?? (typeof fromValue === 'string' ? fromValue : undefined) ?? headers['event-type']
  return { data, headers, eventName: eventName || undefined }
}

/** The consumer behind one `KafkaConsumerService` group (internal). */
export class GroupConsumer extends EventConsumer {
  /** Whether the group's consumer runs: false before start(), after disconnect() and after a crash that did not restart. */
  get running(): boolean {
    return this.consumer.health().running
  }

  /** Records no pattern matched: committed and counted, never an error. */
  unmatched = 0

  constructor(cluster: ClusterConfig, group: ConsumerGroupConfig, readonly topicList: string[], private readonly eventNames: string[] | undefined,
    private readonly handler: SubscriptionHandler, private readonly router: InstanceType<typeof native.EventRouter>) {
    super(cluster, group)
  }

  /** Resolves once the group is joined and its partitions assigned. */
  async start(): Promise<void> {
    await this.connect()
    await this.consumer.subscribe({ topics: this.topicList, fromBeginning: this.group.fromBeginning ?? false })
    await this.consumer.run({
      ...this.runOptions(),
      // Failures are reported per record, so a dead-lettered record never costs a refetch of its batch.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        const decoded = batch.messages.map(decode)
        const matches = this.eventNames ? this.router.matchBatch(this.eventNames, decoded.map((d) => d.eventName ?? '')) : null
        for (let i = 0; i < batch.messages.length; i++) {
          const message = batch.messages[i]
          const d = decoded[i]
          const matched = matches ? (d.eventName ? matches[i] : []) : []
          try {
            if (matches && matched.length === 0) this.unmatched++
            else await this.deliver(batch.topic, batch.partition, message, d, matched)
          } catch (error) {
            const action = await this.consumer.reportFailure(batch.topic, batch.partition, message, error)
            if (action !== 'dead-lettered') return
          }
          resolveOffset(message.offset)
        }
      },
    })
  }

  private async deliver(topic: string, partition: number, message: KafkaMessage, d: ReturnType<typeof decode>, matched: number[]): Promise<void> {
    const context = this.context(topic, partition, message)
    const data = d.data
    context.correlationId = context.correlationId ?? data?.correlation_id ?? data?.metadata?.correlationId ?? data?.correlationId
    const eventId = data?.event_id ?? data?.id
    await this.within(context, typeof eventId === 'string' ? { id: eventId } : undefined, () => this.handler({
      topic, partition, offset: message.offset, message, data, headers: d.headers, key: message.key?.toString() ?? null,
      eventName: d.eventName, matched, correlationId: context.correlationId, attempt: context.attempt, groupId: context.groupId,
    }))
  }

  /** Whether the consumer's stall watchdog (option `stallTimeout`) finds the group stalled. */
  get stalled(): boolean {
    return this.consumer.health().stalled
  }
}
