/**
 * A producer's JavaScript partitioner (kafkajs `createPartitioner`): called once per message while
 * the batch is packed, before the one native call, with kafkajs's `{ topic, partitionMetadata,
 * message }`. The built-in murmur2 partitioners never get here: librdkafka runs them.
 */
import type { NativeAdmin } from '../binding'
import { call, KafkaJSNonRetriableError } from './errors'
import { partitionNumber } from './validate'
import type { NamedPartitioner } from './partitioners'
import type { ICustomPartitioner, Message, PartitionMetadata, TopicMessages } from './types'

/** Picks a message's partition while packing: `(topic, message, index) => partition`. */
export type Chooser = (topic: string, message: Message, index: number) => number

/** Where topic metadata comes from: the producer's own client once it exposes it, else an admin client. */
export interface MetadataSource {
  fetchTopicMetadata(topics: string[]): Promise<{ topics: { name: string; partitions: PartitionMetadata[] }[] }>
  close(): Promise<void>
}

/** A lazily connected admin client kept by the producer for metadata only. */
export function adminMetadataSource(open: () => Promise<NativeAdmin>): MetadataSource {
  let admin: Promise<NativeAdmin> | null = null
  return {
    async fetchTopicMetadata(topics) {
      admin ??= open()
      const a = await admin
      return call(() => a.fetchTopicMetadata(topics))
    },
    async close() {
      if (!admin) return
      const a = await admin.catch(() => null)
      admin = null
      if (a) await call(() => a.disconnect())
    },
  }
}

/** True when `createPartitioner` is absent or one librdkafka computes itself. */
export function isNativePartitioner(create: ICustomPartitioner | undefined): boolean {
  return create === undefined || (create as NamedPartitioner).partitionerName === 'murmur2'
}

/** Holds the user's partitioner and the topic metadata it is given, refreshed after `maxAgeMs`. */
export class JsPartitioning {
  private readonly partition: ReturnType<ICustomPartitioner>
  private readonly cache = new Map<string, { at: number; partitions: PartitionMetadata[] }>()

  constructor(create: ICustomPartitioner, private readonly source: MetadataSource, private readonly maxAgeMs: number) {
    if (typeof create !== 'function') {
      throw new KafkaJSNonRetriableError('Invalid option `createPartitioner`: must be a function returning a partitioner', { field: 'createPartitioner' })
    }
    const partition = create()
    if (typeof partition !== 'function') {
      throw new KafkaJSNonRetriableError('Invalid option `createPartitioner`: it must return a function ({ topic, partitionMetadata, message }) => number', { field: 'createPartitioner' })
    }
    this.partition = partition
  }

  /**
   * The chooser for a batch; first loads, in one request, the metadata of every topic of the batch
   * that is missing or stale. Synchronous when the cache is fresh, so a send issued just before
   * `disconnect()` still reaches the native producer in the same tick.
   */
  prepare(topicMessages: TopicMessages[]): Chooser | Promise<Chooser> {
    const now = Date.now()
    const stale = [...new Set(topicMessages.map((t) => t?.topic))].filter((t): t is string => {
      if (typeof t !== 'string' || t.length === 0) return false
      const hit = this.cache.get(t)
      return !hit || now - hit.at > this.maxAgeMs
    })
    const chooser: Chooser = (topic, message, index) => this.choose(topic, message, index)
    if (stale.length === 0) return chooser
    return this.source.fetchTopicMetadata(stale).then(({ topics }) => {
      for (const t of topics) this.cache.set(t.name, { at: now, partitions: [...t.partitions].sort((a, b) => a.partitionId - b.partitionId) })
      return chooser
    })
  }

  private choose(topic: string, message: Message, index: number): number {
    const partitionMetadata = this.cache.get(topic)?.partitions
    if (!partitionMetadata || partitionMetadata.length === 0) {
      throw new KafkaJSNonRetriableError(`Producing to topic "${topic}" without metadata`, { field: 'topic' })
    }
    const p = partitionNumber(this.partition({ topic, partitionMetadata, message })) as number
    if (!Number.isInteger(p) || p < 0 || p >= partitionMetadata.length) {
      throw new KafkaJSNonRetriableError(
        `Invalid partition from createPartitioner for messages[${index}] of "${topic}": expected an integer from 0 to ${partitionMetadata.length - 1}, got ${String(p)}`,
        { field: 'createPartitioner' },
      )
    }
    return p
  }

  close(): Promise<void> {
    return this.source.close()
  }
}
