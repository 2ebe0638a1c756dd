/** kafkajs's Producer on the native producer: one native call per tick's sends, whatever their size. */
import { bindMethods } from './bind'
import { inspect } from 'util'
import type { NativeProducer } from '../binding'
import { packSend, type PackedSend } from './encode'
import { call, callSync, connecting, KafkaJSError, KafkaJSNonRetriableError } from './errors'
import { Instrumentation } from './instrumentation'
import type { ClientContext } from './kafka'
import type { Logger } from './logger'
import { native } from './native'
import { RequestEvents } from './request-events'
import { adminMetadataSource, isNativePartitioner, JsPartitioning, type MetadataSource } from './partitioning'
import type { ProducerBatch, ProducerConfig, ProducerRecord, RecordMetadata, TopicMessages, TopicOffsets } from './types'
import * as check from './validate'
import { readNativeStats, type LibrdkafkaStats } from './service/metrics'
import { SendQueue } from './send-queue'

type Pack = (topicMessages: TopicMessages[]) => PackedSend | Promise<PackedSend>

/** Runs `send` on the packed batch without an extra tick when packing was synchronous. */
function withPacked<T>(packed: PackedSend | Promise<PackedSend>, send: (p: PackedSend) => Promise<T>): Promise<T> {
  return packed instanceof Promise ? packed.then(send) : send(packed)
}

const events = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
  REQUEST_TIMEOUT: 'producer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size',
} as const

function sendOptions(acks?: number, compression?: number, timeout?: number) {
  check.num(acks, 'acks')
  check.num(compression, 'compression')
  check.num(timeout, 'timeout')
  if (acks === undefined && !compression) return undefined
  return { acks, compression: compression || undefined }
}

/** kafkajs's transaction handle: `send`, `sendBatch`, `sendOffsets`, `commit`, `abort`, `isActive`. */
export class Transaction {
  private active = true
  constructor(private readonly producer: NativeProducer, private readonly pack: Pack) {
    bindMethods(this, ['send', 'sendBatch', 'sendOffsets', 'commit', 'abort', 'isActive'])
  }

  private check() {
    if (!this.active) throw new KafkaJSNonRetriableError('Transaction is not active (already committed or aborted)')
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.check()
    return withPacked(this.pack([record]), ({ topics, counts, data }) => call(() => this.producer.transactionSend(topics, counts, data)))
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.check()
    return withPacked(this.pack(batch.topicMessages ?? []), ({ topics, counts, data }) => call(() => this.producer.transactionSend(topics, counts, data)))
  }

  /** Commits consumed offsets atomically with this transaction's records. */
  async sendOffsets({ consumerGroupId, topics }: { consumerGroupId: string; topics: TopicOffsets[] }): Promise<void> {
    this.check()
    await call(() => this.producer.sendOffsetsToTransaction(consumerGroupId, check.topicOffsets(topics, 'topics')))
  }

  async commit(): Promise<void> {
    this.check()
    await call(() => this.producer.commitTransaction())
    this.active = false
  }

  async abort(): Promise<void> {
    this.check()
    await call(() => this.producer.abortTransaction())
    this.active = false
  }

  isActive(): boolean {
    return this.active
  }
}

/** kafkajs's Producer. Idempotent with acks=all by default. */
export class Producer {
  readonly events = events
  private readonly instrumentation = new Instrumentation(events, 'producer')
  private readonly requests: RequestEvents
  private nativeProducer: NativeProducer | null = null
  private connected = false
  private transacting = false
  /** Set when `createPartitioner` is a JavaScript partitioner (custom or Legacy). */
  private readonly partitioning: JsPartitioning | null

  /** kafkajs's `Producer` namespace of the client's logger (what `producer.logger()` returns). */
  private readonly log: Logger

