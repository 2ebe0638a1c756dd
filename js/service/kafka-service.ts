/**
 * The service facade of seeds 003 and 004: `kafkaService` / `getKafkaService()` with JSON
 * `send`, `publishEvent`, `subscribe` (one consumer per group, its subscription extended by later
 * calls), health, metrics, shutdown hooks, and the dev/disabled modes. Configuration from
 * `KAFKA_*` by default.
 */
import { inspect } from 'util'
import { publish, serviceChannels } from '../diagnostics'
import { Kafka } from '../kafka'
import { GroupProgress } from './group-monitor'
import { KafkaServiceOps, type ServiceGroup } from './service-ops'
import type { ConsumerConfig, KafkaConfig, RecordMetadata } from '../types'
import { configFromEnv } from '../events/config'
import { CorrelationTracker } from '../events/correlation'
import { headerStrings } from '../events/event-consumer'
import { eventHeaders } from '../events/event-producer'
import { KafkaJSNonRetriableError } from '../errors'
import { bindMethods } from '../bind'

export interface MessageContext {
  topic: string
  partition: number
  offset: string
  headers: Record<string, string>
  key: string | null
}

export type ServiceHandler = (message: any, context: MessageContext) => Promise<void> | void

export interface KafkaServiceOptions extends Partial<KafkaConfig> {
  /** false: never connect; sends are recorded in `devSink` and logged (also `KAFKA_ENABLED=false`). */
  enabled?: boolean
  /**
   * When no broker is reachable, log sends instead of failing and keep the service running
   * (default: on when `NODE_ENV` is `development`, as seed 003's development mode).
   */
  devFallback?: boolean
  /** Where `[DEV]` lines go (default console.log). */
  log?: (line: string) => void
  /**
   * kafkajs consumer options for every group. Defaults: sessionTimeout 10000, heartbeatInterval
   * 1000 (a group whose subscription grows rebalances within the session timeout).
   */
  consumer?: Partial<Omit<ConsumerConfig, 'groupId'>>
  /**
   * A group with records waiting on its assigned partitions and no handler started on a new record
   * or succeeded for this long (retries of a failing record are no progress) is stalled: a `stalled` event, and `isConsumerHealthy()` false until it moves
   * again (default 60000 ms; 0 disables the check).
   */
  stallTimeoutMs?: number
  /** How long a health check waits for a broker to answer (default 3000 ms). */
  healthCheckTimeoutMs?: number
  /**
   * How often librdkafka reports the statistics behind `metrics().native` and the
   * `ferrokafka_librdkafka_*` / `ferrokafka_broker_*` families (queue depth, bytes in and out,
   * broker round-trip times): default 5000 ms; 0 turns them off. A
   * `rdkafka: { 'statistics.interval.ms': n }` entry takes precedence.
   */
  statisticsIntervalMs?: number
}

type Settings = KafkaServiceOptions & { brokers: string[]; clientId: string; enabled: boolean }

interface Group extends ServiceGroup {
  handlers: Map<string, ServiceHandler[]>
}

const bytesOf = (v: Buffer | string | null | undefined) => (v === null || v === undefined ? 0 : Buffer.byteLength(v))

/**
 * Seeds 003 and 004's Kafka service. Health, metrics, lag, the `stalled`/`recovered` events
 * and shutdown hooks come from {@link KafkaServiceOps}.
 */
