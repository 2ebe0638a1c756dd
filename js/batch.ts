/** kafkajs's `Batch` object handed to `eachBatch`. */
import type { Rows } from './messages'
import type { Batch as BatchShape, KafkaMessage } from './types'

/** Messages behind the high watermark after `offset`. */
function lagAfter(highWatermark: string, offset: string): string {
  const lag = BigInt(highWatermark) - 1n - BigInt(offset)
  return String(lag < 0n ? 0n : lag)
}

export class Batch implements BatchShape {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly highWatermark: string,
    readonly messages: KafkaMessage[],
  ) {}

  isEmpty(): boolean {
    return this.messages.length === 0
  }

  firstOffset(): string | null {
    return this.isEmpty() ? null : this.messages[0].offset
  }

  lastOffset(): string {
    return this.isEmpty() ? String(BigInt(this.highWatermark) - 1n) : this.messages[this.messages.length - 1].offset
  }

  /** Messages behind the high watermark after this batch. */
  offsetLag(): string {
    return lagAfter(this.highWatermark, this.lastOffset())
  }

  offsetLagLow(): string {
    return this.isEmpty() ? '0' : lagAfter(this.highWatermark, this.firstOffset()!)
  }
}

/**
 * The event layer's batch: it reads each record from `rows` (its value as text, its headers as
 * strings), so kafkajs's message objects, a Buffer per value and header, are built only if read.
 * Internal: kafkajs users get `Batch`, whose `messages` is an own property as in kafkajs.
 */
export class RowsBatch implements BatchShape {
  #messages: KafkaMessage[] | null = null

  constructor(readonly topic: string, readonly partition: number, readonly highWatermark: string, readonly rows: Rows) {}

  get messages(): KafkaMessage[] {
    return (this.#messages ??= this.rows.messages())
  }

  isEmpty(): boolean {
    return this.rows.count === 0
  }

  firstOffset(): string | null {
    return this.isEmpty() ? null : this.rows.offset(0)
  }

  lastOffset(): string {
    return this.isEmpty() ? String(BigInt(this.highWatermark) - 1n) : this.rows.offset(this.rows.count - 1)
  }

  offsetLag(): string {
    return lagAfter(this.highWatermark, this.lastOffset())
  }

  offsetLagLow(): string {
    return this.isEmpty() ? '0' : lagAfter(this.highWatermark, this.firstOffset()!)
  }
}
