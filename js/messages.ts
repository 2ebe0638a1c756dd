/** Builds kafkajs message objects from one packed native batch (see src/consumer_batch.rs). */
import type { FetchedBatch } from '../binding'
import type { IHeaders, KafkaMessage } from './types'

/** Numbers per row in a fetched batch's `meta` (src/consumer_batch.rs). */
export const ROW = 9

/** Node's own Buffer class (what `subarray` builds), constructed directly: no species lookup. */
const FastBuffer = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species] as new (ab: ArrayBufferLike, offset: number, length: number) => Buffer

/**
 * `String(n)` for an integer, cheaper for those past 1e9: V8 prints such doubles (every epoch
 * millisecond timestamp) through its slow path, about 130 ns each, a sixth of a message's cost.
 */
export function decimal(n: number): string {
  if (n < 1e9) return String(n)
  const high = Math.floor(n / 1e6)
  const low = n - high * 1e6
  return high + (low >= 1e5 ? '' : low >= 1e4 ? '0' : low >= 1e3 ? '00' : low >= 100 ? '000' : low >= 10 ? '0000' : '00000') + low
}

export function buildMessages(b: FetchedBatch, start: number, count: number): KafkaMessage[] {
  const { data, meta, headers } = b
  const ab = data.buffer, base = data.byteOffset
  const view = (at: number, length: number) => new FastBuffer(ab, base + at, length)
  const out: KafkaMessage[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const r = (start + i) * ROW
    const kl = meta[r + 3], vl = meta[r + 5], hc = meta[r + 6]
    let hs: IHeaders | undefined
    if (hc > 0) {
      hs = {}
      for (let h = meta[r + 7], end = h + hc; h < end; h++) {
        const x = h * 4
        const name = data.toString('utf8', headers[x], headers[x] + headers[x + 1])
        const value = headers[x + 3] < 0 ? Buffer.alloc(0) : view(headers[x + 2], headers[x + 3])
        const prev = hs[name]
        hs[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
      }
    }
    out[i] = {
      magicByte: 2,
      attributes: 0,
      timestamp: decimal(meta[r + 1]),
      offset: decimal(meta[r]),
      key: kl < 0 ? null : view(meta[r + 2], kl),
      value: vl < 0 ? null : view(meta[r + 4], vl),
      headers: hs ?? {},
      isControlRecord: false,
      batchContext: null,
      size: (kl > 0 ? kl : 0) + (vl > 0 ? vl : 0),
    }
  }
  return out
}

/**
 * One partition's rows of a fetched batch, read without building kafkajs message objects: the
 * event layer needs each value as text and the headers as strings, not a Buffer for each.
 */
export class Rows {
  constructor(private readonly b: FetchedBatch, private readonly start: number, readonly count: number) {}

  /** The offset of row `i`, as kafkajs writes offsets. */
  offset(i: number): string {
    return decimal(this.b.meta[(this.start + i) * ROW])
  }

  /** Row `i`'s value decoded as UTF-8; null for a null value. */
  valueText(i: number): string | null {
    const r = (this.start + i) * ROW
    const vl = this.b.meta[r + 5]
    return vl < 0 ? null : this.b.data.toString('utf8', this.b.meta[r + 4], this.b.meta[r + 4] + vl)
  }

  /**
   * Whether row `i` is an event the bus may parse when its handler first reads it: checked in
   * Rust as it was drained (src/envelope_check.rs), only on the bus's run.
   */
  deferParse(i: number): boolean {
    return this.b.meta[(this.start + i) * ROW + 8] === 1
  }

  /** Row `i`'s headers as strings; a repeated name keeps its last value. */
  headerStrings(i: number): Record<string, string> {
    const { meta, headers } = this.b
    const r = (this.start + i) * ROW
    const out: Record<string, string> = {}
    for (let h = meta[r + 7], end = h + meta[r + 6], slot = 0; h < end; h++, slot += 2) {
      const x = h * 4
      out[this.text(slot, headers[x], headers[x + 1])] = headers[x + 3] < 0 ? '' : this.text(slot + 1, headers[x + 2], headers[x + 3])
    }
    return out
  }

  /**
   * The text of `length` bytes at `start`. The event bus's rows store a header string that
   * repeats across records once (src/consumer_batch.rs), so the string decoded last for the same
   * header slot (name or value of the record's n-th header) is reused when it lies at the same place.
   */
  private text(slot: number, start: number, length: number): string {
    if (this.at[slot] === start && this.length[slot] === length) return this.texts[slot]
    const text = this.b.data.toString('utf8', start, start + length)
    this.at[slot] = start
    this.length[slot] = length
    this.texts[slot] = text
    return text
  }

  private readonly at: number[] = []
  private readonly length: number[] = []
  private readonly texts: string[] = []

  /**
   * Row `i` as the kafkajs message object (for a failure report, which carries its bytes). Its
   * header Buffers may share bytes with other rows' (read-only use only).
   */
  message(i: number): KafkaMessage {
    return buildMessages(this.b, this.start + i, 1)[0]
  }

  /** Every row as kafkajs message objects. */
  messages(): KafkaMessage[] {
    return buildMessages(this.b, this.start, this.count)
  }
}

/**
 * A run option of the event layer's: its `eachBatch` reads `RowsBatch.rows` (batch.ts), whose
 * header strings repeated across records lie at one place (decoded once, `Rows.headerStrings`).
 */
export const READ_ROWS = Symbol('ferrokafka.readRows')

/** A run option of the event bus's: its rows say which events it may parse lazily (`Rows.deferParse`). */
export const CHECK_ENVELOPES = Symbol('ferrokafka.checkEnvelopes')

/** Whether the event layer's run option `option` (`READ_ROWS`, `CHECK_ENVELOPES`) is on in `config`. */
export function rowsOption(config: object, option: symbol): boolean {
  return (config as Record<symbol, unknown>)[option] === true
}
