/**
 * Seed 001's `KafkaHealthIndicator` for `@nestjs/terminus` 10, 11 and 12: results shaped
 * `{ [key]: { status: 'up' | 'down', ... } }`. When down it throws terminus's `HealthCheckError`
 * (10 and 11), or returns the `down` result (12, which removed that class and reads a returned
 * status instead: a thrown error there is a 500 without details). Terminus is loaded only if
 * installed and only when a check fails.
 */
import { kafkaConfigOf } from '../events/config'
import { Inject, Injectable } from '@nestjs/common'
import { BrokerProbe } from '../service/broker-probe'
import { consumerHealth, producerHealth, type HealthDetails } from '../service/health'
import { KafkaConsumerService } from './kafka-consumer.service'
import { KafkaProducerService } from './kafka-producer.service'
import { KAFKA_SETTINGS, type KafkaSettings } from './options'

/** One indicator's result, as terminus's `HealthIndicatorResult`. */
export type KafkaHealthResult = Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>

/**
 * Thrown when Kafka is down if `@nestjs/terminus` is not installed; terminus's executor
 * recognises it by `isHealthCheckError` and reports `causes`, as it does its own class.
 */
export class KafkaHealthCheckError extends Error {
  readonly isHealthCheckError = true
  constructor(message: string, readonly causes: KafkaHealthResult) {
    super(message)
    this.name = 'HealthCheckError'
  }
}

type ErrorClass = new (message: string, causes: KafkaHealthResult) => Error
/** How the installed terminus takes a `down` result: thrown as this class, or returned (`null`). */
let downAs: ErrorClass | null | undefined

function terminusDownAs(): ErrorClass | null {
  if (downAs !== undefined) return downAs
  let major: number
  try {
    // The version, not the module: terminus 12 is ESM-only, which `require` cannot load on every Node.
    major = parseInt(require('@nestjs/terminus/package.json').version, 10)
  } catch {
    return (downAs = KafkaHealthCheckError) // not installed
  }
  if (major >= 12) return (downAs = null)
  // Optional peer: its own class makes `instanceof HealthCheckError` hold in user code.
  try { downAs = require('@nestjs/terminus').HealthCheckError ?? KafkaHealthCheckError } catch { downAs = KafkaHealthCheckError }
  return downAs!
}

/**
 * Terminus health indicator for `KafkaModule`'s producer and consumer groups, with a live broker
 * check. A `down` result is thrown as terminus's `HealthCheckError` (terminus 10/11;
 * `KafkaHealthCheckError` without terminus) or returned (terminus 12), as each version expects.
 */
@Injectable()
export class KafkaHealthIndicator {
  private readonly probe: BrokerProbe

  constructor(
    private readonly producer: KafkaProducerService,
    private readonly consumers: KafkaConsumerService,
    @Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings,
  ) {
    this.probe = new BrokerProbe(kafkaConfigOf(settings.cluster), settings.options.healthCheckTimeoutMs ?? 3000)
  }

  /** Producer connected and a broker answering; up without a check when disabled or in dev fallback. */
  async isProducerHealthy(key = 'kafka_producer'): Promise<KafkaHealthResult> {
    const details = await this.producerDetails()
    return this.result(key, details.healthy, details.info, 'Kafka producer health check failed')
  }

  /** Every group running and a broker answering; up when disabled. */
  async isConsumerHealthy(key = 'kafka_consumer'): Promise<KafkaHealthResult> {
    const details = await this.consumerDetails()
    return this.result(key, details.healthy, details.info, 'Kafka consumer health check failed')
  }

  /** Both of the above, under one key. */
  async isHealthy(key = 'kafka'): Promise<KafkaHealthResult> {
    const [p, c] = await Promise.all([this.producerDetails(), this.consumerDetails()])
    return this.result(key, p.healthy && c.healthy, { producer: p.info, consumer: c.info }, 'Kafka health check failed')
  }

  private result(key: string, healthy: boolean, info: Record<string, unknown>, message: string): KafkaHealthResult {
    const result: KafkaHealthResult = { [key]: { status: healthy ? 'up' : 'down', ...info } }
    const thrown = healthy ? null : terminusDownAs()
    if (thrown) throw new thrown(message, result)
    return result
  }

  private producerDetails(): Promise<HealthDetails> {
    return producerHealth(this.producer.getStatus(), () => this.probe.check())
  }

  private consumerDetails(): Promise<HealthDetails> {
    const status = this.consumers.getStatus()
    return consumerHealth({ enabled: status.enabled, totalConsumers: status.totalConsumers, groups: status.groups }, () => this.probe.check())
  }
}
