/** The kafkajs entry point: `new Kafka(config)` makes producers, consumers and admin clients. */
import { inspect } from 'util'
import { Admin } from './admin'
import { Consumer } from './consumer'
import { logLevel } from './enums'
import { KafkaJSConnectionError, KafkaJSNonRetriableError } from './errors'
import { createLogger, defaultLogCreator, Logger, nativeLogSink } from './logger'
import { native } from './native'
import { OauthBearerTokens } from './oauth'
import { Producer } from './producer'
import type { ConsumerConfig, KafkaConfig, ProducerConfig } from './types'
import * as check from './validate'

/** What each client needs from its `Kafka`: kept off the instance so nothing secret is inspectable. */
export interface ClientContext {
  /** Options for the native side (brokers resolved); holds secrets: never log or expose it. */
  common(): Promise<Record<string, unknown>>
  /**
   * Builds a client's native side at once when the options allow (static brokers, no token
   * provider); null otherwise, and for a broker list at fault, whose error `connect()` raises as
   * kafkajs's does (a client built but never connected, a disabled service's, is no error).
   * Any other bad option throws here, as kafkajs's constructor-time checks do.
   */
  early<T>(create: (common: Record<string, unknown>) => T): T | null
  /** Resolves once the native side holds a fresh OAUTHBEARER token (at once without a provider). */
  freshCredentials(): Promise<void>
  logger: Logger
  nativeLog: (record: { level: number; facility: string; message: string }) => void
  connectTimeoutMs: number
  retry: KafkaConfig['retry']
}

function pem(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  if (Array.isArray(v)) return v.map(pem)
  return v
}

/**
 * Reduces a kafkajs config to the JSON the native config translation reads. Keys the facade does
 * not consume are forwarded (functions as a marker) so that Rust, the one place that knows every
 * option, can name an unknown or mistyped one.
 */
function toNative(config: KafkaConfig, brokers: unknown, tokens: OauthBearerTokens | null): Record<string, unknown> {
  const { logCreator: _lc, socketFactory: _sf, brokers: _b, ssl: _ssl, sasl: _sasl, retry: _r, ...others } = config as KafkaConfig & Record<string, unknown>
  const rest = Object.fromEntries(Object.entries(others).map(([k, v]) => [k, ['function', 'bigint', 'symbol'].includes(typeof v) ? `[${typeof v}]` : v]))
  const ssl = config.ssl && typeof config.ssl === 'object'
    ? { ca: pem(config.ssl.ca), cert: pem(config.ssl.cert), key: pem(config.ssl.key), passphrase: config.ssl.passphrase, rejectUnauthorized: config.ssl.rejectUnauthorized }
    : config.ssl
  const sasl = config.sasl
    ? { mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password, oauthbearerConfig: config.sasl.oauthbearerConfig, oauthBearerProviderId: tokens?.id }
    : undefined
  return {
    ...rest,
    brokers, clientId: config.clientId, ssl, sasl,
    connectionTimeout: config.connectionTimeout, requestTimeout: config.requestTimeout,
    logLevel: effectiveLogLevel(config.logLevel), retry: config.retry ? { ...config.retry, restartOnFailure: undefined } : undefined,
    rdkafka: config.rdkafka,
  }
}

/**
 * The client's log level: `KAFKAJS_LOG_LEVEL` (`NOTHING`, `ERROR`, `WARN`, `INFO` or `DEBUG`) wins
 * over `logLevel`, as in kafkajs, so a deployment can raise it without a code change.
 */
function effectiveLogLevel(configured: number | undefined): number {
  const fromEnv = (logLevel as Record<string, number>)[(process.env.KAFKAJS_LOG_LEVEL ?? '').toUpperCase()]
  return fromEnv ?? configured ?? logLevel.INFO
}

const contexts = new WeakMap<Kafka, ClientContext>()

/** Frees a collected `Kafka`'s native token cell (and the refresh callback it holds). */
const tokenCells = new FinalizationRegistry<string>((id) => native.dropOauthbearerToken(id))

