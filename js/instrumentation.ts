/**
 * kafkajs-style instrumentation events: `client.on(event, listener)` returns a remover. Every
 * event is also published on `diagnostics_channel` as `ferrokafka:<event name>` (see diagnostics.ts).
 */
import { EventEmitter } from 'events'
import { CHANNEL_PREFIX, channelFor } from './diagnostics'

export interface InstrumentationEvent<T = unknown> {
  id: number
  type: string
  timestamp: number
  payload: T
}

let nextId = 0

export class Instrumentation {
  private readonly emitter = new EventEmitter()
  /** Told when listeners of an event come or go (events that cost something to produce). */
  private readonly watchers = new Map<string, () => void>()
  constructor(private readonly known: Record<string, string>, private readonly owner: string) {}

  /** Calls `changed` whenever a listener of one of `names` is added or removed. */
  onListen(names: string[], changed: () => void): void {
    for (const name of names) this.watchers.set(name, changed)
  }

  /** Whether anything observes one of `names` (a listener, or a diagnostics_channel subscriber). */
  listening(...names: string[]): boolean {
    return names.some((name) => this.emitter.listenerCount(name) > 0 || channelFor(CHANNEL_PREFIX + name).hasSubscribers)
  }

  on(eventName: string, listener: (event: InstrumentationEvent<any>) => void): () => void {
    if (!Object.values(this.known).includes(eventName)) {
      const { KafkaJSNonRetriableError } = require('./errors')
      throw new KafkaJSNonRetriableError(`Event name should be one of ${this.owner}.events, got ${eventName}`, { field: 'eventName' })
    }
    const wrapped = (event: InstrumentationEvent) => {
      // A listener's failure must never break the client that emitted the event.
      Promise.resolve().then(() => listener(event)).catch(() => {})
    }
    this.emitter.on(eventName, wrapped)
    this.watchers.get(eventName)?.()
    return () => {
      this.emitter.removeListener(eventName, wrapped)
      this.watchers.get(eventName)?.()
    }
  }

  // No payload given stays undefined, as kafkajs's CONNECT, DISCONNECT and STOP events have it.
  emit(eventName: string, payload?: unknown): void {
    const channel = channelFor(CHANNEL_PREFIX + eventName)
    const listened = this.emitter.listenerCount(eventName) > 0
    // The common case (nobody observes) allocates nothing.
    if (!listened && !channel.hasSubscribers) return
    const event = { id: nextId++, type: eventName, timestamp: Date.now(), payload }
    if (listened) this.emitter.emit(eventName, event)
    if (channel.hasSubscribers) channel.publish(event)
  }
}
