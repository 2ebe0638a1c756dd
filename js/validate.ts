/**
 * JavaScript-type checks of public arguments, so a wrong type is a kafkajs error naming the
 * argument instead of a TypeError or an N-API conversion message. Values are never echoed (they
 * may be secrets); value rules (ranges, librdkafka names) stay in Rust's `src/config.rs`.
 */
import { KafkaJSNonRetriableError } from './errors'

/** The error every check throws: `Invalid <field>: <problem>`, with `field` set. */
export function invalid(field: string, problem: string): KafkaJSNonRetriableError {
  return new KafkaJSNonRetriableError(`Invalid ${field}: ${problem}`, { field, code: 'ERR_INVALID_ARGUMENT' })
}

const given = (v: unknown) => v !== undefined && v !== null

export function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}

/** An options object; `undefined` passes as `{}` when `optional`. */
export function options<T>(v: T | undefined, field: string, optional = true): T {
  if (v === undefined && optional) return {} as T
  if (!isPlainObject(v)) throw invalid(field, 'must be an object')
  return v
}

export function fn(v: unknown, field: string): void {
  if (given(v) && typeof v !== 'function') throw invalid(field, 'must be a function')
}

export function bool(v: unknown, field: string): void {
  if (given(v) && typeof v !== 'boolean') throw invalid(field, 'must be a boolean')
}

export function num(v: unknown, field: string): void {
  if (given(v) && (typeof v !== 'number' || !Number.isFinite(v))) throw invalid(field, 'must be a number')
}

/** A required non-empty string. */
export function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(field, 'must be a non-empty string')
  return v
}

/**
 * An integer-string partition ('1') as the number it names, anything else as given for the
 * caller's check: kafkajs writes partitions into its requests as they come, and its own
 * uncommittedOffsets() lists them as strings (LegacyPartitioner and NestJS emits pass them on).
 */
export function partitionNumber(v: unknown): unknown {
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
}

/** A required partition number. */
export function partition(v: unknown, field: string): number {
  const n = partitionNumber(v)
  if (!Number.isInteger(n) || (n as number) < 0) throw invalid(field, 'must be a non-negative integer')
  return n as number
}

/** An integer (optional unless `required`), range checks left to Rust. */
export function int(v: unknown, field: string, required = false): void {
  if (!given(v) && !required) return
  if (!Number.isInteger(v)) throw invalid(field, 'must be an integer')
}

/** kafkajs offsets are decimal strings; integral numbers and bigints are accepted too. */
export function offset(v: unknown, field: string): string {
  if (typeof v === 'string' && v.length > 0) return v
  if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') return String(v)
  throw invalid(field, 'must be an offset (a decimal string)')
}

export function array<T = unknown>(v: unknown, field: string): T[] {
  if (!Array.isArray(v)) throw invalid(field, 'must be an array')
  return v as T[]
}

export function strings(v: unknown, field: string): string[] {
  const list = array(v, field)
  list.forEach((s, i) => str(s, `${field}[${i}]`))
  return list as string[]
}

/** `[{ topic, partitions? }]`, as `pause()` / `resume()` take. */
export function topicPartitionList(v: unknown, field: string): { topic: string; partitions?: number[] }[] {
  return array(v, field).map((t, i) => {
    const at = `${field}[${i}]`
    if (!isPlainObject(t)) throw invalid(at, 'must be an object { topic, partitions? }')
    str(t.topic, `${at}.topic`)
    if (given(t.partitions)) array(t.partitions, `${at}.partitions`).forEach((p, j) => partition(p, `${at}.partitions[${j}]`))
    return { topic: t.topic as string, partitions: given(t.partitions) ? (t.partitions as number[]) : undefined }
  })
}

/** `[{ topic, partition, offset }]`, as `commitOffsets()` / `setOffsets()` take. */
export function topicPartitionOffsets(v: unknown, field: string): { topic: string; partition: number; offset: string }[] {
  return array(v, field).map((o, i) => {
    const at = `${field}[${i}]`
    if (!isPlainObject(o)) throw invalid(at, 'must be an object { topic, partition, offset }')
    return { topic: str(o.topic, `${at}.topic`), partition: partition(o.partition, `${at}.partition`), offset: offset(o.offset, `${at}.offset`) }
  })
}

/**
 * kafkajs's offsets by topic, `[{ topic, partitions: [{ partition, offset }] }]` (what
 * `commitOffsetsIfNecessary(offsets)` and `transaction.sendOffsets()` take), as one flat list.
 */
export function topicOffsets(v: unknown, field: string): { topic: string; partition: number; offset: string }[] {
  const flat = array(v, field).flatMap((t, i) => {
    const at = `${field}[${i}]`
    if (!isPlainObject(t)) throw invalid(at, 'must be an object { topic, partitions }')
    return array<Record<string, unknown>>(t.partitions, `${at}.partitions`).map((p) => ({ topic: t.topic, ...p }))
  })
  return topicPartitionOffsets(flat, field)
}

/** kafkajs `retry` options: an object of numbers and an optional `restartOnFailure` function. */
export function retry(v: unknown, field: string): void {
  if (!given(v)) return
  options(v, field)
  const r = v as Record<string, unknown>
  for (const k of ['maxRetryTime', 'initialRetryTime', 'factor', 'multiplier', 'retries']) num(r[k], `${field}.${k}`)
  fn(r.restartOnFailure, `${field}.restartOnFailure`)
}
