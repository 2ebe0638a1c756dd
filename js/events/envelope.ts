/** The domain-event envelopes of the seeds, and the error that skips retries. */
import { randomUUID } from 'crypto'
import { KafkaJSNonRetriableError } from '../errors'
import type { KafkaMessage } from '../types'
import { CorrelationTracker } from './correlation'

/** Seed 000's domain event. */
export interface DomainEvent<T = any> {
  id: string
  type: string
  aggregateId: string
  aggregateType: string
  version: number
  data: T
  metadata: EventMetadata
  timestamp: Date | string
}

export interface EventMetadata {
  /** The event's own id, repeated here for idempotency checks (seed 004: `event.metadata.eventId`). */
  eventId?: string
  correlationId?: string
  causationId?: string
  userId?: string
  source?: string
  organizationId?: string
  tenantId?: string
  [key: string]: unknown
}

/** Seed 002's message envelope (`OfficeFlowMessage`). */
export interface EventMessage<T = any> {
  id: string
  type: string
  metadata: {
    correlationId: string
    timestamp: Date | string
    source: string
    version: string
    organizationId?: string
    employeeId?: string
    [key: string]: unknown
  }
  payload: T
}

/**
 * What `sendMessage` takes: an `EventMessage` of which only `type` is required, its `metadata`
 * fields included (seed 002 passes `{ source, organizationId }`); the rest is filled in.
 */
export type EventMessageInput<T = any> = Omit<Partial<EventMessage<T>>, 'metadata'> & { type: string; metadata?: Partial<EventMessage<T>['metadata']> }

/** Throw it from a handler to send the message straight to the DLQ, without retries. */
export class NonRetryableError extends Error {
  readonly retryable = false
  constructor(message: string, readonly cause?: unknown) {
    super(message)
    this.name = 'NonRetryableError'
  }
}

/** Raised by `parseDomainEvent` and schema checks; never retried. */
export class EventValidationError extends NonRetryableError {
  constructor(message: string, readonly issues: { path: string; message: string }[] = []) {
    super(message)
    this.name = 'EventValidationError'
  }
}

/**
 * Seed 004's `createEvent(type, data, metadata?)`: fills `id` (UUID v4), `timestamp` and the
 * correlation id (the current one inside a handler or `CorrelationTracker.run`, else a new one).
 * `metadata.eventId` is the same value as `id`, so seed 004's idempotent consumers can key on
 * `event.metadata.eventId`; a caller-supplied `metadata.eventId` (a stable business key) becomes
 * the id of both, so re-creating the same event yields the same id.
 */
export function createEvent<T = any>(type: string, data: T, metadata: EventMetadata = {}): DomainEvent<T> & { correlationId: string; metadata: { eventId: string } } {
  if (typeof type !== 'string' || type.length === 0) throw new KafkaJSNonRetriableError('Invalid event type: must be a non-empty string', { field: 'type' })
  const given = metadata.eventId
  if (given !== undefined && (typeof given !== 'string' || given.length === 0)) {
    throw new KafkaJSNonRetriableError('Invalid metadata.eventId: must be a non-empty string when given', { field: 'metadata.eventId' })
  }
  const id = given ?? randomUUID()
  const context = CorrelationTracker.context()
  const correlationId = metadata.correlationId ?? context?.correlationId ?? randomUUID()
  const causationId = metadata.causationId ?? context?.eventId
  return {
    id,
    type,
    aggregateId: String((data as any)?.id ?? (data as any)?.aggregateId ?? ''),
    aggregateType: type.split('.')[0] ?? type,
    version: 1,
    data,
    metadata: { ...metadata, eventId: id, correlationId, ...(causationId ? { causationId } : {}) },
    timestamp: new Date().toISOString(),
    correlationId,
  }
}

/** Parses a Kafka message holding a domain event; the error names what is wrong. */
export function parseDomainEvent<T = any>(message: Pick<KafkaMessage, 'value'> | { value: Buffer | string | null }): DomainEvent<T> {
  const raw = message?.value
  return parseDomainEventText<T>(raw === null || raw === undefined ? null : raw.toString())
}

/**
 * `parseDomainEvent` over a value already decoded as text (null: the message has no value).
 * The event bus defers this parse for records src/envelope_check.rs accepted: that check must
 * stay at least as strict as this function, or a deferred event would fail on first use.
 */
export function parseDomainEventText<T = any>(text: string | null): DomainEvent<T> {
  if (text === null) throw new EventValidationError('Cannot parse domain event: the message has no value')
  let parsed: any
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    throw new EventValidationError(`Cannot parse domain event: the value is not JSON (${(e as Error).message})`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new EventValidationError('Cannot parse domain event: the value is not a JSON object')
  const { id, type } = parsed
  if (typeof id === 'string' && id.length > 0 && typeof type === 'string' && type.length > 0 && 'data' in parsed) {
    // The well-formed envelope: no issue list built for it.
    if (parsed.metadata == null) parsed.metadata = {}
    return parsed as DomainEvent<T>
  }
  const issues: { path: string; message: string }[] = []
  for (const field of ['id', 'type'] as const) {
    if (typeof parsed[field] !== 'string' || parsed[field].length === 0) issues.push({ path: field, message: 'must be a non-empty string' })
  }
  if (!('data' in parsed) && !('payload' in parsed)) issues.push({ path: 'data', message: 'is missing' })
  if (issues.length) {
    throw new EventValidationError(`Invalid domain event: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
  }
  if (!('data' in parsed)) parsed.data = parsed.payload
  parsed.metadata = parsed.metadata ?? {}
  return parsed as DomainEvent<T>
}
