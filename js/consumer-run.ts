/**
 * The run loop of a kafkajs Consumer: it asks Rust for a batch, calls `eachMessage`/`eachBatch`,
 * and reports how far each partition got (`store`) or where a handler threw (`fail`); events that
 * rode back with the batch become kafkajs instrumentation events. Rust stores offsets, applies the
 * retry backoff and commits. `Consumer` (consumer.ts) adds kafkajs's public API on top.
 */
import type { ConsumerEvent, FetchedBatch, NativeConsumer, PartitionBatch, TopicPartitionOffset } from '../binding'
import { Batch, RowsBatch } from './batch'
import { RunOffsets } from './consumer-offsets'
import { FETCH_WAIT_MS, FIRST_BATCH, nextBatchSize } from './fetch-size'
import { call, callSync, errorOf, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, type NativeErrorInfo } from './errors'
import { Instrumentation } from './instrumentation'
import { RequestEvents } from './request-events'
import type { ClientContext } from './kafka'
import type { Logger } from './logger'
import { CHECK_ENVELOPES, READ_ROWS, ROW, Rows, rowsOption } from './messages'
import { native } from './native'
import { assignmentStrategies } from './assigners'
import { consumerEvents as events, isRetryable } from './consumer-events'
import type { ConsumerConfig, ConsumerRunConfig, EachBatchPayload, KafkaMessage, TopicPartitions } from './types'
import type { ConsumerStallWatch } from './consumer-stall'
import { partitionKey } from './stall'

/** A partition's key in the run loop's maps (the stall rule's). */
export const keyOf = partitionKey

export abstract class ConsumerRunLoop {
  readonly events = events
  protected readonly instrumentation = new Instrumentation(events, 'consumer')
  protected nativeConsumer: NativeConsumer | null = null
  protected topics: string[] = []
  protected fromBeginning = false
  protected running = false
  protected loopDone: Promise<void> | null = null
  /** A crash that does not restart: reported once the loop ended and the consumer disconnected. */
  protected crashed: { error: unknown } | null = null
  /** Settles a `run()` waiting for its assignment; given the GROUP_JOIN payload, or nothing to settle now. */
  protected onJoin: ((join?: Record<string, any>) => void) | null = null
  protected pausedKeys = new Set<string>()
  /** Messages of the current fetch sent to a dead-letter topic. */
  private deadLettered = 0
  protected sought = new Set<string>()
  protected pendingSeeks = new Map<string, TopicPartitionOffset>()
  protected generation = 0
  protected runConfig: ConsumerRunConfig = {}
  /** A fatal librdkafka error seen in the last fetch: the loop restarts the client. */
  protected fatal: Error | null = null
  /** From the last GROUP_JOIN, for COMMIT_OFFSETS (kafkajs's payload carries it). */
  protected memberId: string | null = null
  /** What handlers resolved and what was committed, as kafkajs's offset manager shows it. */
  protected offsets = new RunOffsets({})
  /** Failures so far of the message at each position, for the event layer's `attempt`. */
  protected readonly failures = new Map<string, number>()
  /**
   * Until a restarting crash's backoff ends (then CONNECT, as kafkajs's restart emits). A `#`
   * field: a timer is circular, and a client must survive JSON.stringify as kafkajs's does.
   */
  #restarting: ReturnType<typeof setTimeout> | null = null

  /** kafkajs's retry of this consumer: its own fields over the client's (as RetryPolicy::of_client). */
  protected get retry() {
    return { ...this.ctx.retry, ...this.config.retry }
  }

  /** `retry.restartOnFailure`'s answer; as kafkajs, a callback that throws means restart. */
  private async askRestart(restartOnFailure: (e: Error) => Promise<boolean>, error: Error): Promise<boolean> {
    try {
      return await restartOnFailure(error)
    } catch (e) {
      this.log.error('Caught error when invoking user-provided "restartOnFailure" callback. Defaulting to restarting.', { error: (e as Error)?.message ?? String(e), cause: error.message, groupId: this.groupId })
      return true
    }
  }