  constructor(private readonly ctx: ClientContext, private readonly config: ProducerConfig) {
    this.log = ctx.logger.namespace('Producer')
    this.requests = new RequestEvents(this.instrumentation, events)
    check.fn(config.createPartitioner, 'createPartitioner')
    check.retry(config.retry, 'retry')
    if (config.idempotent === true) this.checkIdempotentRetries({ ...ctx.retry, ...config.retry }.retries)
    const create = config?.createPartitioner
    this.partitioning = isNativePartitioner(create) ? null : new JsPartitioning(create!, this.metadataSource(), config.metadataMaxAge ?? 300_000)
    this.nativeProducer = ctx.early((common) => this.create(common))
    bindMethods(this, ['connect', 'disconnect', 'isIdempotent', 'send', 'sendBatch', 'transaction', 'on', 'logger'])
  }

  /**
   * As kafkajs's, for a producer created `idempotent: true`: no retries is refused, and a bounded
   * number of them warned about (librdkafka's idempotent producer itself resends until
   * `message.timeout.ms`, whatever `retries` says).
   */
  private checkIdempotentRetries(retries: number | undefined): void {
    if (retries === undefined) return
    if (retries < 1) throw new KafkaJSNonRetriableError('Idempotent producer must allow retries to protect against transient errors', { field: 'retry.retries' })
    if (retries < Number.MAX_SAFE_INTEGER) this.log.warn('Limiting retries for the idempotent producer may invalidate EoS guarantees')
  }

  private create(common: Record<string, unknown>): NativeProducer {
    const { createPartitioner: _p, retry, ...options } = this.config
    // Rust reads retry's numbers (resends of a plain producer, how long a missing topic is awaited).
    if (retry) Object.assign(options, { retry: { ...retry, restartOnFailure: undefined } })
    const producer = callSync(() => new native.NativeProducer(common, options, this.ctx.nativeLog))
    this.requests.attach(producer)
    return producer
  }

  /**
   * The producer's own metadata when the native producer offers it (no second client), else a
   * metadata-only admin client opened on first use.
   */
  private metadataSource(): MetadataSource {
    const admin = adminMetadataSource(async () => {
      const common = await this.ctx.common()
      // Its metadata requests create a missing topic as the producer's own sends would (an
      // admin client's do not): kafkajs's allowAutoTopicCreation, true unless set.
      const rdkafka = { ...(common.rdkafka as Record<string, unknown> | undefined), 'allow.auto.create.topics': String(this.config.allowAutoTopicCreation ?? true) }
      const a = callSync(() => new native.NativeAdmin({ ...common, rdkafka }))
      await call(() => a.connect(this.ctx.connectTimeoutMs))
      return a
    })
    return {
      fetchTopicMetadata: (topics) => {
        const own = this.nativeProducer as unknown as { fetchTopicMetadata?: MetadataSource['fetchTopicMetadata'] } | null
        return typeof own?.fetchTopicMetadata === 'function' ? call(() => own.fetchTopicMetadata!(topics)) : admin.fetchTopicMetadata(topics)
      },
      close: () => admin.close(),
    }
  }

  /** Packs a send; a JavaScript partitioner picks each partition here, before the one native call. */
  private readonly pack: Pack = (topicMessages) => {
    const prepared = this.partitioning?.prepare(topicMessages)
    if (!(prepared instanceof Promise)) return callSync(() => packSend(topicMessages, prepared))
    const packed = prepared.then((choose) => callSync(() => packSend(topicMessages, choose)))
    this.preparing.add(packed)
    const forget = () => { this.preparing.delete(packed) }
    packed.then(forget, forget)
    return packed
  }

  /** Sends waiting for topic metadata: `disconnect()` lets them reach the native producer first. */
  private readonly preparing = new Set<Promise<unknown>>()

  /** Sends of the current tick, not yet handed to the native producer. */
  private readonly queue = new SendQueue()

  private client(): NativeProducer {
    if (!this.connected || !this.nativeProducer) {
      // kafkajs's error, word for word: programs match on it (retriable, as kafkajs's is).
      throw new KafkaJSError('The producer is disconnected', { code: 'ERR_STATE' })
    }
    return this.nativeProducer
  }

