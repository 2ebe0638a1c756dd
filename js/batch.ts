/** kafkajs's `Batch` object handed to `eachBatch`. */
import type { Batch as BatchShape, KafkaMessage } from './types'
import type { Rows } from './messages'

export class Batch implements BatchShape {
  declare readonly messages: KafkaMessage[]
  /** The first and last offsets, known without the message objects when built from rows. */
  readonly #bounds: [string, string] | null = null

  constructor(readonly topic: string, readonly partition: number, readonly highWatermark: string, messages: KafkaMessage[] | Rows) {
    if (Array.isArray(messages)) {
      this.messages = messages
      return
    }
    // From rows: the message objects are built when first read, as an own property like kafkajs's.
    const rows = messages
    if (rows.count > 0) this.#bounds = [rows.offset(0), rows.offset(rows.count - 1)]
    Object.defineProperty(this, 'messages', {
      configurable: true,
      enumerable: true,
      get: () => {
        const built = rows.messages()
        Object.defineProperty(this, 'messages', { value: built, enumerable: true, writable: true, configurable: true })
        return built
      },
    })
  }

  isEmpty(): boolean {
    return this.#bounds === null && this.messages.length === 0
  }

  firstOffset(): string | null {
    if (this.#bounds) return this.#bounds[0]
    return this.isEmpty() ? null : this.messages[0].offset
  }

  lastOffset(): string {
    if (this.#bounds) return this.#bounds[1]
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
