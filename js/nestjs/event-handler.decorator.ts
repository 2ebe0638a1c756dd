/** Seed 001's `@EventHandler` method decorator and what a decorated method receives. */
import 'reflect-metadata'
import { KafkaJSNonRetriableError } from '../errors'

/** Reflect-metadata key under which `@EventHandler` stores its options on the method. */
export const EVENT_HANDLER_METADATA = 'ferrokafka:event-handler'

/** The options of `@EventHandler(...)`. */
export interface EventHandlerOptions {
  /** Event name or pattern: `order.created`, `order.*`, `*.status_changed`, `*`. */
  eventName: string
  /** Topics to consume; by default derived from the event name and the domain map. */
  topics?: string[]
  /** Consumer group; by default `<clientId>-<Class>-<method>`, stable across restarts. */
  groupId?: string
  /** A new group starts at the earliest offset instead of the latest (default false). */
  fromBeginning?: boolean
  /** false: handled offsets are committed only by `KafkaConsumerService.commitOffsets` (default true). */
  autoCommit?: boolean
}

/** The second argument of a decorated method: where the event came from. */
export interface EventHandlerContext {
  topic: string
  /** Header values as strings. */
  headers: Record<string, string>
  partition: number
  offset: string
  key: string | null
  /** The event's name: header `event-name`, else the value's `event_name`/`type`, else header `event-type`. */
  eventName: string
  /** `correlation-id` header, else the event's `correlation_id`/`metadata.correlationId`. */
  correlationId: string | undefined
  /** 1 on first delivery, 2 on the first retry, ... */
  attempt: number
  groupId: string
}

/**
 * Marks a provider method as a Kafka event handler, discovered by `EventHandlerRegistry`:
 *
 * ```ts
 * @EventHandler({ eventName: 'order.*', topics: ['fsm.projects'] })
 * async onOrder(event: any, ctx: EventHandlerContext) {}
 * ```
 *
 * The method gets the parsed JSON value and an {@link EventHandlerContext}. A throw is retried
 * with backoff, then the record goes to the dead-letter topic with the failure's context. A
 * method may carry several `@EventHandler`s.
 */
export function EventHandler(options: EventHandlerOptions): MethodDecorator {
  if (!options || typeof options.eventName !== 'string' || options.eventName.trim() === '') {
    throw new KafkaJSNonRetriableError('@EventHandler: `eventName` must be a non-empty string', { field: 'eventName' })
  }
  if (options.topics !== undefined && (!Array.isArray(options.topics) || options.topics.some((t) => typeof t !== 'string' || t === ''))) {
    throw new KafkaJSNonRetriableError('@EventHandler: `topics` must be an array of topic names', { field: 'topics' })
  }
  return (_target, _key, descriptor) => {
    const fn = descriptor.value as unknown as object
    const list: EventHandlerOptions[] = Reflect.getMetadata(EVENT_HANDLER_METADATA, fn) ?? []
    Reflect.defineMetadata(EVENT_HANDLER_METADATA, [...list, { ...options }], fn)
    return descriptor
  }
}
