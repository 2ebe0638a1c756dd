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
 * The context of a handler whose record carried no correlation id: the id is made on first
 * read, so the many handlers that never ask for one cost no UUID.
 */
class FreshContext implements CorrelationContext {
  private id: string | undefined
  constructor(readonly eventId?: string, readonly traceparent?: string) {}
  get correlationId(): string {
    return (this.id ??= randomUUID())
  }
}

/** Seed 002's `CorrelationTracker`. */
export const CorrelationTracker = {
  /** Runs `fn` with `correlationId` (a new one if omitted) as the current correlation id. */
  run<T>(correlationId: string | undefined, fn: () => T, extra: Omit<CorrelationContext, 'correlationId'> = {}): T {
    return storage.run(correlationId ? { correlationId, ...extra } : new FreshContext(extra.eventId, extra.traceparent), fn)
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