export function contextOf(kafka: Kafka): ClientContext {
  return contexts.get(kafka)!
}

/**
 * kafkajs's `Kafka` class.
 *
 * ```ts
 * const kafka = new Kafka({ clientId: 'billing', brokers: ['localhost:9092'] })
 * const producer = kafka.producer()
 * ```
 */
export class Kafka {
  constructor(config: KafkaConfig) {
    if (!config || typeof config !== 'object') throw new KafkaJSNonRetriableError('Kafka config must be an object', { field: 'config' })
    const { brokers } = config
    // Raised by connect(), as kafkajs's: see ClientContext.early.
    const brokersProblem = brokers === undefined || brokers === null ? 'is required'
      : !Array.isArray(brokers) && typeof brokers !== 'function' ? 'must be an array of "host:port" strings or a function returning one' : null
    check.fn(config.logCreator, 'logCreator')
    check.retry(config.retry, 'retry')
    if (config.sasl !== undefined && config.sasl !== null) check.options(config.sasl, 'sasl')
    const provider = config.sasl?.oauthBearerProvider
    check.fn(provider, 'sasl.oauthBearerProvider')
    if (provider && String(config.sasl!.mechanism).toLowerCase() !== 'oauthbearer') {
      throw new KafkaJSNonRetriableError("Invalid option `sasl.oauthBearerProvider`: only used with mechanism 'oauthbearer'", { field: 'sasl.oauthBearerProvider' })
    }
    const level = effectiveLogLevel(config.logLevel)
    const logger = createLogger(level, config.logCreator ?? defaultLogCreator)
    const tokens = provider ? new OauthBearerTokens(provider, logger) : null
    if (tokens) tokenCells.register(this, tokens.id)
    const staticCommon = Array.isArray(brokers) ? toNative(config, brokers, tokens) : null
    contexts.set(this, {
      // With a token provider every client waits for its token first (the async path).
      early: (create) => {
        if (tokens || !staticCommon) return null
        try {
          return create(staticCommon)
        } catch (e) {
          if ((e as KafkaJSNonRetriableError).field === 'brokers') return null
          throw e
        }
      },
      freshCredentials: async () => { await tokens?.ensure() },
      common: async () => {
        if (brokersProblem) throw new KafkaJSNonRetriableError(`Invalid option \`brokers\`: ${brokersProblem}`, { field: 'brokers' })
        await tokens?.ensure()
        if (staticCommon) return staticCommon
        let list: unknown
        try {
          list = await (brokers as () => string[] | Promise<string[]>)()
        } catch (cause) {
          // Retriable: a discovery call may fail for a moment; its own error stays in `cause`.
          throw new KafkaJSConnectionError('The `brokers` function failed (see `cause`)', { field: 'brokers', cause: cause as Error })
        }
        // Checked here, not in Rust: Rust would see a missing list and say `brokers` "is required".
        if (!Array.isArray(list)) {
          throw new KafkaJSNonRetriableError(`Invalid option \`brokers\`: the function must return (or resolve to) an array of "host:port" strings, not ${list === null ? 'null' : typeof list}`, { field: 'brokers' })
        }
        return toNative(config, list, tokens)
      },
      logger,
      nativeLog: nativeLogSink(logger),
      connectTimeoutMs: Math.max(config.connectionTimeout ?? 0, config.requestTimeout ?? 0, 10_000),
      retry: config.retry,
    })
  }

  producer(config?: ProducerConfig): Producer {
    return new Producer(contextOf(this), check.options(config, 'producer'))
  }

  consumer(config: ConsumerConfig): Consumer {
    return new Consumer(contextOf(this), config)
  }

  admin(config?: { retry?: KafkaConfig['retry'] }): Admin {
    const options = check.options(config, 'admin')
    check.retry(options.retry, 'admin.retry')
    return new Admin(contextOf(this), options)
  }

  logger(): Logger {
    return contextOf(this).logger
  }

  /** Shows no configuration: it may hold credentials. */
  [inspect.custom](): string {
    return 'Kafka {}'
  }

  toJSON(): object {
    return {}
  }
}
