/** Builds kafkajs message objects from one packed native batch (see src/consumer_batch.rs). */
import type { FetchedBatch } from '../binding'
import type { IHeaders, KafkaMessage } from './types'

const ROW = 8

export function buildMessages(b: FetchedBatch, start: number, count: number): KafkaMessage[] {
  const { data, meta, headers } = b
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
        const value = headers[x + 3] < 0 ? Buffer.alloc(0) : data.subarray(headers[x + 2], headers[x + 2] + headers[x + 3])
        const prev = hs[name]
        hs[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
      }
    }
    out[i] = {
      magicByte: 2,
      attributes: 0,
      timestamp: String(meta[r + 1]),
      offset: String(meta[r]),
      key: kl < 0 ? null : data.subarray(meta[r + 2], meta[r + 2] + kl),
      value: vl < 0 ? null : data.subarray(meta[r + 4], meta[r + 4] + vl),
      headers: hs ?? {},
      isControlRecord: false,
      batchContext: null,
      size: (kl > 0 ? kl : 0) + (vl > 0 ? vl : 0),
    }
  }
  return out
}
