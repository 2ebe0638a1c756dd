/**
 * kafkajs's Consumer: its public API (connect, subscribe, run, stop, seek, pause, commitOffsets,
 * events) over the run loop in consumer-run.ts, which only runs handlers; Rust stores offsets,
 * applies the retry backoff and commits.
 */
import { bindMethods } from './bind'
import { inspect } from 'util'
import { Admin } from './admin'
import type { NativeConsumer, PartitionBatch } from '../binding'
import { ConsumerRunLoop, keyOf } from './consumer-run'
import { consumerEvents as events } from './consumer-events'
import { ConsumerStallWatch, type ConsumerHealth } from './consumer-stall'
import { call, callSync, connecting, KafkaJSNonRetriableError } from './errors'
import type { ClientContext } from './kafka'
import { readNativeStats, type LibrdkafkaStats } from './service/metrics'
import type {
  ConsumerConfig, ConsumerRunConfig, GroupDescription, ConsumerSubscribeTopic, ConsumerSubscribeTopics, KafkaMessage,
  TopicPartitionOffsetAndMetadata, TopicPartitions,
} from './types'
import * as check from './validate'

/** The event layer's bounded disconnect (`Consumer[DISCONNECT_WITHIN](ms)`): not kafkajs API. */
export const DISCONNECT_WITHIN = Symbol('ferrokafka.disconnectWithin')

export class Consumer extends ConsumerRunLoop {
  constructor(ctx: ClientContext, config: ConsumerConfig) {
    super(ctx, config)
    if (config !== undefined && config !== null && !check.isPlainObject(config)) throw check.invalid('consumer', 'must be an object { groupId, ... }')
    if (!config || typeof config.groupId !== 'string' || config.groupId.length === 0) {
      throw new KafkaJSNonRetriableError('Consumer groupId must be a non-empty string.', { field: 'groupId' })
    }
    check.retry(config.retry, 'retry')
    if (config.partitionAssigners !== undefined) check.array(config.partitionAssigners, 'partitionAssigners')
    check.num(config.stallTimeout, 'stallTimeout')
    // kafkajs's own check and words, at creation (its defaults: 30000 and 3000).
    const [session, heartbeat] = [config.sessionTimeout ?? 30_000, config.heartbeatInterval ?? 3_000]
    if (heartbeat >= session) {
      throw new KafkaJSNonRetriableError(
        `Consumer heartbeatInterval (${heartbeat}) must be lower than sessionTimeout (${session}). It is recommended to set heartbeatInterval to approximately a third of the sessionTimeout.`,
        { field: 'heartbeatInterval' },
      )
    }
    if (config.stallTimeout && config.stallTimeout > 0) {
      this.stall = new ConsumerStallWatch(this.groupId, config.stallTimeout, {
        assignment: () => this.assignment(), isPaused: (key) => this.pausedKeys.has(key),
        emit: (name, payload) => this.instrumentation.emit(name, payload), logger: this.log,
      })
    }
    this.nativeConsumer = ctx.early((common) => this.create(common))
    bindMethods(this, ['connect', 'disconnect', 'subscribe', 'stop', 'run', 'commitOffsets', 'seek', 'describeGroup', 'pause', 'paused', 'resume', 'on', 'logger'])
  }

  /**
   * Reaches the cluster with the client's options, as kafkajs's does: rejects (after
   * `connectionTimeout`/`requestTimeout`, at least 10 s) when no broker answers, and at once with
   * the reason when TLS or SASL is refused. The group is joined by `run()`.
   */
  async connect(): Promise<void> {
    if (!this.nativeConsumer) this.nativeConsumer = this.create(await this.ctx.common())
    await connecting(() => this.nativeConsumer!.connect(this.ctx.connectTimeoutMs))
    this.#connected = true
    this.instrumentation.emit(events.CONNECT)
  }

  /** kafkajs `subscribe({ topics | topic, fromBeginning })`; a RegExp subscribes by pattern. */
  async subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void> {
    if (this.running) throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running')
    check.options(subscription, 'subscription', false)
    check.bool(subscription.fromBeginning, 'fromBeginning')
    const list = 'topics' in subscription && subscription.topics ? subscription.topics : 'topic' in subscription && subscription.topic ? [subscription.topic] : null
    // An empty `topics` array subscribes nothing, as in kafkajs (a list built at runtime may be empty).
    if (!Array.isArray(list)) {
      throw new KafkaJSNonRetriableError('Invalid subscription: expected `topics` (an array) or `topic`', { field: 'topics' })
    }
    list.forEach((t, i) => {
      if (!(t instanceof RegExp) && (typeof t !== 'string' || t.length === 0)) throw check.invalid(`topics[${i}]`, 'must be a non-empty string or a RegExp')
    })
    if (this.config.allowAutoTopicCreation === false) await this.requireTopics(list.filter((t): t is string => typeof t === 'string'))
    // A topic subscribed again (a program re-running its setup after a crash) is listed once, as
    // kafkajs keeps it: librdkafka refuses a subscription naming a topic twice.
    for (const t of list) {
      const name = t instanceof RegExp ? (t.source.startsWith('^') ? t.source : `^${t.source}`) : t
      if (!this.topics.includes(name)) this.topics.push(name)
    }
    if (subscription.fromBeginning) this.fromBeginning = true
  }

