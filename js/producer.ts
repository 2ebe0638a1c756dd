/** kafkajs's Producer on the native producer: one native call per send, whatever its size. */
import { inspect } from 'util'
import type { NativeProducer } from '../binding'
import { packSend } from './encode'
import { call, callSync, KafkaJSNonRetriableError } from './errors'
import { Instrumentation } from './instrumentation'
import type { ClientContext } from './kafka'
import { native } from './native'
import type { ProducerBatch, ProducerConfig, ProducerRecord, RecordMetadata, TopicOffsets } from './types'
import * as check from './validate'

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
  constructor(private readonly producer: NativeProducer) {}

  private check() {
    if (!this.active) throw new KafkaJSNonRetriableError('Transaction is not active (already committed or aborted)')
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.check()
    const { topics, counts, data } = callSync(() => packSend([record]))
    return call(() => this.producer.transactionSend(topics, counts, data))
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.check()
    const { topics, counts, data } = callSync(() => packSend(batch.topicMessages ?? []))
    return call(() => this.producer.transactionSend(topics, counts, data))
  }

  /** Commits consumed offsets atomically with this transaction's records. */
  async sendOffsets({ consumerGroupId, topics }: { consumerGroupId: string; topics: TopicOffsets[] }): Promise<void> {
    this.check()
    const flat = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: String(p.offset) })))
    await call(() => this.producer.sendOffsetsToTransaction(consumerGroupId, flat))
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
  private nativeProducer: NativeProducer | null = null
  private connected = false
  private transacting = false

  constructor(private readonly ctx: ClientContext, private readonly config: ProducerConfig) {
    check.fn(config.createPartitioner, 'createPartitioner')
    check.retry(config.retry, 'retry')
    const common = ctx.commonSync()
    // Static brokers: bad options fail here, as kafkajs's constructor-time checks do.
    if (common) this.nativeProducer = this.create(common)
  }

  private create(common: Record<string, unknown>): NativeProducer {
    const { createPartitioner: _p, retry: _r, ...options } = this.config
    return callSync(() => new native.NativeProducer(common, options, this.ctx.nativeLog))
  }

  private client(): NativeProducer {
    if (!this.connected || !this.nativeProducer) {
      throw new KafkaJSNonRetriableError('The producer is not connected (call connect() first)', { code: 'ERR_STATE' })
    }
    return this.nativeProducer
  }

  async connect(): Promise<void> {
    if (!this.nativeProducer) this.nativeProducer = this.create(await this.ctx.common())
    await call(() => this.nativeProducer!.connect(this.ctx.connectTimeoutMs))
    this.connected = true
    this.instrumentation.emit(events.CONNECT)
  }

  /** Flushes everything in flight, then closes. Idempotent. */
  async disconnect(): Promise<void> {
    const p = this.nativeProducer
    if (!p) return
    this.connected = false
    this.nativeProducer = null
    await call(() => p.disconnect(30_000))
    this.instrumentation.emit(events.DISCONNECT)
  }

  isIdempotent(): boolean {
    return this.config.idempotent !== false || !!this.config.transactionalId
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (!check.isPlainObject(record)) throw check.invalid('record', 'send() expects { topic, messages }')
    const p = this.client()
    const { topics, counts, data } = callSync(() => packSend([record]))
    return call(() => p.send(topics, counts, data, sendOptions(record.acks, record.compression, record.timeout)))
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const p = this.client()
    if (!check.isPlainObject(batch) || !Array.isArray(batch.topicMessages)) {
      throw new KafkaJSNonRetriableError('sendBatch() expects { topicMessages: [{ topic, messages }] }', { field: 'topicMessages' })
    }
    const { topics, counts, data } = callSync(() => packSend(batch.topicMessages!))
    return call(() => p.send(topics, counts, data, sendOptions(batch.acks, batch.compression, batch.timeout)))
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
    const tx = new Transaction(p)
    const end = () => { this.transacting = false }
    const commit = tx.commit.bind(tx), abort = tx.abort.bind(tx)
    tx.commit = async () => { await commit(); end() }
    tx.abort = async () => { await abort(); end() }
    return tx
  }

  /** Waits until every queued record is delivered (ferrokafka addition). */
  async flush(timeoutMs = 30_000): Promise<void> {
    await call(() => this.client().flush(timeoutMs))
  }

  on(eventName: string, listener: (event: any) => void): () => void {
    return this.instrumentation.on(eventName, listener)
  }

  logger() {
    return this.ctx.logger
  }

  [inspect.custom](): string {
    return `Producer { connected: ${this.connected} }`
  }
}
