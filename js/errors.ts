/**
 * kafkajs's error classes, with the same names and hierarchy, plus ferrokafka's fields: `code`
 * (on a `KafkaJSProtocolError` the Kafka protocol's number, as in kafkajs, with its name in
 * `type`; on the others librdkafka's error name, e.g. `_MSG_TIMED_OUT`, or a ferrokafka code such
 * as `ERR_CONFIG`), `retriable`, and `field` (the option at fault, for configuration errors).
 * Native errors become these in {@link fromNative} only.
 */

const MARKER = '@@ferrokafka@@'

export interface KafkaJSErrorOptions {
  retriable?: boolean
  cause?: Error
  code?: string | number
  field?: string
}

/** Base class of every error ferrokafka throws. */
export class KafkaJSError extends Error {
  readonly retriable: boolean
  readonly helpUrl?: string
  readonly cause?: Error
  /** See the module's note: a protocol error's number, else librdkafka's or ferrokafka's code name. */
  code?: string | number
  /** The option or argument at fault, for validation errors. */
  field?: string
  constructor(e: Error | string, { retriable = true, cause, code, field }: KafkaJSErrorOptions = {}) {
    // A missing message is an empty one, as in kafkajs.
    super(typeof e === 'string' ? e : e?.message ?? '')
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

/**
 * An error code returned by a broker: `type` is its name and `code` its number, as in kafkajs.
 * Like kafkajs's, it also takes the protocol error itself: `new KafkaJSProtocolError({ message,
 * type, code, retriable })`.
 */
export class KafkaJSProtocolError extends KafkaJSError {
  type: string
  /** The Kafka protocol's error number (kafkajs's typing). */
  declare code: number
  constructor(e: Error | string | ProtocolErrorShape, opts: KafkaJSErrorOptions = {}) {
    // kafkajs reads `type` and `code` off whatever it is given, an Error included.
    const shape = typeof e === 'object' && e !== null && (!(e instanceof Error) || 'type' in e || 'code' in e) ? (e as ProtocolErrorShape) : null
    super(shape ? shape.message ?? '' : (e as Error | string), { ...opts, retriable: opts.retriable ?? shape?.retriable, code: opts.code ?? (shape?.code as number | undefined) })
    this.name = 'KafkaJSProtocolError'
    this.type = shape?.type ?? (typeof opts.code === 'string' ? opts.code : 'UNKNOWN')
  }
}

/** A protocol error as kafkajs describes one (its `protocol/error.js` entries). */
export interface ProtocolErrorShape {
  message?: string
  type?: string
  code?: number
  retriable?: boolean
}

/** librdkafka's names for broker errors where the Kafka protocol (and kafkajs) name them otherwise. */
const protocolNames: Record<string, string> = {
  INVALID_MSG: 'CORRUPT_MESSAGE',
  UNKNOWN_TOPIC_OR_PART: 'UNKNOWN_TOPIC_OR_PARTITION',
  INVALID_MSG_SIZE: 'INVALID_FETCH_SIZE',
  MSG_SIZE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  STALE_CTRL_EPOCH: 'STALE_CONTROLLER_EPOCH',
  COORDINATOR_LOAD_IN_PROGRESS: 'GROUP_LOAD_IN_PROGRESS',
  COORDINATOR_NOT_AVAILABLE: 'GROUP_COORDINATOR_NOT_AVAILABLE',
  NOT_COORDINATOR: 'NOT_COORDINATOR_FOR_GROUP',
  TOPIC_EXCEPTION: 'INVALID_TOPIC_EXCEPTION',
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
    // kafkajs's `broker` is `host:port`.
    super(e, { broker: opts.host !== undefined ? `${opts.host}:${opts.port}` : undefined, ...opts })
    this.name = 'KafkaJSConnectionClosedError'
    this.host = opts.host
    this.port = opts.port
  }
}

export class KafkaJSRequestTimeoutError extends KafkaJSError {
  broker?: string
  correlationId?: number
  createdAt?: number
  sentAt?: number
  pendingDuration?: number
  constructor(e: Error | string, opts: KafkaJSErrorOptions & { broker?: string; correlationId?: number; createdAt?: number; sentAt?: number; pendingDuration?: number } = {}) {
    super(e, { retriable: true, ...opts })
    this.name = 'KafkaJSRequestTimeoutError'
    const { broker, correlationId, createdAt, sentAt, pendingDuration } = opts
    Object.assign(this, { broker, correlationId, createdAt, sentAt, pendingDuration })
  }
}

type ErrorClass = new (e: Error | string, opts?: KafkaJSErrorOptions) => KafkaJSError

/**
 * A derived class as kafkajs declares it: `e` may be left out (kafkajs's `new KafkaJSTimeout()`),
 * `Args` are the arguments after it and `Fields` what the instance gains from them.
 */
export type DerivedError<Fields extends object = {}, Args extends unknown[] = [opts?: KafkaJSErrorOptions]> =
  new (e?: Error | string, ...rest: Args) => KafkaJSError & Readonly<Fields>

/**
 * A kafkajs error class `name` deriving from `Base`, as kafkajs's errors module defines it.
 * `fields` turns the constructor's arguments after the first into the instance's own fields
 * (kafkajs's `{ topic }`, `(e, groups)`, `(e, topicName, partition)`, ...).
 */
function derive<Fields extends object = {}, Args extends unknown[] = [opts?: KafkaJSErrorOptions]>(
  name: string, Base: ErrorClass, instanceName = name, fields?: (rest: any[]) => Fields,
): DerivedError<Fields, Args> {
  const cls = class extends Base {
    constructor(e: Error | string, ...rest: any[]) {
      const opts = rest[0] !== null && typeof rest[0] === 'object' && !Array.isArray(rest[0]) ? rest[0] : {}
      super(e, opts)
      this.name = instanceName
      if (fields) Object.assign(this, fields(rest))
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls as unknown as DerivedError<Fields, Args>
}

/** The named fields of kafkajs's options object (the second argument). */
const fromOptions = <K extends string>(...names: K[]) => (rest: any[]) => Object.fromEntries(names.map((n) => [n, rest[0]?.[n]])) as Record<K, any>

/** kafkajs's two errors that are plain `Error`s, not `KafkaJSError`s. */
function plain(name: string, instanceName = name) {
  const cls = class extends Error {
    constructor(message?: string | Error, readonly errors: (Error | string)[] = []) {
      super(typeof message === 'string' ? message : message?.message)
      this.name = instanceName
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

/** One group's failure in a {@link KafkaJSDeleteGroupsError}. */
export interface DeleteGroupsFailure {
  groupId: string
  errorCode?: number
  error?: KafkaJSError
}
/** A partition kafkajs could not place in a {@link KafkaJSStaleTopicMetadataAssignment}. */
export interface UnknownPartition {
  partitionId: number
  [field: string]: unknown
}

export const KafkaJSMetadataNotLoaded = derive('KafkaJSMetadataNotLoaded', KafkaJSError)
export const KafkaJSTopicMetadataNotLoaded = derive<{ topic: string }, [metadata?: { topic: string }]>(
  'KafkaJSTopicMetadataNotLoaded', KafkaJSMetadataNotLoaded, undefined, fromOptions('topic'))
export const KafkaJSStaleTopicMetadataAssignment = derive<{ topic: string; unknownPartitions: UnknownPartition[] }, [metadata?: { topic: string; unknownPartitions: UnknownPartition[] }]>(
  'KafkaJSStaleTopicMetadataAssignment', KafkaJSError, undefined, fromOptions('topic', 'unknownPartitions'))
export const KafkaJSServerDoesNotSupportApiKey = derive<{ apiKey: number; apiName: string }, [metadata?: { apiKey: number; apiName: string }]>(
  'KafkaJSServerDoesNotSupportApiKey', KafkaJSNonRetriableError, undefined, fromOptions('apiKey', 'apiName'))
export const KafkaJSBrokerNotFound = derive('KafkaJSBrokerNotFound', KafkaJSError)
export const KafkaJSPartialMessageError = derive('KafkaJSPartialMessageError', KafkaJSNonRetriableError)
export const KafkaJSSASLAuthenticationError = derive('KafkaJSSASLAuthenticationError', KafkaJSNonRetriableError)
export const KafkaJSGroupCoordinatorNotFound = derive('KafkaJSGroupCoordinatorNotFound', KafkaJSNonRetriableError)
export const KafkaJSNotImplemented = derive('KafkaJSNotImplemented', KafkaJSNonRetriableError)
export const KafkaJSTimeout = derive('KafkaJSTimeout', KafkaJSNonRetriableError)
export const KafkaJSLockTimeout = derive('KafkaJSLockTimeout', KafkaJSTimeout)
export const KafkaJSUnsupportedMagicByteInMessageSet = derive('KafkaJSUnsupportedMagicByteInMessageSet', KafkaJSNonRetriableError)
export const KafkaJSDeleteGroupsError = derive<{ groups: DeleteGroupsFailure[] }, [groups?: DeleteGroupsFailure[]]>(
  'KafkaJSDeleteGroupsError', KafkaJSError, undefined, (rest) => ({ groups: rest[0] ?? [] }))
/** As kafkajs: built from the partitions' results, retriable only if every failure is. */
export class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  readonly partitions: { error?: { retriable?: boolean } | null }[]
  constructor({ partitions }: { partitions: { error?: { retriable?: boolean } | null }[] }) {
    super('Error while deleting records', { retriable: partitions.filter((p) => p.error != null).every((p) => p.error!.retriable === true) })
    this.name = 'KafkaJSDeleteTopicRecordsError'
    this.partitions = partitions
  }
}
/** As kafkajs's: the message says an invariant was violated and asks for a bug report. */
export class KafkaJSInvariantViolation extends KafkaJSNonRetriableError {
  constructor(e: Error | string, opts: KafkaJSErrorOptions = {}) {
    super(`Invariant violated: ${typeof e === 'string' ? e : e?.message}. This is likely a bug and should be reported.`, opts)
    this.name = 'KafkaJSInvariantViolation'
  }
}
// kafkajs never renames these instances; code matching on `error.name` sees what kafkajs gives.
export const KafkaJSInvalidVarIntError = derive('KafkaJSInvalidVarIntError', KafkaJSNonRetriableError, 'KafkaJSNonRetriableError')
export const KafkaJSInvalidLongError = derive('KafkaJSInvalidLongError', KafkaJSNonRetriableError, 'KafkaJSNonRetriableError')
export const KafkaJSCreateTopicError = derive<{ topic: string }, [topic?: string]>(
  'KafkaJSCreateTopicError', KafkaJSProtocolError, undefined, (rest) => ({ topic: rest[0] }))
export const KafkaJSAggregateError = plain('KafkaJSAggregateError')
export const KafkaJSFetcherRebalanceError = plain('KafkaJSFetcherRebalanceError', 'Error')
/** As kafkajs's: takes no message of its own. */
export class KafkaJSNoBrokerAvailableError extends KafkaJSError {
  constructor() {
    super('No broker available')
    this.name = 'KafkaJSNoBrokerAvailableError'
  }
}
export const KafkaJSAlterPartitionReassignmentsError = derive<{ topic?: string; partition?: number }, [topic?: string, partition?: number]>(
  'KafkaJSAlterPartitionReassignmentsError', KafkaJSProtocolError, undefined, (rest) => ({ topic: rest[0], partition: rest[1] }))

// Each class is also a type, as kafkajs's declared classes are (`let e: KafkaJSTimeout`).
export type KafkaJSMetadataNotLoaded = InstanceType<typeof KafkaJSMetadataNotLoaded>
export type KafkaJSTopicMetadataNotLoaded = InstanceType<typeof KafkaJSTopicMetadataNotLoaded>
export type KafkaJSStaleTopicMetadataAssignment = InstanceType<typeof KafkaJSStaleTopicMetadataAssignment>
export type KafkaJSServerDoesNotSupportApiKey = InstanceType<typeof KafkaJSServerDoesNotSupportApiKey>
export type KafkaJSBrokerNotFound = InstanceType<typeof KafkaJSBrokerNotFound>
export type KafkaJSPartialMessageError = InstanceType<typeof KafkaJSPartialMessageError>
export type KafkaJSSASLAuthenticationError = InstanceType<typeof KafkaJSSASLAuthenticationError>
export type KafkaJSGroupCoordinatorNotFound = InstanceType<typeof KafkaJSGroupCoordinatorNotFound>
export type KafkaJSNotImplemented = InstanceType<typeof KafkaJSNotImplemented>
export type KafkaJSTimeout = InstanceType<typeof KafkaJSTimeout>
export type KafkaJSLockTimeout = InstanceType<typeof KafkaJSLockTimeout>
export type KafkaJSUnsupportedMagicByteInMessageSet = InstanceType<typeof KafkaJSUnsupportedMagicByteInMessageSet>
export type KafkaJSDeleteGroupsError = InstanceType<typeof KafkaJSDeleteGroupsError>
export type KafkaJSInvalidVarIntError = InstanceType<typeof KafkaJSInvalidVarIntError>
export type KafkaJSInvalidLongError = InstanceType<typeof KafkaJSInvalidLongError>
export type KafkaJSCreateTopicError = InstanceType<typeof KafkaJSCreateTopicError>
export type KafkaJSAggregateError = InstanceType<typeof KafkaJSAggregateError>
export type KafkaJSFetcherRebalanceError = InstanceType<typeof KafkaJSFetcherRebalanceError>
export type KafkaJSAlterPartitionReassignmentsError = InstanceType<typeof KafkaJSAlterPartitionReassignmentsError>

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
export const isRebalancing = (e: { type?: string }): boolean =>
  e?.type === 'REBALANCE_IN_PROGRESS' || e?.type === 'NOT_COORDINATOR_FOR_GROUP' || e?.type === 'ILLEGAL_GENERATION'

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
export interface NativeErrorInfo {
  name: string
  message: string
  /** librdkafka's error name or a ferrokafka code. */
  code: string
  retriable: boolean
  field?: string | null
  /** The Kafka protocol's number of an error a broker returned; 0 or absent for the others. */
  kafkaCode?: number
}

/** The kafkajs error class instance for a native error description. */
export function errorOf(info: NativeErrorInfo): KafkaJSError {
  const Cls = byName[info.name] ?? KafkaJSError
  const protocol = info.name === 'KafkaJSProtocolError' && (info.kafkaCode ?? 0) !== 0
  const out = new Cls(info.message, { retriable: info.retriable, code: protocol ? info.kafkaCode : info.code, field: info.field ?? undefined })
  if (info.name === 'KafkaJSProtocolError') (out as KafkaJSProtocolError).type = protocolNames[info.code] ?? info.code
  return out
}

/**
 * A client's `connect()`: as in kafkajs, brokers still unreachable when the attempts end give a
 * `KafkaJSNumberOfRetriesExceeded` whose `cause` is the `KafkaJSConnectionError`; a refusal no
 * retry can help (a rejected login or certificate) is thrown as itself.
 */
export async function connecting(fn: () => Promise<void>): Promise<void> {
  try {
    await call(fn)
  } catch (e) {
    if (e instanceof KafkaJSConnectionError && e.retriable) throw new KafkaJSNumberOfRetriesExceeded(e, { cause: e })
    throw e
  }
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
