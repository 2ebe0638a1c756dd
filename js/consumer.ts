/**
 * kafkajs's Consumer. The run loop here only runs handlers: it asks Rust for a batch, calls
 * `eachMessage`/`eachBatch`, and reports how far each partition got (`store`) or where a
 * handler threw (`fail`). Rust stores offsets, applies the retry backoff and commits.
 */
import { inspect } from 'util'
import type { ConsumerEvent, FetchedBatch, NativeConsumer, PartitionBatch, TopicPartitionOffset } from '../binding'
import { Batch } from './batch'
import { call, callSync, errorOf, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, type NativeErrorInfo } from './errors'
import { Instrumentation } from './instrumentation'
import type { ClientContext } from './kafka'
import { buildMessages } from './messages'
import { native } from './native'
import { assignmentStrategies } from './assigners'
import { consumerEvents as events, isRetryable } from './consumer-events'
import type {
  ConsumerConfig, ConsumerRunConfig, ConsumerSubscribeTopic, ConsumerSubscribeTopics, EachBatchPayload, KafkaMessage,
  TopicPartitionOffsetAndMetadata, TopicPartitions,
} from './types'
import * as check from './validate'
import { readNativeStats, type LibrdkafkaStats } from './service/metrics'
import { ConsumerStallWatch, type ConsumerHealth } from './consumer-stall'

