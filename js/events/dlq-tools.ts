/** Operator tools over a dead-letter topic: read it, and replay records to their origin. */
import { randomUUID } from 'crypto'
import { Kafka } from '../kafka'
import type { IHeaders, KafkaMessage } from '../types'

export interface DeadLetterRecord {
  partition: number
  offset: string
  key: string | null
  value: Buffer | null
  headers: Record<string, string>
  originalTopic?: string
  errorName?: string
  errorMessage?: string
  attempts?: string
  failedAt?: string
  reprocessCount: number
}

export interface ReplayOptions {
  /** Only records for which this returns true are replayed. */
  filter?: (record: DeadLetterRecord) => boolean
  /** At most this many records. */
  limit?: number
}

function toRecord(partition: number, m: KafkaMessage): DeadLetterRecord {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = (Array.isArray(v) ? v[v.length - 1] : v).toString()
  return {
    partition, offset: m.offset, key: m.key?.toString() ?? null, value: m.value, headers,
    originalTopic: headers['dlq-original-topic'], errorName: headers['dlq-error-name'], errorMessage: headers['dlq-error-message'],
    attempts: headers['dlq-attempts'], failedAt: headers['dlq-failed-at'], reprocessCount: Number(headers['dlq-reprocess-count'] ?? 0) || 0,
  }
}

/** Reads a DLQ topic from its beginning to its current end (at most `limit` records), committing nothing. */
export async function readDeadLetters(kafka: Kafka, topic: string, limit = Infinity): Promise<DeadLetterRecord[]> {
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect())
  const remaining = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high)]))
  const out: DeadLetterRecord[] = []
  if (remaining.size === 0 || limit <= 0) return out
  const consumer = kafka.consumer({ groupId: `ferrokafka-dlq-reader-${randomUUID()}` })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let done!: () => void
  const finished = new Promise<void>((r) => { done = r })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const end = remaining.get(partition)
      if (end === undefined || out.length >= limit) return
      out.push(toRecord(partition, message))
      if (Number(message.offset) + 1 >= end) remaining.delete(partition)
      if (remaining.size === 0 || out.length >= limit) done()
    },
  })
  await finished
  await consumer.disconnect()
  return out.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))
}

/** Sends matching DLQ records back to their original topic, counting the replay; returns how many. */
export async function replayDeadLetters(kafka: Kafka, topic: string, { filter, limit = Infinity }: ReplayOptions = {}): Promise<number> {
  const records = (await readDeadLetters(kafka, topic)).filter((r) => r.originalTopic && (!filter || filter(r))).slice(0, limit)
  if (records.length === 0) return 0
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (const r of records) {
      const headers: IHeaders = { ...r.headers, 'dlq-reprocess-count': String(r.reprocessCount + 1), 'dlq-source-topic': topic }
      await producer.send({ topic: r.originalTopic!, messages: [{ key: r.key, value: r.value, headers }] })
    }
  } finally {
    await producer.disconnect()
  }
  return records.length
}