  /**
   * kafkajs's subscribe() with `allowAutoTopicCreation: false` reads the topics' metadata and
   * rejects for one no broker hosts (KafkaJSProtocolError UNKNOWN_TOPIC_OR_PARTITION) instead of
   * letting run() wait for partitions that never come.
   */
  private async requireTopics(topics: string[]): Promise<void> {
    if (topics.length > 0) await this.withAdmin((admin) => admin.fetchTopicMetadata({ topics }))
  }

  /** Runs `fn` with a short-lived admin client of this consumer's configuration. */
  private async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = new Admin(this.ctx, {})
    await admin.connect()
    try {
      return await fn(admin)
    } finally {
      await admin.disconnect()
    }
  }

  /**
   * Starts consuming; resolves once the group is joined and partitions are assigned (or after
   * 30 s if no assignment came; under cooperative-sticky an empty first round is not one). Handlers run per message or per batch as kafkajs's do.
   */
  async run(config: ConsumerRunConfig = {}): Promise<void> {
    if (this.running) return
    check.options(config, 'run')
    check.fn(config.eachMessage, 'eachMessage')
    check.fn(config.eachBatch, 'eachBatch')
    check.num(config.partitionsConsumedConcurrently, 'partitionsConsumedConcurrently')
    check.bool(config.eachBatchAutoResolve, 'eachBatchAutoResolve')
    if (!config.eachMessage && !config.eachBatch) {
      throw new KafkaJSNonRetriableError('Consumer#run requires an eachMessage or eachBatch handler', { field: 'eachMessage' })
    }
    // After a stop() the member left the group: a fresh client, with no second CONNECT (kafkajs's
    // run() after stop() emits none).
    if (!this.nativeConsumer && this.#connected) this.nativeConsumer = this.create(await this.ctx.common())
    if (!this.nativeConsumer) await this.connect()
    await this.ctx.freshCredentials()
    const nc = this.nativeConsumer!
    this.runConfig = config
    this.log.info('Starting', { groupId: this.groupId })
    this.start(nc)
    this.running = true
    const joined = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000)
      timer.unref?.()
      this.onJoin = (join) => {
        // Under cooperative-sticky a member joining a group whose partitions others hold gets
        // nothing at first and its share in a second round, once they gave it up: kafkajs's
        // run() (eager) resolves with the share, and NestJS's ClientKafka sends only once it has
        // a reply partition, so the empty first round does not count.
        if (join && /cooperative/.test(join.groupProtocol ?? '') && !Object.values(join.memberAssignment ?? {}).some((ps: any) => ps?.length > 0)) return
        clearTimeout(timer)
        resolve()
      }
    })
    this.stall?.start()
    // A running consumer keeps Node alive, as kafkajs's sockets do, also while a handler awaits
    // something that does not (an unref'd timer): between fetches no native call is pending.
    // Released once stopping: a handler that disconnects its own consumer (and so waits for
    // itself) must not hold the process forever.
    this.releaseKeepAlive()
    const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
    this.#keepAlive = keepAlive
    const loopDone = this.loop(nc)
      // A loop given up on by a bounded stop fails once its handler settles: nothing to report.
      .catch((e) => { if (!this.#abandoned) this.log.error(`Consumer loop failed: ${e?.message}`, { groupId: this.groupId }) })
      // This run's handle only: a run() started meanwhile (while a stop() waited) holds its own.
      .finally(() => { this.stall?.stop(); clearInterval(keepAlive); if (this.#keepAlive === keepAlive) this.#keepAlive = null })
    this.loopDone = loopDone
    const run = ++this.runs
    void loopDone.then(() => this.endCrashed(run))
    await joined
  }

  /** Stops fetching; in-flight handlers finish and their offsets are stored. */
  async stop(): Promise<void> {
    return (this.stopping ??= this.stopOnce().finally(() => { this.stopping = null }))
  }

  private async stopOnce(): Promise<void> {
    this.cancelRestart()
    // As kafkajs: STOP only when something ran, the 'Stopped' line on every stop (and disconnect).
    if (this.running || this.loopDone) {
      this.running = false
      this.releaseKeepAlive()
      // A run() still waiting for its first assignment settles now rather than at its 30 s bound.
      this.onJoin?.()
      this.nativeConsumer?.wake()
      await this.handlersFinished()
      this.loopDone = null
      // As kafkajs's stop(), the member leaves the group (committing what was handled): a later
      // run() joins at once instead of waiting out this member's session timeout. Like kafkajs's,
      // a failure to leave is logged, not thrown (the client is let go either way).
      await this.leave().catch((e) => this.log.error(`Leaving the group failed: ${e?.message}`, { groupId: this.groupId }))
      this.instrumentation.emit(events.STOP)
    }
    this.log.info('Stopped', { groupId: this.groupId })
  }

  /** Commits what was handled (with autoCommit), leaves the group and frees the librdkafka client. */
  private async leave(): Promise<void> {
    const nc = this.nativeConsumer
    if (!nc) return
    // Taken at once: a second disconnect() meanwhile (a crash's own, a user's) closes nothing twice.
    this.nativeConsumer = null
    this.requests.attach(null)
    const last = await call(() => nc.close())
    // Only the final commit's report matters now: the group is left.
    this.handleEvents(last.filter((e) => e.kind === 'COMMIT_OFFSETS'), nc)
  }

  /**
   * After a crash that does not restart, as kafkajs: the consumer disconnects itself (STOP,
   * DISCONNECT), then CRASH reports the error with `restart: false`.
   */
  private async endCrashed(run: number): Promise<void> {
    const crashed = this.crashed
    // A later run() owns the consumer now: this run's crash is not its to end.
    if (!crashed || run !== this.runs || this.running) return
    this.crashed = null
    await this.disconnect().catch((e) => this.log.error(`Disconnect after a crash failed: ${e?.message}`, { groupId: this.groupId }))
    this.instrumentation.emit(events.CRASH, { error: crashed.error, groupId: this.groupId, restart: false })
  }

  /** Stops, commits what was handled (with autoCommit), leaves the group and frees the client. */
  async disconnect(): Promise<void> {
    // Concurrent calls (a crash's own, a shutdown hook's) share one: each resolves once it is done.
    return (this.disconnecting ??= this.disconnectOnce().finally(() => { this.disconnecting = null }))
  }

  private disconnecting: Promise<void> | null = null
  private stopping: Promise<void> | null = null
  /** Counts run() calls: a crash belongs to the run it happened in. */
  private runs = 0
  // A `#` field: a timer is circular, and a client must survive JSON.stringify as kafkajs's does.
  #keepAlive: ReturnType<typeof setInterval> | null = null
  /** connect() succeeded and no disconnect() came since. */
  #connected = false

  private releaseKeepAlive(): void {
    clearInterval(this.#keepAlive ?? undefined)
    this.#keepAlive = null
  }

  /**
   * Waits for the run loop (its in-flight handlers), at most `#stopBoundMs` when a bounded
   * disconnect set one: past it the handlers are given up on, unstored, so their messages are
   * redelivered to the group (the event bus's `shutdown()` bound).
   */
  private async handlersFinished(): Promise<void> {
    const bound = this.#stopBoundMs
    if (bound === null || !this.loopDone) return void (await this.loopDone)
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), bound) })
    const gaveUp = await Promise.race([this.loopDone.then(() => false), late])
    clearTimeout(timer)
    if (gaveUp) {
      this.#abandoned = true
      this.log.warn(`Handlers still running after ${bound} ms: closing without them; their messages will be redelivered`, { groupId: this.groupId })
    }
  }

  /** `disconnect()` that waits at most `timeoutMs` for in-flight handlers (see `handlersFinished`). */
  async [DISCONNECT_WITHIN](timeoutMs: number): Promise<void> {
    this.#stopBoundMs = timeoutMs
    try {
      await this.disconnect()
    } finally {
      this.#stopBoundMs = null
    }
  }

  #stopBoundMs: number | null = null
  #abandoned = false

  private async disconnectOnce(): Promise<void> {
    await this.stop()
    await this.leave()
    // A fresh native consumer (and log callback) on the next connect().
    this.#connected = false
    this.pausedKeys.clear()
    this.instrumentation.emit(events.DISCONNECT)
  }

  /** Commits the given offsets (the next offset to read, as kafkajs) and waits for the broker. */
  async commitOffsets(offsets: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    const list = check.topicPartitionOffsets(offsets, 'offsets')
    await call(() => this.requireRunning().commit(list))
  }

  /** Moves the next fetch of a partition; applied on assignment if it is not assigned yet. */
  seek(target: { topic: string; partition: number; offset: string }): void {
    check.options(target, 'seek', false)
    const sought = {
      topic: check.str(target.topic, 'seek.topic'),
      partition: check.partition(target.partition, 'seek.partition'),
      offset: check.offset(target.offset, 'seek.offset'),
    }
    const nc = this.requireRunning()
    const key = keyOf(sought.topic, sought.partition)
    this.sought.add(key)
    try {
      callSync(() => nc.seek(sought))
    } catch (e: any) {
      if (e?.field) throw e
      this.pendingSeeks.set(key, sought)
    }
  }

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    const list = check.topicPartitionList(topics, 'topics')
    this.syncPaused(() => this.nativeConsumer?.pause(list))
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    const list = check.topicPartitionList(topics, 'topics')
    this.syncPaused(() => this.nativeConsumer?.resume(list))
  }

  /**
   * kafkajs `describeGroup()`: this consumer's group as `admin.describeGroups` describes it
   * (`{ groupId, members, protocol, protocolType, state, errorCode }`), through a short-lived admin
   * client of the same configuration.
   */
  async describeGroup(): Promise<GroupDescription> {
    return this.withAdmin(async (admin) => (await admin.describeGroups([this.groupId])).groups[0])
  }

  paused(): TopicPartitions[] {
    return (this.nativeConsumer?.paused() ?? []).map((t) => ({ topic: t.topic, partitions: t.partitions ?? [] }))
  }

  private syncPaused(fn: () => void): void {
    // As kafkajs: only a running consumer pauses (before run() and after stop() there is no group).
    // While stopping (the loop still finishing its handlers) a handler's pause() still applies.
    if (!this.nativeConsumer || (!this.running && !this.loopDone)) throw new KafkaJSNonRetriableError('Consumer group was not initialized, consumer#run must be called first')
    callSync(fn)
    this.pausedKeys = new Set(this.paused().flatMap((t) => t.partitions.map((p) => keyOf(t.topic, p))))
  }

  /**
   * For handlers that catch their own failures (the event layer): reports one, and returns what
   * Rust decided. On `dead-lettered` go on with the next message; on `retry` stop the batch (the
   * partition was rewound to this message).
   */
  async reportFailure(topic: string, partition: number, message: KafkaMessage, error: unknown): Promise<string> {
    const nc = this.requireRunning()
    return this.handleFailure(nc, { topic, partition } as PartitionBatch, message, error)
  }

  /**
   * ferrokafka: adds topics to a running consumer's subscription in place (a rebalance of the
   * same member, not a rejoin). kafkajs's `subscribe()` refuses while running; this does not.
   */
  async addTopics(topics: string[]): Promise<void> {
    const fresh = topics.filter((t) => !this.topics.includes(t))
    if (fresh.length === 0) return
    if (this.running && this.nativeConsumer) {
      // Without fromBeginning the new topics start at their end as of this call (fixed in Rust), so
      // records produced once this resolves are delivered, not skipped, when the rebalance that the
      // new subscription starts assigns them (on MockCluster that takes about a session timeout).
      // Kept only once accepted: a refused topic must not stay in the subscription.
      await call(() => this.nativeConsumer!.resubscribe([...this.topics, ...fresh], this.fromBeginning ? [] : fresh))
    }
    this.topics.push(...fresh)
  }

  /** Which delivery of the message at this position the next handler call is (1 = first). */
  attemptOf(topic: string, partition: number, offset: string): number {
    // No key built while nothing has failed: the common case, once per handled event.
    if (this.failures.size === 0) return 1
    return (this.failures.get(`${keyOf(topic, partition)}\u0000${offset}`) ?? 0) + 1
  }

  private requireRunning(): NativeConsumer {
    if (!this.running || !this.nativeConsumer) {
      throw new KafkaJSNonRetriableError('Consumer group was not initialized, consumer#run must be called first')
    }
    return this.nativeConsumer
  }

  on(eventName: string, listener: (event: any) => void): () => void {
    return this.instrumentation.on(eventName, listener)
  }

  logger() {
    return this.log
  }

  /**
   * ferrokafka: whether this consumer is running and, with option `stallTimeout`, stalled (records
   * waiting on its assigned partitions and no handler started on a new record or succeeded for that long), with
   * the stall report and when it last made progress. Reads local state only.
   */
  health(): ConsumerHealth {
    const base = { groupId: this.groupId, running: this.running, topics: [...this.topics] }
    return this.stall?.health(base) ?? { ...base, stalled: false, stallTimeout: 0, lastProgressAt: null, inFlight: null, stall: null }
  }

  /**
   * ferrokafka: librdkafka's latest statistics (broker round-trip times, queue depths), parsed;
   * null until the native binding collects them (`statistics.interval.ms`).
   */
  statistics(): LibrdkafkaStats | null {
    return readNativeStats(this.nativeConsumer)
  }

  [inspect.custom](): string {
    return `Consumer { groupId: ${JSON.stringify(this.groupId)}, running: ${this.running} }`
  }
}
