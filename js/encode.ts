/**
 * Packs a send's records into one Buffer for a single native call (layout in
 * `src/producer.rs`, `PackedRecords`). Validation here names the message and field at fault.
 */
import { KafkaJSNonRetriableError } from './errors'
import { partitionNumber } from './validate'
import type { Chooser } from './partitioning'
import type { IHeaders, Message, TopicMessages } from './types'

export interface PackedSend {
  topics: string[]
  counts: number[]
  data: Buffer
}

type Bytes = Buffer | string | null

function checkBytes(v: unknown, field: string): Bytes {
  if (v === null || v === undefined) return null
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  throw new KafkaJSNonRetriableError(`Invalid ${field}: expected a Buffer, a string or null, got ${typeof v}`, { field })
}

const size = (b: Bytes) => (b === null ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.length)

function headerList(h: IHeaders | undefined, field: string): [string, Bytes][] {
  if (h === undefined || h === null) return []
  if (typeof h !== 'object') throw new KafkaJSNonRetriableError(`Invalid ${field}: must be an object`, { field })
  const out: [string, Bytes][] = []
  for (const key of Object.keys(h)) {
    const v = h[key]
    if (v === undefined) continue
    for (const item of Array.isArray(v) ? v : [v]) out.push([key, checkBytes(item, `${field}.${key}`) ?? ''])
  }
  return out
}

interface Checked {
  partition: number
  timestamp: number
  key: Bytes
  value: Bytes
  headers: [string, Bytes][]
}

function check(m: Message, i: number, topic: string, choose?: Chooser): Checked {
  if (!m || typeof m !== 'object') throw new KafkaJSNonRetriableError(`Invalid messages[${i}]: must be an object`, { field: `messages[${i}]` })
  // As kafkajs: a tombstone says `value: null`; a missing value is a mistake, not a delete.
  if (m.value === undefined) throw new KafkaJSNonRetriableError(`Invalid message without value for topic "${topic}": messages[${i}] (a tombstone has value: null)`, { field: `messages[${i}].value` })
  let partition = -1
  if (choose) {
    partition = choose(topic, m, i)
  } else if (m.partition !== undefined && m.partition !== null) {
    const n = partitionNumber(m.partition)
    if (!Number.isInteger(n) || (n as number) < 0) {
      throw new KafkaJSNonRetriableError(`Invalid messages[${i}].partition: must be a non-negative integer`, { field: `messages[${i}].partition` })
    }
    partition = n as number
  }
  let timestamp = -1
  if (m.timestamp !== undefined && m.timestamp !== null) {
    timestamp = Number(m.timestamp)
    if (!Number.isFinite(timestamp) || timestamp < 0) {
      throw new KafkaJSNonRetriableError(`Invalid messages[${i}].timestamp: must be epoch milliseconds`, { field: `messages[${i}].timestamp` })
    }
  }
  return {
    partition,
    timestamp,
    key: checkBytes(m.key, `messages[${i}].key`),
    value: checkBytes(m.value, `messages[${i}].value`),
    headers: m.headers ? headerList(m.headers, `messages[${i}].headers`) : [],
  }
}

/** `choose`, when given, picks every message's partition (a JavaScript partitioner). */
export function packSend(topicMessages: TopicMessages[], choose?: Chooser): PackedSend {
  const topics: string[] = []
  const counts: number[] = []
  const checked: Checked[] = []
  let total = 0
  for (let t = 0; t < topicMessages.length; t++) {
    if (!topicMessages[t] || typeof topicMessages[t] !== 'object') {
      throw new KafkaJSNonRetriableError(`Invalid topicMessages[${t}]: must be an object { topic, messages }`, { field: `topicMessages[${t}]` })
    }
    const { topic, messages } = topicMessages[t]
    if (typeof topic !== 'string' || topic.length === 0) {
      throw new KafkaJSNonRetriableError(`Invalid topic: expected a non-empty string, got ${JSON.stringify(topic) ?? typeof topic}`, { field: 'topic' })
    }
    if (!Array.isArray(messages)) {
      throw new KafkaJSNonRetriableError(`Invalid messages array [${String(messages)}] for topic "${topic}"`, { field: 'messages' })
    }
    topics.push(topic)
    counts.push(messages.length)
    for (let i = 0; i < messages.length; i++) {
      const c = check(messages[i], i, topic, choose)
      total += 24 + size(c.key) + size(c.value)
      for (const [name, v] of c.headers) total += 8 + Buffer.byteLength(name) + size(v)
      checked.push(c)
    }
  }
  const data = Buffer.allocUnsafe(total)
  let pos = 0
  const bytes = (b: Bytes) => {
    if (b === null) {
      pos = data.writeInt32LE(-1, pos)
    } else if (typeof b === 'string') {
      const n = data.write(b, pos + 4)
      data.writeInt32LE(n, pos)
      pos += 4 + n
    } else {
      data.writeInt32LE(b.length, pos)
      b.copy(data, pos + 4)
      pos += 4 + b.length
    }
  }
  for (const c of checked) {
    pos = data.writeInt32LE(c.partition, pos)
    pos = data.writeDoubleLE(c.timestamp, pos)
    bytes(c.key)
    bytes(c.value)
    pos = data.writeInt32LE(c.headers.length, pos)
    for (const [name, v] of c.headers) {
      bytes(name)
      bytes(v)
    }
  }
  return { topics, counts, data: pos === total ? data : data.subarray(0, pos) }
}