/** Messages asked of Rust per fetch; one crossing carries up to this many. */
const MAX_BATCH = 2000
const FETCH_WAIT_MS = 200
const ROW = 8

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`

export class Consumer {
  readonly events = events
  private readonly instrumentation = new Instrumentation(events, 'consumer')
  private nativeConsumer: NativeConsumer | null = null
  private topics: string[] = []
  private fromBeginning = false
  private running = false
  private loopDone: Promise<void> | null = null
  private onJoin: (() => void) | null = null
  private pausedKeys = new Set<string>()
  private sought = new Set<string>()
  private pendingSeeks = new Map<string, TopicPartitionOffset>()
  private generation = 0
  private runConfig: ConsumerRunConfig = {}
  /** A fatal librdkafka error seen in the last fetch: the loop restarts the client. */
  private fatal: Error | null = null
  /** From the last GROUP_JOIN, for COMMIT_OFFSETS (kafkajs's payload carries it). */
  private memberId: string | null = null
  /** Failures so far of the message at each position, for the event layer's `attempt`. */
  private readonly failures = new Map<string, number>()
  /** The stall watchdog, with option `stallTimeout`. */
  private readonly stall: ConsumerStallWatch | null = null

  constructor(private readonly ctx: ClientContext, private readonly config: ConsumerConfig) {
    if (config !== undefined && config !== null && !check.isPlainObject(config)) throw check.invalid('consumer', 'must be an object { groupId, ... }')
    if (!config || typeof config.groupId !== 'string' || config.groupId.length === 0) {
      throw new KafkaJSNonRetriableError('Consumer groupId must be a non-empty string.', { field: 'groupId' })
    }
    check.retry(config.retry, 'retry')
    if (config.partitionAssigners !== undefined) check.array(config.partitionAssigners, 'partitionAssigners')
    check.num(config.stallTimeout, 'stallTimeout')
    if (config.stallTimeout && config.stallTimeout > 0) {
      this.stall = new ConsumerStallWatch(this.groupId, config.stallTimeout, {
        assignment: () => this.assignment(), isPaused: (key) => this.pausedKeys.has(key),
        emit: (name, payload) => this.instrumentation.emit(name, payload), logger: ctx.logger,
      })
    }
    const common = ctx.commonSync()
    if (common) this.nativeConsumer = this.create(common)
  }

  private create(common: Record<string, unknown>): NativeConsumer {
    const { retry, partitionAssigners, stallTimeout: _s, ...rest } = this.config
    const assigners = assignmentStrategies(partitionAssigners, this.config.groupId, this.ctx.logger)
    const options = { ...rest, partitionAssigners: assigners, retry: retry ? { ...retry, restartOnFailure: undefined } : undefined }
    return callSync(() => new native.NativeConsumer(common, options, this.ctx.nativeLog))
  }

  private get groupId() {
    return this.config.groupId
  }

  async connect(): Promise<void> {
    if (!this.nativeConsumer) this.nativeConsumer = this.create(await this.ctx.common())
    this.instrumentation.emit(events.CONNECT)
  }

  /** kafkajs `subscribe({ topics | topic, fromBeginning })`; a RegExp subscribes by pattern. */
  async subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void> {
    if (this.running) throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running')
    check.options(subscription, 'subscription', false)
    check.bool(subscription.fromBeginning, 'fromBeginning')
    const list = 'topics' in subscription && subscription.topics ? subscription.topics : 'topic' in subscription ? [subscription.topic] : []
    if (!Array.isArray(list) || list.length === 0) {
      throw new KafkaJSNonRetriableError('Invalid subscription: expected `topics` (an array) or `topic`', { field: 'topics' })
    }
    list.forEach((t, i) => {
      if (!(t instanceof RegExp) && (typeof t !== 'string' || t.length === 0)) throw check.invalid(`topics[${i}]`, 'must be a non-empty string or a RegExp')
    })
    for (const t of list) this.topics.push(t instanceof RegExp ? (t.source.startsWith('^') ? t.source : `^${t.source}`) : t)
    if (subscription.fromBeginning) this.fromBeginning = true
  }

  /**
   * Starts consuming; resolves once the group is joined and partitions are assigned (or after
   * 30 s if no assignment came). Handlers run per message or per batch as kafkajs's do.
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
    if (!this.nativeConsumer) await this.connect()
    const nc = this.nativeConsumer!
    this.runConfig = config
    this.start(nc)
    this.running = true
    const joined = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000)
      timer.unref?.()
      this.onJoin = () => { clearTimeout(timer); resolve() }
    })
    this.stall?.start()
    this.loopDone = this.loop(nc)
      .catch((e) => this.ctx.logger.error(`Consumer loop failed: ${e?.message}`, { groupId: this.groupId }))
      .finally(() => this.stall?.stop())
    await joined
  }

  private start(nc: NativeConsumer): void {
    const config = this.runConfig
    callSync(() => nc.start(this.topics, this.fromBeginning, {
      autoCommit: config.autoCommit, autoCommitInterval: config.autoCommitInterval ?? undefined,
      autoCommitThreshold: config.autoCommitThreshold ?? undefined,
      deadLetter: config.deadLetter, circuitBreaker: config.circuitBreaker,
    }))
  }

  /**
   * After a fatal librdkafka error: CRASH, then (unless `retry.restartOnFailure` says no) a new
   * client rejoins the group after `retry.initialRetryTime`, as kafkajs restarts a crashed
   * consumer. Nothing past the last stored offset was committed, so nothing is lost.
   */
  private async recover(nc: NativeConsumer, error: Error): Promise<NativeConsumer | null> {
    this.fatal = null
    const retry = this.config.retry ?? this.ctx.retry
    let restart = true
    if (retry?.restartOnFailure) restart = await retry.restartOnFailure(error).catch(() => false)
    this.ctx.logger.error(`Consumer crashed: ${error.message}`, { groupId: this.groupId, restart })
    this.instrumentation.emit(events.CRASH, { error, groupId: this.groupId, restart })
    await call(() => nc.close()).catch(() => undefined)
    this.nativeConsumer = null
    if (restart) await new Promise((r) => setTimeout(r, retry?.initialRetryTime ?? 300))
    if (!restart || !this.running) {
      this.running = false
      return null
    }
    const fresh = this.create(await this.ctx.common())
    this.nativeConsumer = fresh
    this.generation++
    this.start(fresh)
    return fresh
  }

  private async loop(first: NativeConsumer): Promise<void> {
    const concurrency = Math.max(1, this.runConfig.partitionsConsumedConcurrently ?? 1)
    let current: NativeConsumer | null = first
    while (this.running && current) {
      const nc: NativeConsumer = current
      this.instrumentation.emit(events.FETCH_START, {})
      const started = Date.now()
      let b: FetchedBatch
      try {
        b = await nc.fetch(MAX_BATCH, FETCH_WAIT_MS)
      } catch (e) {
        if (!this.running) break
        throw e
      }
      if (b.events.length) this.handleEvents(b.events, nc)
      if (this.fatal) {
        current = await this.recover(nc, this.fatal)
        continue
      }
      if (!this.running || b.partitions.length === 0) continue
      this.instrumentation.emit(events.FETCH, { numberOfBatches: b.partitions.length, duration: Date.now() - started })
      const stored: TopicPartitionOffset[] = []
      let handled = 0
      const work = b.partitions.map((p) => async () => {
        const next = await this.processPartition(nc, b, p)
        if (next !== null) {
          stored.push({ topic: p.topic, partition: p.partition, offset: String(next) })
          handled += p.count
        }
      })
      for (let i = 0; i < work.length; i += concurrency) await Promise.all(work.slice(i, i + concurrency).map((w) => w()))
      if (stored.length) callSync(() => nc.store(stored, handled))
    }
  }

  /** Runs the handler over one partition's messages; returns the next offset to store, if any. */
  private async processPartition(nc: NativeConsumer, b: FetchedBatch, p: PartitionBatch): Promise<number | null> {
    const key = keyOf(p.topic, p.partition)
    const offsetAt = (i: number) => b.meta[(p.start + i) * ROW]
    if (this.pausedKeys.has(key)) {
      nc.rewind([{ topic: p.topic, partition: p.partition, offset: String(offsetAt(0)) }])
      return null
    }
    this.sought.delete(key)
    const generation = this.generation
    const messages = buildMessages(b, p.start, p.count)
    const batch = new Batch(p.topic, p.partition, p.highWatermark, messages)
    const batchInfo = {
      topic: p.topic, partition: p.partition, highWatermark: p.highWatermark, offsetLag: batch.offsetLag(),
      offsetLagLow: batch.offsetLagLow(), batchSize: messages.length, firstOffset: batch.firstOffset(), lastOffset: batch.lastOffset(),
    }
    const started = Date.now()
    const stall = this.stall
    stall?.fetched(p.topic, p.partition, p.highWatermark, messages[0].offset, messages[messages.length - 1].offset)
    this.instrumentation.emit(events.START_BATCH_PROCESS, batchInfo)
    const pause = () => {
      this.pause([{ topic: p.topic, partitions: [p.partition] }])
      return () => this.resume([{ topic: p.topic, partitions: [p.partition] }])
    }
    const heartbeat = async () => {}
    let done = 0 // messages fully handled, from the front
    let failure: unknown = null
    if (this.runConfig.eachMessage) {
      const each = this.runConfig.eachMessage
      for (; done < messages.length; done++) {
        if (!this.running || this.pausedKeys.has(key) || this.sought.has(key)) break
        const offset = messages[done].offset
        stall?.started(p.topic, p.partition, offset)
        try {
          await each({ topic: p.topic, partition: p.partition, message: messages[done], heartbeat, pause })
          stall?.finished(p.topic, p.partition, offset, true)
        } catch (e) {
          // Dead-lettered (acknowledged by the DLQ topic): the partition goes on with the next one.
          const deadLettered = this.running && (await this.handleFailure(nc, p, messages[done], e)) === 'dead-lettered'
          stall?.finished(p.topic, p.partition, offset, deadLettered)
          if (deadLettered) continue
          failure = e
          break
        }
      }
    } else {
      let resolved = -1
      const payload: EachBatchPayload = {
        batch,
        resolveOffset: (offset: string) => {
          if (Number(offset) <= resolved) return
          resolved = Number(offset)
          stall?.resolved(p.topic, p.partition, offset)
        },
        heartbeat,
        pause,
        commitOffsetsIfNecessary: async () => {
          if (resolved >= 0) callSync(() => nc.store([{ topic: p.topic, partition: p.partition, offset: String(resolved + 1) }], 0))
          if (this.runConfig.autoCommit !== false) await call(() => nc.commit())
        },
        uncommittedOffsets: () => ({ topics: resolved < 0 ? [] : [{ topic: p.topic, partitions: [{ partition: p.partition, offset: String(resolved + 1) }] }] }),
        isRunning: () => this.running,
        isStale: () => generation !== this.generation || this.sought.has(key),
      }
      stall?.started(p.topic, p.partition, messages[0].offset)
      try {
        await this.runConfig.eachBatch!(payload)
        if (this.runConfig.eachBatchAutoResolve !== false && !payload.isStale() && !this.pausedKeys.has(key)) {
          resolved = Math.max(resolved, offsetAt(messages.length - 1))
        }
      } catch (e) {
        failure = e
      }
      while (done < messages.length && offsetAt(done) <= resolved) done++
    }
    this.instrumentation.emit(events.END_BATCH_PROCESS, { ...batchInfo, duration: Date.now() - started })
    if (failure !== null) {
      // eachMessage failures were decided inside the loop; Rust already rewound the partition.
      if (this.runConfig.eachBatch && this.running && (await this.handleFailure(nc, p, messages[done], failure)) === 'dead-lettered') {
        done++
        if (done < messages.length) nc.rewind([{ topic: p.topic, partition: p.partition, offset: String(offsetAt(done)) }])
      }
    } else if (done < messages.length && this.running && !this.sought.has(key) && generation === this.generation) {
      // Pulled but not handled (a pause mid-batch): fetch them again rather than skip them.
      nc.rewind([{ topic: p.topic, partition: p.partition, offset: String(offsetAt(done)) }])
    }
    if (this.runConfig.eachBatch) stall?.finished(p.topic, p.partition, String(offsetAt(Math.max(done, 1) - 1)), done > 0)
    return done > 0 ? offsetAt(done - 1) + 1 : null
  }

  /** Reports a handler failure to Rust, which decides retry, dead-letter or crash. */
  private async handleFailure(nc: NativeConsumer, p: PartitionBatch, message: KafkaMessage, error: any): Promise<string> {
    const headers = Object.entries(message.headers ?? {}).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).filter((x) => x !== undefined).map((x) => ({ key: k, value: Buffer.isBuffer(x) ? x : Buffer.from(String(x)) })))
    const correlation = message.headers?.['correlation-id']
    const decision = await call(() => nc.fail({
      topic: p.topic, partition: p.partition, offset: message.offset,
      errorName: String(error?.name ?? 'Error'), errorMessage: String(error?.message ?? error), errorStack: error?.stack ? String(error.stack) : undefined,
      retryable: isRetryable(error),
      key: message.key ?? undefined, value: message.value ?? undefined, headers, timestamp: message.timestamp,
      correlationId: correlation === undefined ? undefined : String(Array.isArray(correlation) ? correlation[0] : correlation),
    }))
    const position = `${keyOf(p.topic, p.partition)}\u0000${message.offset}`
    if (decision.action === 'retry') {
      if (this.failures.size > 10_000) this.failures.clear()
      this.failures.set(position, decision.attempt)
    } else this.failures.delete(position)
    const handler = this.runConfig.eachMessage ? 'eachMessage' : 'eachBatch'
    this.ctx.logger.error(`Error when calling ${handler}`, {
      topic: p.topic, partition: p.partition, offset: message.offset, stack: error?.stack, error: error?.message ?? String(error),
      retryCount: decision.attempt, retryTime: decision.delayMs, action: decision.action,
    })
    if (decision.action === 'dead-lettered') {
      this.instrumentation.emit(events.DEAD_LETTER, { topic: p.topic, partition: p.partition, offset: message.offset, dlqTopic: decision.dlqTopic, attempts: decision.attempt, error })
    } else if (decision.action === 'crash') {
      // As kafkajs: the retries ran out, so CRASH carries KafkaJSNumberOfRetriesExceeded with the
      // handler's error as its cause; the retry budget then starts again on the same client.
      const cause = typeof error?.message === 'string' ? (error as Error) : undefined
      const crash = new KafkaJSNumberOfRetriesExceeded(cause ?? String(error), { cause, retryCount: Math.max(0, decision.attempt - 1), retryTime: decision.delayMs })
      const restartOnFailure = this.config.retry?.restartOnFailure ?? this.ctx.retry?.restartOnFailure
      let restart = true
      if (restartOnFailure) restart = await restartOnFailure(crash).catch(() => false)
      this.instrumentation.emit(events.CRASH, { error: crash, groupId: this.groupId, restart })
      if (!restart) {
        this.running = false
        nc.wake()
      }
    }
    return decision.action
  }

  private handleEvents(list: ConsumerEvent[], nc: NativeConsumer): void {
    for (const ev of list) {
      const payload = ev.payload as Record<string, any>
      switch (ev.kind) {
        case 'GROUP_JOIN': {
          this.generation++
          this.memberId = payload.memberId ?? null
          this.stall?.assigned(payload.memberAssignment)
          this.instrumentation.emit(events.GROUP_JOIN, { ...payload, leaderId: payload.memberId, isLeader: false })
          for (const [k, s] of this.pendingSeeks) {
            if (payload.memberAssignment?.[s.topic]?.includes(s.partition)) {
              try { callSync(() => nc.seek(s)); this.pendingSeeks.delete(k) } catch { /* retried at the next join */ }
            }
          }
          this.onJoin?.()
          break
        }
        case 'REBALANCING':
          this.generation++
          // `revoked` (ferrokafka): the partitions taken away, all of them under an eager assignor,
          // only those moving elsewhere under cooperative-sticky.
          this.instrumentation.emit(events.REBALANCING, { groupId: this.groupId, memberId: payload.memberId, revoked: payload.revoked ?? {} })
          break
        case 'COMMIT_OFFSETS':
          this.stall?.commits(payload.topics)
          this.instrumentation.emit(events.COMMIT_OFFSETS, { ...payload, memberId: this.memberId, groupGenerationId: this.generation })
          break
        case 'CIRCUIT_OPEN':
          this.instrumentation.emit(events.CIRCUIT_OPEN, payload)
          break
        case 'CIRCUIT_HALF_OPEN':
          this.instrumentation.emit(events.CIRCUIT_HALF_OPEN, payload)
          break
        case 'CIRCUIT_CLOSED':
          this.instrumentation.emit(events.CIRCUIT_CLOSED, payload)
          break
        case 'FATAL':
          // The librdkafka handle is unusable now: the loop replaces it (see `recover`).
          this.fatal = errorOf(payload as NativeErrorInfo)
          break
        default:
          this.ctx.logger.warn(String(payload.message ?? ev.kind), { groupId: this.groupId, code: payload.code })
      }
    }
  }

  /** Stops fetching; in-flight handlers finish and their offsets are stored. */
  async stop(): Promise<void> {
    if (!this.running && !this.loopDone) return
    this.running = false
    // A run() still waiting for its first assignment settles now rather than at its 30 s bound.
    this.onJoin?.()
    this.nativeConsumer?.wake()
    await this.loopDone
    this.loopDone = null
    this.instrumentation.emit(events.STOP)
  }

  /** Stops, commits what was handled (with autoCommit), leaves the group and frees the client. */
  async disconnect(): Promise<void> {
    await this.stop()
    if (this.nativeConsumer) {
      const nc = this.nativeConsumer
      const last = await call(() => nc.close())
      // Only the final commit's report matters now: the group is left.
      this.handleEvents(last.filter((e) => e.kind === 'COMMIT_OFFSETS'), nc)
    }
    // A fresh native consumer (and log callback) on the next connect().
    this.nativeConsumer = null
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

  paused(): TopicPartitions[] {
    return (this.nativeConsumer?.paused() ?? []).map((t) => ({ topic: t.topic, partitions: t.partitions ?? [] }))
  }

  private syncPaused(fn: () => void): void {
    if (!this.nativeConsumer) throw new KafkaJSNonRetriableError('Consumer group was not initialized, consumer#run must be called first')
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
    this.topics.push(...fresh)
    if (!this.running || !this.nativeConsumer) return
    // Without fromBeginning the new topics start at their end as of this call (fixed in Rust),
    // so records produced once this resolves are delivered even before the rebalance completes.
    await call(() => this.nativeConsumer!.resubscribe(this.topics, this.fromBeginning ? [] : fresh))
  }

  /** Which delivery of the message at this position the next handler call is (1 = first). */
  attemptOf(topic: string, partition: number, offset: string): number {
    return (this.failures.get(`${keyOf(topic, partition)}\u0000${offset}`) ?? 0) + 1
  }

  /** The partitions currently assigned to this member (ferrokafka addition). */
  assignment(): TopicPartitions[] {
    return (this.nativeConsumer?.assignment() ?? []).map((t) => ({ topic: t.topic, partitions: t.partitions ?? [] }))
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
    return this.ctx.logger
  }

  /**
   * ferrokafka: whether this consumer is running and, with option `stallTimeout`, stalled (records
   * waiting on its assigned partitions and no handler started or finished for that long), with
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