  async connect(): Promise<void> {
    if (!this.nativeProducer) this.nativeProducer = this.create(await this.ctx.common())
    await connecting(() => this.nativeProducer!.connect(this.ctx.connectTimeoutMs))
    this.connected = true
    this.instrumentation.emit(events.CONNECT)
  }

  /** Flushes everything in flight, then closes. Idempotent. */
  async disconnect(): Promise<void> {
    const p = this.nativeProducer
    if (!p) return
    this.connected = false
    this.nativeProducer = null
    if (this.preparing.size > 0) await Promise.allSettled([...this.preparing])
    this.queue.flush()
    this.requests.attach(null)
    await call(() => p.disconnect(30_000))
    await this.partitioning?.close()
    this.instrumentation.emit(events.DISCONNECT)
  }

  isIdempotent(): boolean {
    return this.config.idempotent !== false || !!this.config.transactionalId
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (!check.isPlainObject(record)) throw check.invalid('record', 'send() expects { topic, messages }')
    const p = this.client()
    const options = sendOptions(record.acks, record.compression, record.timeout)
    return this.unacked(record.acks, withPacked(this.pack([record]), (packed) => this.queue.add(p, packed, options)))
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const p = this.client()
    // kafkajs's topicMessages defaults to []: sendBatch({}) resolves [].
    if (!check.isPlainObject(batch) || (batch.topicMessages !== undefined && !Array.isArray(batch.topicMessages))) {
      throw new KafkaJSNonRetriableError('sendBatch() expects { topicMessages: [{ topic, messages }] }', { field: 'topicMessages' })
    }
    const options = sendOptions(batch.acks, batch.compression, batch.timeout)
    return this.unacked(batch.acks, withPacked(this.pack(batch.topicMessages ?? []), (packed) => this.queue.add(p, packed, options)))
  }

  /**
   * With acks=0 no broker answers, so there is no offset to report: kafkajs resolves `[]`, while
   * librdkafka reports each partition with offset -1001 (invalid). kafkajs's shape wins.
   */
  private async unacked(acks: number | undefined, sent: Promise<RecordMetadata[]>): Promise<RecordMetadata[]> {
    const metadata = await sent
    return (acks ?? this.config.acks) === 0 ? [] : metadata
  }

  /** Begins a transaction; requires `transactionalId`. One at a time per producer. */
  async transaction(): Promise<Transaction> {
    const p = this.client()
    if (!this.config.transactionalId) {
      throw new KafkaJSNonRetriableError('Transactional operations require `transactionalId` in the producer config', { field: 'transactionalId' })
    }
    if (this.transacting) throw new KafkaJSNonRetriableError('There is already an ongoing transaction for this producer')
    await call(() => p.beginTransaction())
    this.transacting = true
    const tx = new Transaction(p, this.pack)
    const end = () => { this.transacting = false }
    // A retriable failure leaves the transaction to the caller (abort() it, as kafkajs code does);
    // a non-retriable one (fenced, fatal) frees the slot, so the next transaction() reports the
    // producer's real state instead of "already an ongoing transaction".
    const finishing = (op: () => Promise<void>) => async () => {
      try {
        await op()
      } catch (e) {
        if ((e as { retriable?: boolean })?.retriable === false) end()
        throw e
      }
      end()
    }
    tx.commit = finishing(tx.commit.bind(tx))
    tx.abort = finishing(tx.abort.bind(tx))
    return tx
  }

  /** Waits until every queued record is delivered (ferrokafka addition). */
  async flush(timeoutMs = 30_000): Promise<void> {
    const p = this.client()
    this.queue.flush()
    await call(() => p.flush(timeoutMs))
  }

  on(eventName: string, listener: (event: any) => void): () => void {
    return this.instrumentation.on(eventName, listener)
  }

  logger() {
    return this.log
  }

  /**
   * ferrokafka: librdkafka's latest statistics (broker round-trip times, queue depths), parsed;
   * null until the native binding collects them (`statistics.interval.ms`).
   */
  statistics(): LibrdkafkaStats | null {
    return readNativeStats(this.nativeProducer)
  }

  [inspect.custom](): string {
    return `Producer { connected: ${this.connected} }`
  }
}