export class KafkaService extends KafkaServiceOps {
  protected declare readonly groups: Map<string, Group>
  #settings: Settings | null = null
  /** The options over `KAFKA_*`, read at first use (so the shared `kafkaService` reads nothing at import). */
  protected get settings(): Settings {
    return (this.#settings ??= this.resolve())
  }
  /** The group of the latest `connectConsumer`: where `subscribe(topic, handler)` goes. */
  private currentGroup: string | null = null
  /** Every send made in dev/disabled mode, for tests to inspect. */
  readonly devSink: { topic: string; value: unknown; key?: string; headers?: Record<string, string> }[] = []

  constructor(private options: KafkaServiceOptions = {}) {
    super()
    // `const { send } = kafkaService` works (the shared service was once a proxy binding each method).
    bindMethods(this, ['init', 'initialize', 'connectProducer', 'connectConsumer', 'send', 'publishEvent', 'subscribe', 'disconnect', 'getConsumerGroup',
      'healthCheck', 'isHealthy', 'isProducerHealthy', 'isConsumerHealthy', 'consumerLag', 'metrics', 'metricsText', 'enableShutdownHooks'])
  }

  /**
   * `getKafkaService(options)` on the existing service: the options apply if it has not been
   * initialized yet; after that they cannot, and a process warning says so.
   */
  configure(options: KafkaServiceOptions): this {
    if (this.kafka || this.dev) {
      process.emitWarning('getKafkaService(options): the Kafka service is already initialized; the options given are not applied', 'FerrokafkaWarning')
      return this
    }
    this.options = { ...this.options, ...options }
    this.#settings = null
    return this
  }

  private resolve(): Settings {
    const env = configFromEnv(process.env, 'ferrokafka')
    const brokers = Array.isArray(this.options.brokers) ? this.options.brokers : env.brokers
    return {
      ...this.options,
      brokers,
      clientId: this.options.clientId ?? env.clientId,
      ssl: this.options.ssl ?? env.ssl,
      sasl: this.options.sasl ?? env.sasl,
      enabled: this.options.enabled ?? env.enabled,
    }
  }

  private devLog(line: string) {
    ;(this.options.log ?? console.log)(line)
  }

  /** Seed 003: sets the service up (chainable); connects nothing yet. */
  init(): this {
    if (!this.kafka) {
      this.#settings = this.resolve()
      this.dev = !this.settings.enabled
      if (this.settings.enabled) {
        const { enabled: _e, devFallback: _d, log: _l, consumer: _c, stallTimeoutMs: _s, healthCheckTimeoutMs: _h, statisticsIntervalMs, ...config } = this.settings
        const statistics = { 'statistics.interval.ms': statisticsIntervalMs ?? 5000 }
        this.kafka = new Kafka(this.observed({ logLevel: 1, ...config, rdkafka: { ...statistics, ...config.rdkafka } } as KafkaConfig))
      }
    }
    return this
  }

  /** Seed 004: idempotent set-up and producer connection. */
  async initialize(): Promise<this> {
    this.init()
    if (!this.producerConnected && !this.dev) await this.connectProducer()
    return this
  }

  get isConnected(): boolean {
    return this.producerConnected
  }

  /** True while sends are only recorded and logged (disabled, or `devFallback` took over). */
  get devMode(): boolean {
    return this.dev
  }

  async connectProducer(): Promise<this> {
    this.init()
    if (this.dev || this.producerConnected) return this
    this.producer = this.producer ?? this.kafka!.producer()
    try {
      await this.producer.connect()
      this.producerConnected = true
    } catch (e: any) {
      this.recordError('producer', e)
      if (!(this.settings.devFallback ?? process.env.NODE_ENV === 'development')) throw e
      this.dev = true
      this.devLog(`[DEV] Kafka unreachable (${e?.message}); nothing will be delivered, sends are only logged`)
    }
    return this
  }

  /**
   * Seed 003: prepares a consumer for `groupId` (started by the first `subscribe`) and makes it
   * the group that `subscribe(topic, handler)` uses until the next `connectConsumer` call.
   */
  async connectConsumer(groupId: string): Promise<this> {
    this.init()
    if (typeof groupId !== 'string' || groupId.length === 0) throw new KafkaJSNonRetriableError('connectConsumer needs a non-empty groupId', { field: 'groupId' })
    this.currentGroup = groupId
    if (this.dev) return this
    this.group(groupId)
    return this
  }

  private group(groupId: string): Group {
    let g = this.groups.get(groupId)
    if (!g) {
      const consumer = this.kafka!.consumer({ sessionTimeout: 10_000, heartbeatInterval: 1_000, ...this.options.consumer, groupId })
      const progress = new GroupProgress(groupId)
      consumer.on(consumer.events.DEAD_LETTER, ({ payload }) => {
        progress.deadLettered++
        publish(serviceChannels.DEAD_LETTER, () => ({ ...payload, groupId }))
      })
      const group: Group = { consumer, handlers: new Map(), running: false, restarting: null, progress }
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        this.recordError(`consumer:${groupId}`, payload.error)
        // A crash that does not restart (a handler's TypeError, a non-retriable error) has disconnected
        // the consumer: the group no longer runs, and health says so. A later subscribe() restarts it.
        if (!payload.restart) group.running = false
      })
      g = group
      this.groups.set(groupId, g)
    }
    return g
  }

  /**
   * Seed 003: JSON values; an array sends one record per element. `headers` are added to the
   * `event-type`/`correlation-id`/`content-type` ones (and win over them).
   */
  async send(topic: string, payload: unknown, key?: string, headers?: Record<string, string>): Promise<RecordMetadata[]> {
    const items = Array.isArray(payload) ? payload : [payload]
    this.init() // a disabled service logs even a send made before connectProducer()
    if (this.dev) {
      for (const value of items) {
        this.devSink.push(headers ? { topic, value, key, headers } : { topic, value, key })
        // As seed 003 prints it: `{ message: 'Hello World' }` (util.inspect, on one line).
        this.devLog(`[DEV] Would send to ${topic}: ${inspect(value, { depth: 6, breakLength: Infinity })}`)
      }
      return []
    }
    if (!this.producerConnected || !this.producer) {
      throw new KafkaJSNonRetriableError('Kafka producer is not connected: call connectProducer() (or initialize()) first')
    }
    const correlationId = CorrelationTracker.getCorrelationId()
    const messages = items.map((value: any) => ({
      key: key ?? null,
      // JSON.stringify(undefined) is undefined: such an item is sent as a null value, as before.
      value: JSON.stringify(value) ?? null,
      headers: { ...eventHeaders(String(value?.type ?? 'message'), value?.correlationId ?? value?.metadata?.correlationId ?? correlationId), ...headers },
    }))
    const bytes = messages.reduce((n, m) => n + bytesOf(m.key) + bytesOf(m.value), 0)
    const c = this.counters
    const started = Date.now()
    c.sendsInFlight++
    c.messagesInFlight += messages.length
    try {
      const out = await this.producer.send({ topic, messages })
      c.messages += messages.length
      c.bytes += bytes
      publish(serviceChannels.SEND, () => ({ topic, messages: messages.length, bytes, durationMs: Date.now() - started }))
      return out
    } catch (e) {
      c.errors++
      this.recordError('send', e)
      publish(serviceChannels.SEND, () => ({ topic, messages: messages.length, bytes, durationMs: Date.now() - started, error: e }))
      throw e
    } finally {
      c.sendsInFlight--
      c.messagesInFlight -= messages.length
    }
  }

  /** Seed 004: `publishEvent(topic, event, key)`. */
  async publishEvent(topic: string, event: unknown, key?: string): Promise<RecordMetadata[]> {
    if (!this.dev && !this.producerConnected) await this.initialize()
    return this.send(topic, event, key)
  }

  /**
   * `subscribe(topic, handler)` (seed 003) or `subscribe(topic, groupId, handler)` (seed 004).
   * Without a group, the handler joins the group of the most recent `connectConsumer(groupId)`
   * call — so seed 003's classes that each `connectConsumer('<group>')` then `subscribe(...)`
   * get their own groups, as long as each pair runs without another class's `connectConsumer`
   * in between (pass the group explicitly when set-ups run concurrently); with no
   * `connectConsumer` before, it throws. Later calls for the same group extend its
   * subscription; the handler gets the parsed JSON and `{ topic, partition, offset, headers, key }`.
   */
  async subscribe(topic: string, groupOrHandler: string | ServiceHandler, maybeHandler?: ServiceHandler): Promise<void> {
    this.init()
    if (this.dev) return
    const handler = typeof groupOrHandler === 'function' ? groupOrHandler : maybeHandler
    const groupId = typeof groupOrHandler === 'string' ? groupOrHandler : this.currentGroup
    if (!groupId) throw new KafkaJSNonRetriableError('subscribe(topic, handler) needs connectConsumer(groupId) first; or pass the group: subscribe(topic, groupId, handler)', { field: 'groupId' })
    if (typeof handler !== 'function') throw new KafkaJSNonRetriableError('subscribe needs a handler function', { field: 'handler' })
    const g = this.group(groupId)
    const known = g.handlers.has(topic)
    g.handlers.set(topic, [...(g.handlers.get(topic) ?? []), handler])
    if (g.restarting) await g.restarting
    if (g.running && known) return
    g.restarting = this.start(groupId, g)
    try {
      await g.restarting
    } catch (e) {
      // Neither the failed start nor this subscription is kept: the group's next subscribe()
      // starts again with the handlers that did subscribe.
      const list = g.handlers.get(topic) ?? []
      const at = list.lastIndexOf(handler)
      if (at >= 0) list.splice(at, 1)
      if (list.length === 0) g.handlers.delete(topic)
      if (!g.running) {
        // The consumer kept the failed subscription: a fresh one holds only what did subscribe.
        this.groups.delete(groupId)
        await g.consumer.disconnect().catch(() => undefined)
        for (const [t, hs] of g.handlers) this.group(groupId).handlers.set(t, hs)
      }
      throw e
    } finally {
      g.restarting = null
    }
  }

  /** Starts a group's consumer, or extends its running subscription in place. */
  private async start(groupId: string, g: Group): Promise<void> {
    if (g.running) {
      await g.consumer.addTopics([...g.handlers.keys()])
      return
    }
    await g.consumer.connect()
    await g.consumer.subscribe({ topics: [...g.handlers.keys()] })
    await g.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers = headerStrings(message)
        const raw = message.value?.toString() ?? 'null'
        let value: unknown
        try { value = JSON.parse(raw) } catch { value = raw }
        const context = { topic, partition, offset: message.offset, headers, key: message.key?.toString() ?? null }
        const bytes = bytesOf(message.key) + bytesOf(message.value)
        const started = Date.now()
        g.progress.started(topic, partition, message.offset)
        let error: unknown
        try {
          await CorrelationTracker.run(headers['correlation-id'], async () => {
            for (const h of g.handlers.get(topic) ?? []) await h(value, context)
          })
        } catch (e) {
          error = e
          throw e
        } finally {
          const recovered = g.progress.handled(topic, partition, message.offset, bytes, error === undefined)
          publish(serviceChannels.CONSUME, () => ({ groupId, topic, partition, offset: message.offset, bytes, durationMs: Date.now() - started, ...(error === undefined ? {} : { error }) }))
          if (recovered) {
            publish(serviceChannels.RECOVERED, () => recovered)
            this.emit('recovered', recovered)
          }
        }
      },
    })
    g.running = true
    g.progress.lastProgressAt = Date.now()
    this.startWatchdog()
  }

  /** Seed 004: a group name scoped to this client (`<clientId>-<name>`). */
  getConsumerGroup(name: string): string {
    return `${this.settings.clientId}-${name}`
  }

  /** Stops consumers (in-flight handlers finish, offsets commit), flushes and disconnects. */
  async disconnect(): Promise<void> {
    await this.closeOps()
    await Promise.all([...this.groups.values()].map((g) => g.consumer.disconnect()))
    this.groups.clear()
    this.currentGroup = null
    if (this.producer) await this.producer.disconnect()
    this.producerConnected = false
    this.producer = null
    this.kafka = null
  }

  /** What `util.inspect` and `JSON.stringify` show: state only, never the (credential-bearing) settings. */
  toJSON(): object {
    return { enabled: this.settings.enabled, dev: this.dev, connected: this.producerConnected, groups: [...this.groups.keys()] }
  }

  [inspect.custom](): string {
    return `KafkaService ${inspect(this.toJSON())}`
  }
}

let shared: KafkaService | null = null

/**
 * Seed 004: the process-wide service (the same object as `kafkaService`). Options given before it
 * is first initialized apply to it; later ones raise a process warning.
 */
export function getKafkaService(options?: KafkaServiceOptions): KafkaService {
  if (!shared) shared = new KafkaService(options)
  else if (options) shared.configure(options)
  return shared
}

/**
 * Seed 003: `import { kafkaService } from ...`, the singleton `getKafkaService()` returns,
 * configured from `KAFKA_*` when first used (creating it reads nothing and connects nothing).
 */
export const kafkaService: KafkaService = getKafkaService()
