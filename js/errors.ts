/**
 * kafkajs's error classes, with the same names and hierarchy, plus ferrokafka's fields:
 * `code` (librdkafka's error name, e.g. `MSG_SIZE_TOO_LARGE`), `retriable`, and `field` (the option
 * at fault, for configuration errors). Native errors become these in {@link fromNative} only.
 */

const MARKER = '@@ferrokafka@@'

export interface KafkaJSErrorOptions {
  retriable?: boolean
  cause?: Error
  code?: string
  field?: string
}

/** Base class of every error ferrokafka throws. */
export class KafkaJSError extends Error {
  readonly retriable: boolean
  readonly helpUrl?: string
  readonly cause?: Error
  /** librdkafka's error name (`UNKNOWN_TOPIC_OR_PART`) or a ferrokafka code (`ERR_CONFIG`). */
  code?: string
  /** The option or argument at fault, for validation errors. */
  field?: string
  constructor(e: Error | string, { retriable = true, cause, code, field }: KafkaJSErrorOptions = {}) {
    super(typeof e === 'string' ? e : e.message)
    this.name = 'KafkaJSError'
    this.retriable = retriable
    if (cause) this.cause = cause
    if (code) this.code = code
    if (field) this.field = field
  }
}

export class KafkaJSNonRetriableError extends KafkaJSError {
  constructor(e: Error | string, opts: KafkaJSErrorOptions = {}) {
    super(e, { ...opts, retriable: false })
    this.name = 'KafkaJSNonRetriableError'
  }
}

/** An error code returned by a broker; `type` is its name as in kafkajs. */
export class KafkaJSProtocolError extends KafkaJSError {
  type: string
  constructor(e: Error | string, opts: KafkaJSErrorOptions = {}) {
    super(e, opts)
    this.name = 'KafkaJSProtocolError'
    this.type = opts.code ?? 'UNKNOWN'
  }
}

export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  topic?: string
  partition?: number
  constructor(e: Error | string, opts: KafkaJSErrorOptions & { topic?: string; partition?: number } = {}) {
    super(e, opts)
    this.name = 'KafkaJSOffsetOutOfRange'
    this.topic = opts.topic
    this.partition = opts.partition
  }
}

export class KafkaJSMemberIdRequired extends KafkaJSProtocolError {
  memberId?: string
  constructor(e: Error | string, opts: KafkaJSErrorOptions & { memberId?: string } = {}) {
    super(e, opts)
    this.name = 'KafkaJSMemberIdRequired'
    this.memberId = opts.memberId
  }
}

export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  retryCount: number
  retryTime: number
  constructor(e: Error | string, opts: KafkaJSErrorOptions & { retryCount?: number; retryTime?: number } = {}) {
    super(e, { ...opts, cause: opts.cause ?? (e instanceof Error ? e : undefined) })
    this.name = 'KafkaJSNumberOfRetriesExceeded'
    this.retryCount = opts.retryCount ?? 0
    this.retryTime = opts.retryTime ?? 0
  }
}

export class KafkaJSConnectionError extends KafkaJSError {
  broker?: string
  constructor(e: Error | string, opts: KafkaJSErrorOptions & { broker?: string } = {}) {
    super(e, { retriable: true, ...opts })
    this.name = 'KafkaJSConnectionError'
    this.broker = opts.broker
  }
}

export class KafkaJSConnectionClosedError extends KafkaJSConnectionError {
  host?: string
  port?: number
  constructor(e: Error | string, opts: KafkaJSErrorOptions & { host?: string; port?: number } = {}) {
    super(e, opts)
    this.name = 'KafkaJSConnectionClosedError'
    this.host = opts.host
    this.port = opts.port
  }
}

export class KafkaJSRequestTimeoutError extends KafkaJSError {
  constructor(e: Error | string, opts: KafkaJSErrorOptions = {}) {
    super(e, { retriable: true, ...opts })
    this.name = 'KafkaJSRequestTimeoutError'
  }
}

type ErrorClass = new (e: Error | string, opts?: KafkaJSErrorOptions) => KafkaJSError

