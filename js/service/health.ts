/**
 * Health rules shared by `KafkaService` and the NestJS `KafkaHealthIndicator`: one definition of
 * "producer healthy" and "consumer healthy", and the error record both report as last error.
 */
import type { ProbeResult } from './broker-probe'

/** The most recent error a client reported: where, what, when. Never carries configuration. */
export interface ErrorRecord {
  /** Which client or operation saw it: `producer`, `consumer:<groupId>`, `send`, `health-probe`, `librdkafka`, ... */
  source: string
  message: string
  name?: string
  /** librdkafka's error name or the kafkajs `type`, when the error has one. */
  code?: string
  /** When it was seen (ISO 8601). */
  at: string
}

/** Longest message kept: a stack-sized message is noise in a health report. */
const MAX_MESSAGE = 500

/** An {@link ErrorRecord} from anything thrown or reported. */
export function errorRecord(source: string, error: unknown): ErrorRecord {
  const e = error as { message?: unknown; name?: unknown; code?: unknown; type?: unknown } | null
  const message = String(e && typeof e === 'object' ? e.message ?? e : error).slice(0, MAX_MESSAGE)
  const record: ErrorRecord = { source, message, at: new Date().toISOString() }
  if (e && typeof e === 'object' && typeof e.name === 'string') record.name = e.name
  // A protocol error's `code` is a number since it follows kafkajs: its name is in `type`.
  const code = e && typeof e === 'object' ? (typeof e.code === 'number' ? e.type ?? e.code : e.code ?? e.type) : undefined
  if (typeof code === 'string' || typeof code === 'number') record.code = String(code)
  return record
}

/** A health verdict and what it was based on (shown by health endpoints). */
export interface HealthDetails {
  healthy: boolean
  info: Record<string, unknown>
}

/** What the producer rule reads. */
export interface ProducerState {
  enabled: boolean
  connected: boolean
  /** Disabled, or fell back to logging sends (`devFallback`): healthy without a broker. */
  dev: boolean
}

/** What the consumer rule reads: each group's state. */
export interface ConsumerState {
  enabled: boolean
  dev?: boolean
  groups: Record<string, { running: boolean; stalled?: boolean }>
}

function probed(r: ProbeResult): Record<string, unknown> {
  return r.reachable ? { brokersReachable: true } : { brokersReachable: false, error: r.error }
}

/** Healthy when disabled or in dev mode; otherwise connected and a broker answering `probe`. */
export async function producerHealth<S extends ProducerState>(state: S, probe: () => Promise<ProbeResult>): Promise<HealthDetails> {
  const info: Record<string, unknown> = { ...(state as object) }
  if (state.dev || !state.enabled) return { healthy: true, info }
  if (!state.connected) return { healthy: false, info }
  const r = await probe()
  return { healthy: r.reachable, info: { ...info, ...probed(r) } }
}

/**
 * Healthy when disabled or in dev mode; otherwise every group running and not stalled, and a
 * broker answering `probe`.
 */
export async function consumerHealth<S extends ConsumerState>(state: S, probe: () => Promise<ProbeResult>): Promise<HealthDetails> {
  const info: Record<string, unknown> = { ...(state as object) }
  if (state.dev || !state.enabled) return { healthy: true, info }
  const groups = Object.values(state.groups)
  const ok = groups.every((g) => g.running && !g.stalled)
  const r = await probe()
  return { healthy: ok && r.reachable, info: { ...info, ...probed(r) } }
}
