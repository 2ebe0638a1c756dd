/**
 * Whether a broker answers a metadata request within a bound: the health indicator's live
 * check (a connected producer stays "connected" while every broker is down).
 */
import { call } from '../errors'
import { contextOf, Kafka } from '../kafka'
import { native } from '../native'
import type { KafkaConfig } from '../types'

export interface ProbeResult {
  reachable: boolean
  error?: string
}

/** Bounded broker reachability check shared by the health indicator's checks (internal). */
export class BrokerProbe {
  private readonly kafka: Kafka
  private inFlight: Promise<ProbeResult> | null = null

  constructor(cluster: KafkaConfig, private readonly timeoutMs: number) {
    this.kafka = new Kafka(cluster)
  }

  /** Concurrent checks (producer + consumer in one `isHealthy`) share one probe. */
  check(): Promise<ProbeResult> {
    this.inFlight = this.inFlight ?? this.run().finally(() => { this.inFlight = null })
    return this.inFlight
  }

  private async run(): Promise<ProbeResult> {
    // A short-lived metadata client: the admin client's own calls wait up to 30 s.
    const admin = new native.NativeAdmin(await contextOf(this.kafka).common())
    try {
      await call(() => admin.connect(this.timeoutMs))
      return { reachable: true }
    } catch (e) {
      return { reachable: false, error: (e as Error)?.message }
    } finally {
      await admin.disconnect().catch(() => undefined)
    }
  }
}