/** A kafkajs error class `name` deriving from `Base`, as kafkajs's errors module defines it. */
function derive(name: string, Base: ErrorClass, instanceName = name): ErrorClass {
  const cls = class extends Base {
    constructor(e: Error | string, opts: KafkaJSErrorOptions = {}) {
      super(e, opts)
      this.name = instanceName
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

/** kafkajs's two errors that are plain `Error`s, not `KafkaJSError`s. */
function plain(name: string, instanceName = name) {
  const cls = class extends Error {
    constructor(message?: string | Error, readonly errors: unknown[] = []) {
      super(typeof message === 'string' ? message : message?.message)
      this.name = instanceName
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

export const KafkaJSMetadataNotLoaded = derive('KafkaJSMetadataNotLoaded', KafkaJSError)
export const KafkaJSTopicMetadataNotLoaded = derive('KafkaJSTopicMetadataNotLoaded', KafkaJSMetadataNotLoaded)
export const KafkaJSStaleTopicMetadataAssignment = derive('KafkaJSStaleTopicMetadataAssignment', KafkaJSError)
export const KafkaJSServerDoesNotSupportApiKey = derive('KafkaJSServerDoesNotSupportApiKey', KafkaJSNonRetriableError)
export const KafkaJSBrokerNotFound = derive('KafkaJSBrokerNotFound', KafkaJSError)
export const KafkaJSPartialMessageError = derive('KafkaJSPartialMessageError', KafkaJSNonRetriableError)
export const KafkaJSSASLAuthenticationError = derive('KafkaJSSASLAuthenticationError', KafkaJSNonRetriableError)
export const KafkaJSGroupCoordinatorNotFound = derive('KafkaJSGroupCoordinatorNotFound', KafkaJSNonRetriableError)
export const KafkaJSNotImplemented = derive('KafkaJSNotImplemented', KafkaJSNonRetriableError)
export const KafkaJSTimeout = derive('KafkaJSTimeout', KafkaJSNonRetriableError)
export const KafkaJSLockTimeout = derive('KafkaJSLockTimeout', KafkaJSTimeout)
export const KafkaJSUnsupportedMagicByteInMessageSet = derive('KafkaJSUnsupportedMagicByteInMessageSet', KafkaJSNonRetriableError)
export const KafkaJSDeleteGroupsError = derive('KafkaJSDeleteGroupsError', KafkaJSError)
/** As kafkajs: built from the partitions' results, retriable only if every failure is. */
export class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  readonly partitions: { error?: { retriable?: boolean } | null }[]
  constructor({ partitions }: { partitions: { error?: { retriable?: boolean } | null }[] }) {
    super('Error while deleting records', { retriable: partitions.filter((p) => p.error != null).every((p) => p.error!.retriable === true) })
    this.name = 'KafkaJSDeleteTopicRecordsError'
    this.partitions = partitions
  }
}
export const KafkaJSInvariantViolation = derive('KafkaJSInvariantViolation', KafkaJSNonRetriableError)
// kafkajs never renames these instances; code matching on `error.name` sees what kafkajs gives.
export const KafkaJSInvalidVarIntError = derive('KafkaJSInvalidVarIntError', KafkaJSNonRetriableError, 'KafkaJSNonRetriableError')
export const KafkaJSInvalidLongError = derive('KafkaJSInvalidLongError', KafkaJSNonRetriableError, 'KafkaJSNonRetriableError')
export const KafkaJSCreateTopicError = derive('KafkaJSCreateTopicError', KafkaJSProtocolError)
export const KafkaJSAggregateError = plain('KafkaJSAggregateError')
export const KafkaJSFetcherRebalanceError = plain('KafkaJSFetcherRebalanceError', 'Error')
export const KafkaJSNoBrokerAvailableError = derive('KafkaJSNoBrokerAvailableError', KafkaJSError)
export const KafkaJSAlterPartitionReassignmentsError = derive('KafkaJSAlterPartitionReassignmentsError', KafkaJSProtocolError)

const byName: Record<string, new (e: string, o: KafkaJSErrorOptions) => KafkaJSError> = {
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSConnectionError,
  KafkaJSRequestTimeoutError,
  // A refused SASL login (src/handshake.rs, error.rs's classify).
  KafkaJSSASLAuthenticationError,
}

/** True when `e` is one of ferrokafka's (kafkajs's) errors. */
export const isKafkaJSError = (e: unknown): e is KafkaJSError => e instanceof KafkaJSError

/** kafkajs's check for errors that mean the group is rebalancing. */
export const isRebalancing = (e: { type?: string; code?: string }): boolean =>
  e?.type === 'REBALANCE_IN_PROGRESS' || e?.type === 'NOT_COORDINATOR_FOR_GROUP' || e?.type === 'ILLEGAL_GENERATION'
  || e?.code === 'REBALANCE_IN_PROGRESS' || e?.code === 'NOT_COORDINATOR' || e?.code === 'ILLEGAL_GENERATION'

/** Turns an error thrown by the native binding into its kafkajs class; others pass through. */
export function fromNative(err: unknown): unknown {
  // Not `instanceof Error`: native errors come from Node's main realm, which differs from the
  // realm of a Jest or vm sandbox.
  const message = (err as { message?: unknown } | null)?.message
  if (typeof message !== 'string' || !message.startsWith(MARKER)) return err
  let info: NativeErrorInfo
  try {
    info = JSON.parse(message.slice(MARKER.length))
  } catch {
    return err
  }
  return errorOf(info)
}

/** What the native side reports about an error (thrown, or carried by an event). */
export interface NativeErrorInfo { name: string; message: string; code: string; retriable: boolean; field?: string | null }

/** The kafkajs error class instance for a native error description. */
export function errorOf(info: NativeErrorInfo): KafkaJSError {
  const Cls = byName[info.name] ?? KafkaJSError
  const out = new Cls(info.message, { retriable: info.retriable, code: info.code, field: info.field ?? undefined })
  if (info.name === 'KafkaJSProtocolError') (out as KafkaJSProtocolError).type = info.code
  return out
}

/** Runs `fn`, re-throwing native failures as kafkajs errors. */
export async function call<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw fromNative(e)
  }
}

/** Synchronous twin of {@link call}. */
export function callSync<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    throw fromNative(e)
  }
}
