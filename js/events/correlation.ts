/** Correlation ids that follow the async work of a handler (AsyncLocalStorage). */
import { AsyncLocalStorage } from 'async_hooks'
import { randomUUID } from 'crypto'

export interface CorrelationContext {
  correlationId: string
  /** The id of the event being handled: the causationId of events published meanwhile. */
  eventId?: string
  /** W3C trace context carried from the handled message. */
  traceparent?: string
}

const storage = new AsyncLocalStorage<CorrelationContext>()

/**
 * A handler's context. A record that carried no correlation id gets one made on first read, so
 * the many handlers that never ask cost no UUID; the event id is read from the handled event only
 * when something asks (an event published meanwhile), as the bus parses events lazily.
 */
class ScopeContext implements CorrelationContext {
  #id: string | undefined
  #event: { readonly id?: string } | undefined
  #eventId: string | undefined
  constructor(id: string | undefined, event: { readonly id?: string } | undefined, readonly traceparent?: string) {
    this.#id = id
    this.#event = event
  }
  get correlationId(): string {
    return (this.#id ??= randomUUID())
  }
  set correlationId(id: string) {
    this.#id = id
  }
  /** Read once, then the event is let go (an unparsed one holds its fetched batch). */
  get eventId(): string | undefined {
    if (this.#event !== undefined) {
      this.#eventId = this.#event.id
      this.#event = undefined
    }
    return this.#eventId
  }
}

/** Runs a handler of `event` (its id becomes the causationId of events published meanwhile). */
export function runHandler<T>(correlationId: string | undefined, event: { readonly id?: string } | undefined, traceparent: string | undefined, fn: () => T): T {
  return storage.run(new ScopeContext(correlationId || undefined, event, traceparent), fn)
}

/** Seed 002's `CorrelationTracker`. */
export const CorrelationTracker = {
  /** Runs `fn` with `correlationId` (a new one if omitted) as the current correlation id. */
  run<T>(correlationId: string | undefined, fn: () => T, extra: Omit<CorrelationContext, 'correlationId'> = {}): T {
    return storage.run(correlationId ? { correlationId, ...extra } : new ScopeContext(undefined, { id: extra.eventId }, extra.traceparent), fn)
  },
  /** The current correlation id, if inside `run` or a handler. */
  getCorrelationId(): string | undefined {
    return storage.getStore()?.correlationId
  },
  context(): CorrelationContext | undefined {
    return storage.getStore()
  },
  /** A new correlation id. */
  generate(): string {
    return randomUUID()
  },
}
