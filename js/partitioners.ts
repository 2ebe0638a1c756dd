/**
 * kafkajs's partitioner and assigner names.
 *
 * `DefaultPartitioner` / `JavaCompatiblePartitioner` are recognised by the producer and run inside
 * librdkafka (`partitioner=murmur2_random`, the same murmur2 as Java and kafkajs), so choosing them
 * costs no JavaScript per message. Each is also a working kafkajs partitioner when called, so a
 * custom partitioner may delegate to it. `LegacyPartitioner` hashes with kafkajs 1.x's
 * floating-point murmur2, which librdkafka does not have: it runs in JavaScript while a batch is
 * packed, like any custom partitioner.
 */
import type { ICustomPartitioner, Message, PartitionMetadata } from './types'

const SEED = 0x9747b28c
const M = 0x5bd1e995

const keyBytes = (key: unknown): Buffer => (Buffer.isBuffer(key) ? key : Buffer.from(String(key)))

/** Kafka's murmur2 in 32-bit integer arithmetic (Java's `Utils.murmur2`). */
export function murmur2(key: Buffer | string): number {
  const data = keyBytes(key)
  const len = data.length
  let h = (SEED ^ len) | 0
  const whole = len & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const rest = len & 3
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2] << 16
    if (rest >= 2) h ^= data[whole + 1] << 8
    h ^= data[whole]
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/**
 * kafkajs 1.x's murmur2: the same steps in double-precision arithmetic, where a product above
 * 2^53 loses its low bits before the next 32-bit XOR. Kept bit for bit so keys keep the
 * partitions they had under kafkajs's `LegacyPartitioner`.
 */
export function legacyMurmur2(key: Buffer | string): number {
  const data = keyBytes(key)
  const len = data.length
  const byte = (i: number) => (i < len ? data[i] : 0)
  let h: number = SEED ^ len
  // The original loops while i < len / 4 (a fraction): a partial last block is mixed in here,
  // zero-padded, as well as by the tail step below.
  for (let i = 0; i < len / 4; i++) {
    const at = i * 4
    let k: number = byte(at) + (byte(at + 1) << 8) + (byte(at + 2) << 16) + (byte(at + 3) << 24)
    k *= M
    k ^= k >>> 24
    k *= M
    h *= M
    h ^= k
  }
  const whole = len & ~3
  const rest = len & 3
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2] << 16
    if (rest >= 2) h ^= data[whole + 1] << 8
    h ^= data[whole]
    h *= M
  }
  h ^= h >>> 13
  h *= M
  h ^= h >>> 15
  return h
}

const toPositive = (x: number) => x & 0x7fffffff

type PartitionArgs = { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }

/**
 * kafkajs's partitioning rule on a given hash: an explicit partition wins, a key picks
 * `hash % partitions`, a keyless message goes round-robin over partitions that have a leader.
 */
function hashPartitioner(hash: (key: Buffer | string) => number) {
  return () => {
    const counters = new Map<string, number>()
    return ({ topic, partitionMetadata, message }: PartitionArgs): number => {
      if (message.partition !== null && message.partition !== undefined) return message.partition
      if (message.key !== null && message.key !== undefined) return toPositive(hash(message.key as Buffer | string)) % partitionMetadata.length
      const next = (counters.get(topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1
      counters.set(topic, next)
      const up = partitionMetadata.filter((p) => p.leader >= 0)
      if (up.length > 0) return up[toPositive(next) % up.length].partitionId
      return toPositive(next) % partitionMetadata.length
    }
  }
}

/** A partitioner the producer may replace by librdkafka's own `partitioner` setting. */
export type NamedPartitioner = ICustomPartitioner & { partitionerName?: 'murmur2' | 'legacy' }

const named = (name: 'murmur2' | 'legacy', create: ICustomPartitioner): NamedPartitioner =>
  Object.assign(create, { partitionerName: name })

export const Partitioners = {
  DefaultPartitioner: named('murmur2', hashPartitioner(murmur2)),
  JavaCompatiblePartitioner: named('murmur2', hashPartitioner(murmur2)),
  LegacyPartitioner: named('legacy', hashPartitioner(legacyMurmur2)),
}

const assigner = (name: string) => Object.assign(() => ({ name, version: 0 }), { assignerName: name })

/** kafkajs's built-in assigners map to librdkafka's strategies of the same name. */
export const PartitionAssigners = {
  roundRobin: assigner('roundrobin'),
  range: assigner('range'),
  cooperativeSticky: assigner('cooperative-sticky'),
}