  /** Cancels the CONNECT of a restart still in its backoff (the consumer is stopping). */
  protected cancelRestart(): void {
    clearTimeout(this.#restarting ?? undefined)
    this.#restarting = null
  }
  /** The stall watchdog, with option `stallTimeout`. */
  protected stall: ConsumerStallWatch | null = null

  protected readonly requests: RequestEvents

  /** kafkajs's `Consumer` namespace of the client's logger (what `consumer.logger()` returns). */
  protected readonly log: Logger

  constructor(protected readonly ctx: ClientContext, protected readonly config: ConsumerConfig) {
    this.requests = new RequestEvents(this.instrumentation, events)
    this.log = ctx.logger.namespace('Consumer')
  }

  protected create(common: Record<string, unknown>): NativeConsumer {
    const { retry, partitionAssigners, stallTimeout: _s, ...rest } = this.config
    const assigners = assignmentStrategies(partitionAssigners, this.config.groupId, this.log)
    const options = { ...rest, partitionAssigners: assigners, retry: retry ? { ...retry, restartOnFailure: undefined } : undefined }
    return callSync(() => new native.NativeConsumer(common, options, this.ctx.nativeLog))
  }

  protected get groupId() {
    return this.config.groupId
  }

  protected start(nc: NativeConsumer): void {
    const config = this.runConfig
    this.offsets = new RunOffsets(config)
    callSync(() => nc.start(this.topics, this.fromBeginning, {
      autoCommit: config.autoCommit, autoCommitInterval: config.autoCommitInterval ?? undefined,
      autoCommitThreshold: config.autoCommitThreshold ?? undefined,
      deadLetter: config.deadLetter, circuitBreaker: config.circuitBreaker,
    }))
    // The librdkafka client exists from here (one per run, and per restart after a fatal error).
    this.requests.attach(nc)
  }

  /**
   * After a fatal librdkafka error: CRASH, then (unless `retry.restartOnFailure` says no) a new
   * client rejoins the group after `retry.initialRetryTime`, as kafkajs restarts a crashed
   * consumer. Nothing past the last stored offset was committed, so nothing is lost.
   */
  protected async recover(nc: NativeConsumer, error: Error): Promise<NativeConsumer | null> {
    this.fatal = null
    const retry = this.retry
    let restart = true
    if (retry.restartOnFailure) restart = await this.askRestart(retry.restartOnFailure, error)
    this.log.error(`Consumer crashed: ${error.message}`, { groupId: this.groupId, restart })
    if (restart) this.instrumentation.emit(events.CRASH, { error, groupId: this.groupId, restart })
    else this.crashed = { error }
    await call(() => nc.close()).catch(() => undefined)
    this.nativeConsumer = null
    if (restart) await new Promise((r) => setTimeout(r, retry.initialRetryTime ?? 300))
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

  protected async loop(first: NativeConsumer): Promise<void> {
    const concurrency = Math.max(1, this.runConfig.partitionsConsumedConcurrently ?? 1)
    let current: NativeConsumer | null = first
    let batchSize = FIRST_BATCH
    while (this.running && current) {
      const nc: NativeConsumer = current
      this.instrumentation.emit(events.FETCH_START, {})
      const started = Date.now()
      let b: FetchedBatch
      try {
        b = await nc.fetch(batchSize, FETCH_WAIT_MS, rowsOption(this.runConfig, READ_ROWS), rowsOption(this.runConfig, CHECK_ENVELOPES))
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
      this.deadLettered = 0
      let handled = 0
      const work = b.partitions.map((p) => async () => {
        const next = await this.processPartition(nc, b, p)
        if (next !== null) {
          stored.push({ topic: p.topic, partition: p.partition, offset: String(next) })
          handled += p.count
        }
      })
      const handling = performance.now()
      for (let i = 0; i < work.length; i += concurrency) await Promise.all(work.slice(i, i + concurrency).map((w) => w()))
      // Only dead letters in this fetch: the circuit breaker's streak of failures goes on.
      if (stored.length) callSync(() => nc.store(stored, handled, handled > this.deadLettered))
      batchSize = nextBatchSize(b.meta.length / ROW, performance.now() - handling, batchSize)
    }
  }

  /** Runs the handler over one partition's messages; returns the next offset to store, if any. */
  protected async processPartition(nc: NativeConsumer, b: FetchedBatch, p: PartitionBatch): Promise<number | null> {
    const key = keyOf(p.topic, p.partition)
    const offsetAt = (i: number) => b.meta[(p.start + i) * ROW]
    if (this.pausedKeys.has(key)) {
      nc.rewind([{ topic: p.topic, partition: p.partition, offset: String(offsetAt(0)) }])
      return null
    }
    this.sought.delete(key)
    const generation = this.generation
    const rows = new Rows(b, p.start, p.count)
    const batch = rowsOption(this.runConfig, READ_ROWS) ? new RowsBatch(p.topic, p.partition, p.highWatermark, rows) : new Batch(p.topic, p.partition, p.highWatermark, rows.messages())
    const firstOffset = batch.firstOffset()!
    const batchInfo = {
      topic: p.topic, partition: p.partition, highWatermark: p.highWatermark, offsetLag: batch.offsetLag(),
      offsetLagLow: batch.offsetLagLow(), batchSize: p.count, firstOffset, lastOffset: batch.lastOffset(),
    }
    const started = Date.now()
    const stall = this.stall
    stall?.fetched(p.topic, p.partition, p.highWatermark, firstOffset, batchInfo.lastOffset)
    this.instrumentation.emit(events.START_BATCH_PROCESS, batchInfo)
    const pause = () => {
      this.pause([{ topic: p.topic, partitions: [p.partition] }])
      // Called later, often from a timer: a consumer stopped meanwhile has nothing left to resume.
      return () => { if (this.running && this.nativeConsumer) this.resume([{ topic: p.topic, partitions: [p.partition] }]) }
    }
    const heartbeat = async () => {}
    let done = 0 // messages fully handled, from the front
    let failure: unknown = null
    if (this.runConfig.eachMessage) {
      const each = this.runConfig.eachMessage
      const messages = batch.messages
      for (; done < messages.length; done++) {
        if (!this.running || this.pausedKeys.has(key) || this.sought.has(key)) break
        const offset = messages[done].offset
        stall?.started(p.topic, p.partition, offset)
        try {
          await each({ topic: p.topic, partition: p.partition, message: messages[done], heartbeat, pause })
          stall?.finished(p.topic, p.partition, offset, true)
          if (this.offsets.handledOne()) await this.offsets.checkpoint(nc, p.topic, p.partition, offset, this.log)
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
          this.offsets.resolvedMore(Number(offset) - Math.max(resolved, Number(firstOffset) - 1))
          resolved = Number(offset)
          stall?.resolved(p.topic, p.partition, offset)
        },
        heartbeat,
        pause,
        // As kafkajs's: the offsets given, or (once autoCommitThreshold/Interval is reached) every
        // resolved one, whatever autoCommit says; otherwise the batch's end commits.
        commitOffsetsIfNecessary: (offsets?: Parameters<EachBatchPayload['commitOffsetsIfNecessary']>[0]) => this.offsets.commitIfNecessary(nc, offsets),
        // kafkajs's partition here is a string (it comes from an object's keys), typings aside.
        uncommittedOffsets: () => this.offsets.uncommitted(),
        isRunning: () => this.running,
        isStale: () => generation !== this.generation || this.sought.has(key),
      }
      stall?.started(p.topic, p.partition, firstOffset)
      this.offsets.track(p.topic, p.partition, () => (resolved < 0 ? null : { topic: p.topic, partition: p.partition, offset: String(resolved + 1) }))
      try {
        await this.runConfig.eachBatch!(payload)
        if (this.runConfig.eachBatchAutoResolve !== false && !payload.isStale() && !this.pausedKeys.has(key)) {
          resolved = Math.max(resolved, offsetAt(p.count - 1))
        }
      } catch (e) {
        failure = e
      }
      this.offsets.untrack(p.topic, p.partition)
      while (done < p.count && offsetAt(done) <= resolved) done++
    }
    // As kafkajs: a batch whose handler failed has no END_BATCH_PROCESS.
    if (failure === null) this.instrumentation.emit(events.END_BATCH_PROCESS, { ...batchInfo, duration: Date.now() - started })
    if (failure !== null) {
      // eachMessage failures were decided inside the loop; Rust already rewound the partition.
      if (this.runConfig.eachBatch && this.running && (await this.handleFailure(nc, p, rows.message(done), failure)) === 'dead-lettered') {
        done++
        if (done < p.count) nc.rewind([{ topic: p.topic, partition: p.partition, offset: String(offsetAt(done)) }])
      }
    } else if (done < p.count && this.running && !this.sought.has(key) && generation === this.generation) {
      // Pulled but not handled (a pause mid-batch): fetch them again rather than skip them.
      nc.rewind([{ topic: p.topic, partition: p.partition, offset: String(offsetAt(done)) }])
    }
    // A batch that resolved nothing without failing (paused, stale) moved nothing, yet is no failure.
    if (this.runConfig.eachBatch) stall?.finished(p.topic, p.partition, String(offsetAt(Math.max(done, 1) - 1)), done > 0 ? true : failure === null ? null : false)
    return done > 0 ? offsetAt(done - 1) + 1 : null
  }

  /** Reports a handler failure to Rust, which decides retry, dead-letter or crash. */
  protected async handleFailure(nc: NativeConsumer, p: PartitionBatch, message: KafkaMessage, error: any): Promise<string> {
    const headers = Object.entries(message.headers ?? {}).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).filter((x) => x !== undefined).map((x) => ({ key: k, value: Buffer.isBuffer(x) ? x : Buffer.from(String(x)) })))
    const correlation = message.headers?.['correlation-id']
    const retryable = isRetryable(error)
    const decision = callSync(() => nc.fail({
      topic: p.topic, partition: p.partition, offset: message.offset,
      errorName: String(error?.name ?? 'Error'), errorMessage: String(error?.message ?? error), errorStack: error?.stack ? String(error.stack) : undefined,
      retryable,
      key: message.key ?? undefined, value: message.value ?? undefined, headers, timestamp: message.timestamp,
      correlationId: correlation === undefined ? undefined : String(Array.isArray(correlation) ? correlation[0] : correlation),
    }))
    const position = `${keyOf(p.topic, p.partition)}\u0000${message.offset}`
    if (decision.action === 'retry') {
      if (this.failures.size > 10_000) this.failures.clear()
      this.failures.set(position, decision.attempt)
    } else this.failures.delete(position)
    const handler = this.runConfig.eachMessage ? 'eachMessage' : 'eachBatch'
    this.log.error(`Error when calling ${handler}`, {
      topic: p.topic, partition: p.partition, offset: message.offset, stack: error?.stack, error: error?.message ?? String(error),
      retryCount: decision.attempt, retryTime: decision.delayMs, action: decision.action,
    })
    if (decision.action === 'dead-lettered') {
      this.deadLettered++
      this.instrumentation.emit(events.DEAD_LETTER, { topic: p.topic, partition: p.partition, offset: message.offset, dlqTopic: decision.dlqTopic, attempts: decision.attempt, error })
    } else if (decision.action === 'crash') {
      // As kafkajs: the retries ran out, so CRASH carries KafkaJSNumberOfRetriesExceeded with the
      // handler's error as its cause; the retry budget then starts again on the same client. A
      // non-retriable error (retriable: false, or a TypeError and its kin) crashes at once.
      const cause = typeof error?.message === 'string' ? (error as Error) : undefined
      const crash = decision.retryable
        ? new KafkaJSNumberOfRetriesExceeded(cause ?? String(error), { cause, retryCount: Math.max(0, decision.attempt - 1), retryTime: decision.delayMs })
        : new KafkaJSNonRetriableError(cause ?? String(error), { cause })
      // kafkajs's rule: restart after retries ran out, or when the root cause says it is retriable.
      let root: any = crash
      while (root?.cause) root = root.cause
      const { restartOnFailure } = this.retry
      let restart = crash.name === 'KafkaJSNumberOfRetriesExceeded' || root?.retriable === true
      if (restart && restartOnFailure) restart = await this.askRestart(restartOnFailure, crash)
      this.log.error(`Crash: ${crash.name}: ${crash.message}`, { groupId: this.groupId, retryCount: decision.attempt - 1, stack: crash.stack })
      if (restart) {
        this.instrumentation.emit(events.CRASH, { error: crash, groupId: this.groupId, restart })
        // kafkajs reconnects its consumer after the last backoff (CONNECT; NestJS reads it as
        // "connected" again). Here the same client goes on, this partition once the backoff ends.
        this.log.error(`Restarting the consumer in ${decision.delayMs}ms`, { retryCount: decision.attempt - 1, retryTime: decision.delayMs, groupId: this.groupId })
        this.cancelRestart()
        this.#restarting = setTimeout(() => { this.#restarting = null; if (this.running) this.instrumentation.emit(events.CONNECT) }, decision.delayMs)
        this.#restarting.unref?.()
      } else {
        this.crashed = { error: crash }
        this.running = false
        nc.wake()
      }
    }
    return decision.action
  }

  protected handleEvents(list: ConsumerEvent[], nc: NativeConsumer): void {
    for (const ev of list) {
      const payload = ev.payload as Record<string, any>
      switch (ev.kind) {
        case 'GROUP_JOIN': {
          this.generation++
          this.offsets.clear()
          this.memberId = payload.memberId ?? null
          this.stall?.assigned(payload.memberAssignment)
          this.instrumentation.emit(events.GROUP_JOIN, payload)
          // kafkajs writes this line from its ConsumerGroup, under that namespace.
          this.ctx.logger.namespace('ConsumerGroup').info('Consumer has joined the group', payload)
          for (const [k, s] of this.pendingSeeks) {
            if (payload.memberAssignment?.[s.topic]?.includes(s.partition)) {
              try { callSync(() => nc.seek(s)); this.pendingSeeks.delete(k) } catch { /* retried at the next join */ }
            }
          }
          this.onJoin?.(payload)
          break
        }
        case 'REBALANCING':
          this.generation++
          // `revoked` (ferrokafka): the partitions taken away, all of them under an eager assignor,
          // only those moving elsewhere under cooperative-sticky.
          this.instrumentation.emit(events.REBALANCING, { groupId: this.groupId, memberId: payload.memberId, revoked: payload.revoked ?? {} })
          break
        case 'HEARTBEAT':
          // A group heartbeat librdkafka's thread sent was answered (src/interceptor.rs).
          this.instrumentation.emit(events.HEARTBEAT, { groupId: this.groupId, memberId: this.memberId, groupGenerationId: this.generation })
          break
        case 'COMMIT_OFFSETS':
          this.stall?.commits(payload.topics)
          this.offsets.committed(payload.topics)
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
          this.log.warn(String(payload.message ?? ev.kind), { groupId: this.groupId, code: payload.code })
      }
    }
  }


  /** kafkajs's pause/resume, which a handler's `pause()` calls (defined by `Consumer`). */
  abstract pause(topics: { topic: string; partitions?: number[] }[]): void
  abstract resume(topics: { topic: string; partitions?: number[] }[]): void

  /** The partitions currently assigned to this member (ferrokafka addition). */
  assignment(): TopicPartitions[] {
    return (this.nativeConsumer?.assignment() ?? []).map((t) => ({ topic: t.topic, partitions: t.partitions ?? [] }))
  }
}
