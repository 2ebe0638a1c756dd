/** Cluster configuration for the event layer: explicit, or from `KAFKA_*` variables. */
import { callSync } from '../errors'
import { native } from '../native'
import { hideSecrets } from '../redact'
import type { KafkaConfig } from '../types'

export type ClusterConfig = Partial<KafkaConfig> & { dlqTopic?: string }

/** Seed 002's name for {@link ClusterConfig} (`new EventProducer(clusterConfig)`, `new DLQHandler(...)`). */
export type KafkaClusterConfig = ClusterConfig

export interface EnvConfig {
  brokers: string[]
  clientId: string
  ssl?: boolean
  sasl?: { mechanism: string; username: string; password: string }
  enabled: boolean
  dlqTopic?: string
}

/** `KAFKA_BROKERS`, `KAFKA_CLIENT_ID`, `KAFKA_SSL(_ENABLED)`, `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_*`, `KAFKA_ENABLED`, `KAFKA_DLQ_TOPIC`. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env, defaultClientId?: string): EnvConfig {
  const vars: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (k.startsWith('KAFKA_') && v !== undefined) vars[k] = v
  const config = callSync(() => native.configFromEnv(vars, defaultClientId)) as EnvConfig
  // Both levels: the `sasl` object is often passed on by reference (into a Kafka config).
  if (config.sasl) hideSecrets(config.sasl)
  return hideSecrets(config)
}

/** Explicit settings win; what is missing comes from the environment. */
export function resolveCluster(config?: ClusterConfig): KafkaConfig & { dlqTopic?: string } {
  const fromEnv = config?.brokers ? null : configFromEnv()
  const merged: KafkaConfig & { dlqTopic?: string } = {
    ...(fromEnv ? { brokers: fromEnv.brokers, clientId: fromEnv.clientId, ssl: fromEnv.ssl, sasl: fromEnv.sasl } : {}),
    ...(config as KafkaConfig),
  }
  merged.dlqTopic = config?.dlqTopic ?? fromEnv?.dlqTopic ?? (process.env.KAFKA_DLQ_TOPIC || undefined)
  if (merged.logLevel === undefined) merged.logLevel = 2
  // The event classes keep this object: their inspect/JSON forms must not show its credentials.
  return hideSecrets(merged)
}

/** The part of a resolved cluster config that `new Kafka()` takes (event-layer keys removed). */
export function kafkaConfigOf(cluster: ClusterConfig & { domainTopics?: unknown }): KafkaConfig {
  const { dlqTopic: _d, domainTopics: _t, ...config } = cluster
  return config as KafkaConfig
}
