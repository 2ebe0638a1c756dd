/**
 * Sends made in the same tick reach the native producer in one call: a burst such as
 * `Promise.all(items.map((m) => producer.send(m)))` crosses the boundary once and its records
 * enter librdkafka's queue together (so they share produce requests), while a lone awaited send
 * waits for nothing but the end of the current microtask queue.
 */
import type { NativeProducer, SendOptions } from '../binding'
import type { PackedSend } from './encode'
import { callSync, fromNative } from './errors'
import type { RecordMetadata } from './types'

interface QueuedSend {
  packed: PackedSend
  resolve: (metadata: RecordMetadata[]) => void
  reject: (error: unknown) => void
}

/** The sends of one tick that share a native client and per-send options. */
interface SendGroup {
  client: NativeProducer
  options: SendOptions | undefined
  sends: QueuedSend[]
}

export class SendQueue {
  private readonly groups = new Map<string, SendGroup>()
  private scheduled = false

  /** Queues a packed send; it goes out with the others of this tick, in the order they came. */
  add(client: NativeProducer, packed: PackedSend, options: SendOptions | undefined): Promise<RecordMetadata[]> {
    const key = options ? `${options.acks}/${options.compression}` : ''
    let group = this.groups.get(key)
    if (group && group.client !== client) {
      this.flush()
      group = undefined
    }
    if (!group) {
      group = { client, options, sends: [] }
      this.groups.set(key, group)
    }
    const queued = group.sends
    const result = new Promise<RecordMetadata[]>((resolve, reject) => queued.push({ packed, resolve, reject }))
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(() => this.flush())
    }
    return result
  }

  /** Hands every queued send to the native producer now (before a disconnect, for one). */
  flush(): void {
    this.scheduled = false
    const groups = [...this.groups.values()]
    this.groups.clear()
    for (const group of groups) sendGroup(group)
  }
}

function sendGroup({ client, options, sends }: SendGroup): void {
  const one = sends.length === 1 ? sends[0].packed : null
  const topics = one ? one.topics : sends.flatMap((s) => s.packed.topics)
  const counts = one ? one.counts : sends.flatMap((s) => s.packed.counts)
  const data = one ? one.data : Buffer.concat(sends.map((s) => s.packed.data))
  let promises: Promise<RecordMetadata[]>[]
  try {
    promises = callSync(() => client.send(topics, counts, sends.map((s) => s.packed.topics.length), data, options))
  } catch (e) {
    for (const s of sends) s.reject(e)
    return
  }
  sends.forEach((s, i) => promises[i].then(s.resolve, (e: unknown) => s.reject(fromNative(e))))
}
