/**
 * Seed 001's `EventHandlerRegistry`: finds every `@EventHandler` method on the application's
 * providers and controllers and starts one consumer per group for them.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common'
import { DiscoveryService, MetadataScanner } from '@nestjs/core'
import { topicsForPatterns } from '../events/event-bus'
import { kafkaConfigOf } from '../events/config'
import { native } from '../native'
import { EVENT_HANDLER_METADATA, type EventHandlerContext, type EventHandlerOptions } from './event-handler.decorator'
import type { ConsumedMessage } from './group-consumer'
import { KafkaConsumerService } from './kafka-consumer.service'
import { KAFKA_SETTINGS, type KafkaSettings } from './options'

/** A discovered handler: `instance[methodName](event, context)` for `options.eventName`. */
export interface RegisteredHandler {
  instance: Record<string, any>
  className: string
  methodName: string
  options: EventHandlerOptions
  groupId: string
  /** The topics it consumes (explicit, or derived from the event name). */
  topics: string[]
}

/**
 * Discovers `@EventHandler` methods at application bootstrap and starts their consumer groups
 * through `KafkaConsumerService` (nothing starts when Kafka is disabled).
 */
@Injectable()
export class EventHandlerRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('EventHandlerRegistry')
  private readonly registered: RegisteredHandler[] = []
  private readonly router: InstanceType<typeof native.EventRouter>

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly consumers: KafkaConsumerService,
    @Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings,
  ) {
    this.router = new native.EventRouter({ domainTopics: settings.options.domainTopics, env: process.env as Record<string, string> })
  }

  /** After every module's `onModuleInit`: all handler instances exist and the producer is up. */
  async onApplicationBootstrap(): Promise<void> {
    const found = this.discover()
    if (!this.settings.enabled) {
      if (found.length) this.logger.warn(`Kafka disabled: ${found.length} event handler(s) not started`)
      return
    }
    const groups = new Map<string, RegisteredHandler[]>()
    for (const h of found) {
      h.topics = h.options.topics ?? (await topicsForPatterns(kafkaConfigOf(this.settings.cluster), this.router, [h.options.eventName]))
      groups.set(h.groupId, [...(groups.get(h.groupId) ?? []), h])
      this.registered.push(h)
    }
    await Promise.all([...groups].map(([groupId, handlers]) => this.start(groupId, handlers)))
  }

  /** Every handler found so far (empty until bootstrap; still empty when Kafka is disabled). */
  getHandlers(): readonly RegisteredHandler[] {
    return this.registered
  }

  private discover(): RegisteredHandler[] {
    const out: RegisteredHandler[] = []
    const clientId = this.settings.cluster.clientId ?? 'ferrokafka'
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance = wrapper.instance as Record<string, any> | undefined
      // Request-scoped providers have no instance to call outside a request.
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue
      const prototype = Object.getPrototypeOf(instance)
      if (!prototype) continue
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const list: EventHandlerOptions[] | undefined = Reflect.getMetadata(EVENT_HANDLER_METADATA, prototype[methodName])
        for (const options of list ?? []) {
          const className = instance.constructor?.name ?? 'Anonymous'
          out.push({ instance, className, methodName, options, groupId: options.groupId ?? `${clientId}-${className}-${methodName}`, topics: [] })
        }
      }
    }
    return out
  }

  /** One consumer for a group's handlers; each record goes to the handlers whose pattern and topics match it. */
  private async start(groupId: string, handlers: RegisteredHandler[]): Promise<void> {
    const topics = [...new Set(handlers.flatMap((h) => h.topics))]
    await this.consumers.subscribe({
      groupId, topics,
      eventNames: handlers.map((h) => h.options.eventName),
      fromBeginning: handlers.some((h) => h.options.fromBeginning === true),
      autoCommit: handlers.every((h) => h.options.autoCommit !== false),
      handler: async (record: ConsumedMessage) => {
        const context: EventHandlerContext = {
          topic: record.topic, headers: record.headers, partition: record.partition, offset: record.offset, key: record.key,
          eventName: record.eventName!, correlationId: record.correlationId, attempt: record.attempt, groupId,
        }
        // In declaration order; a throw fails the record (retried, then dead-lettered), so handlers must be idempotent.
        for (const i of record.matched) {
          const h = handlers[i]
          if (!h.topics.includes(record.topic)) continue
          try {
            await h.instance[h.methodName](record.data, context)
          } catch (error) {
            this.logger.warn(`${h.className}.${h.methodName} failed on ${record.eventName} (${record.topic}[${record.partition}]@${record.offset}, attempt ${record.attempt}): ${(error as Error)?.message ?? error}`)
            throw error
          }
        }
      },
    })
  }
}
