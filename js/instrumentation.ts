/** kafkajs-style instrumentation events: `client.on(event, listener)` returns a remover. */
import { EventEmitter } from 'events'

export interface InstrumentationEvent<T = unknown> {
  id: number
  type: string
  timestamp: number
  payload: T
}

let nextId = 0

export class Instrumentation {
  private readonly emitter = new EventEmitter()
  constructor(private readonly known: Record<string, string>, private readonly owner: string) {}

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
    return () => this.emitter.removeListener(eventName, wrapped)
  }

  emit(eventName: string, payload: unknown = {}): void {
    if (this.emitter.listenerCount(eventName) === 0) return
    this.emitter.emit(eventName, { id: nextId++, type: eventName, timestamp: Date.now(), payload })
  }
}
