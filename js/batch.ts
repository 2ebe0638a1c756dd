/** kafkajs's `Batch` object handed to `eachBatch`. */
import type { Batch as BatchShape, KafkaMessage } from './types'

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
    const lag = BigInt(this.highWatermark) - 1n - BigInt(this.lastOffset())
    return String(lag < 0n ? 0n : lag)
  }

  offsetLagLow(): string {
    if (this.isEmpty()) return '0'
    const lag = BigInt(this.highWatermark) - 1n - BigInt(this.firstOffset()!)
    return String(lag < 0n ? 0n : lag)
  }
}
