/**
 * The metrics snapshot of `KafkaService.metrics()` and its Prometheus text rendering (exposition
 * format 0.0.4), so that a `/metrics` endpoint is one line:
 *
 * ```js
 * app.get('/metrics', async (req, res) => res.type('text/plain; version=0.0.4').send(await kafkaService.metricsText()))
 * ```
 */
import type { ErrorRecord } from './health'
import type { PartitionLag } from './group-monitor'

/** Producer counters of a service (since it was created). */
export interface ProducerMetrics {
  connected: boolean
  /** Records acknowledged by the broker. */
  messages: number
  /** Key plus value bytes of acknowledged records. */
  bytes: number
  /** `send` calls that rejected. */
  errors: number
  /** `send` calls waiting for their acknowledgements (queue depth, in calls). */
  sendsInFlight: number
  /** Records of those calls (queue depth, in records). */
  messagesInFlight: number
}

/** One consumer group of a service. */
export interface ConsumerGroupMetrics {
  groupId: string
  running: boolean
  stalled: boolean
  /** Records whose handlers all succeeded. */
  messages: number
  /** Key plus value bytes of those records. */
  bytes: number
  /** Handler failures (each attempt). */
  errors: number
  /** Records written to a dead-letter topic. */
  deadLettered: number
  /** Per partition; absent when the snapshot was taken with `{ lag: false }` or lag could not be read. */
  lag?: PartitionLag[]
}

/**
 * librdkafka's statistics JSON (`statistics.interval.ms`) of one client, when the native binding
 * provides it: the fields rendered are `msg_cnt`, `msg_size`, `txmsgs`, `txmsg_bytes`, `rxmsgs`,
 * `rxmsg_bytes` and per broker `state`, `outbuf_msg_cnt`, `rtt.p50`/`rtt.p99` (microseconds).
 */
export interface LibrdkafkaStats {
  name?: string
  msg_cnt?: number
  msg_size?: number
  txmsgs?: number
  txmsg_bytes?: number
  rxmsgs?: number
  rxmsg_bytes?: number
  brokers?: Record<string, { nodename?: string; state?: string; outbuf_msg_cnt?: number; rtt?: { p50?: number; p99?: number; avg?: number } }>
  [field: string]: unknown
}

/** `KafkaService.metrics()`: everything rendered by {@link renderPrometheus}. */
export interface MetricsSnapshot {
  /** Epoch ms. */
  timestamp: number
  clientId: string
  producer?: ProducerMetrics
  consumers?: ConsumerGroupMetrics[]
  lastError?: ErrorRecord
  /** Counters of other sources (`addStatsSource`), e.g. `{ event_bus: bus.stats, dlq_handler: dlq.stats() }`. */
  stats?: Record<string, Record<string, number>>
  /** librdkafka statistics per native client (`producer`, `consumer:<groupId>`), when available. */
  native?: Record<string, LibrdkafkaStats>
}

type Kind = 'counter' | 'gauge'
interface Sample { labels: Record<string, string | number>; value: number }
interface Family { help: string; kind: Kind; samples: Sample[] }

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
/** `sentToReview` -> `sent_to_review`; anything outside the metric-name alphabet becomes `_`. */
const metricPart = (v: string) => v.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[^a-z0-9_]/g, '_')

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

class Families {
  private readonly map = new Map<string, Family>()
  constructor(private readonly prefix: string) {}

  add(name: string, kind: Kind, help: string, labels: Sample['labels'], value: number | undefined): void {
    if (typeof value !== 'number') return
    const full = `${this.prefix}_${name}${kind === 'counter' ? '_total' : ''}`
    let f = this.map.get(full)
    if (!f) {
      f = { help, kind, samples: [] }
      this.map.set(full, f)
    }
    f.samples.push({ labels, value })
  }

  render(): string {
    const lines: string[] = []
    for (const [name, f] of this.map) {
      lines.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.kind}`)
      for (const s of f.samples) {
        const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(',')
        lines.push(`${name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`)
      }
    }
    return lines.length ? `${lines.join('\n')}\n` : ''
  }
}

function renderNative(m: Families, client: string, s: LibrdkafkaStats): void {
  const l = { client }
  m.add('librdkafka_queue_messages', 'gauge', 'Messages in librdkafka queues (librdkafka msg_cnt).', l, s.msg_cnt)
  m.add('librdkafka_queue_bytes', 'gauge', 'Bytes in librdkafka queues (librdkafka msg_size).', l, s.msg_size)
  m.add('librdkafka_tx_messages', 'counter', 'Messages transmitted to brokers (librdkafka txmsgs).', l, s.txmsgs)
  m.add('librdkafka_tx_bytes', 'counter', 'Message bytes transmitted to brokers (librdkafka txmsg_bytes).', l, s.txmsg_bytes)
  m.add('librdkafka_rx_messages', 'counter', 'Messages received from brokers (librdkafka rxmsgs).', l, s.rxmsgs)
  m.add('librdkafka_rx_bytes', 'counter', 'Message bytes received from brokers (librdkafka rxmsg_bytes).', l, s.rxmsg_bytes)
  for (const [id, b] of Object.entries(s.brokers ?? {})) {
    const bl = { client, broker: b.nodename ?? id }
    if (b.state !== undefined) m.add('broker_up', 'gauge', 'Whether the connection to the broker is up (librdkafka state UP).', bl, b.state === 'UP' ? 1 : 0)
    m.add('broker_outbuf_messages', 'gauge', 'Messages waiting to be sent to the broker.', bl, b.outbuf_msg_cnt)
    for (const [q, v] of [['0.5', b.rtt?.p50], ['0.99', b.rtt?.p99]] as const) {
      m.add('broker_rtt_seconds', 'gauge', 'Broker round-trip time (librdkafka rtt window).', { ...bl, quantile: q }, typeof v === 'number' ? v / 1e6 : undefined)
    }
  }
}

/**
 * Prometheus text exposition (format 0.0.4) of a snapshot: `# HELP` and `# TYPE` per family,
 * counters suffixed `_total`, label values escaped. Sections missing from `snapshot` are skipped,
 * so a hand-built `{ stats: { event_bus: bus.stats } }` renders too.
 */
export function renderPrometheus(snapshot: Partial<MetricsSnapshot>, options: { prefix?: string } = {}): string {
  const m = new Families(options.prefix ?? 'ferrokafka')
  const client = { client_id: snapshot.clientId ?? '' }
  const p = snapshot.producer
  if (p) {
    m.add('producer_connected', 'gauge', 'Whether the producer is connected.', client, p.connected ? 1 : 0)
    m.add('producer_messages', 'counter', 'Records produced (acknowledged).', client, p.messages)
    m.add('producer_bytes', 'counter', 'Key and value bytes of records produced.', client, p.bytes)
    m.add('producer_send_errors', 'counter', 'Send calls that failed.', client, p.errors)
    m.add('producer_sends_in_flight', 'gauge', 'Send calls waiting for acknowledgement.', client, p.sendsInFlight)
    m.add('producer_messages_in_flight', 'gauge', 'Records waiting for acknowledgement.', client, p.messagesInFlight)
  }
  for (const g of snapshot.consumers ?? []) {
    const l = { ...client, group: g.groupId }
    m.add('consumer_running', 'gauge', 'Whether the group consumer runs.', l, g.running ? 1 : 0)
    m.add('consumer_stalled', 'gauge', 'Whether the group is stalled (records waiting, no progress).', l, g.stalled ? 1 : 0)
    m.add('consumer_messages', 'counter', 'Records handled successfully.', l, g.messages)
    m.add('consumer_bytes', 'counter', 'Key and value bytes of records handled.', l, g.bytes)
    m.add('consumer_handler_errors', 'counter', 'Handler failures.', l, g.errors)
    m.add('consumer_dead_lettered', 'counter', 'Records written to a dead-letter topic.', l, g.deadLettered)
    for (const p of g.lag ?? []) {
      m.add('consumer_lag', 'gauge', 'Records not yet handled, per partition.', { ...l, topic: p.topic, partition: p.partition }, p.lag)
    }
  }
  if (snapshot.lastError) {
    m.add('last_error_timestamp_seconds', 'gauge', 'When a client last reported an error.', { ...client, source: snapshot.lastError.source }, Date.parse(snapshot.lastError.at) / 1000)
  }
  for (const [source, counters] of Object.entries(snapshot.stats ?? {})) {
    for (const [name, value] of Object.entries(counters ?? {})) {
      m.add(`${metricPart(source)}_${metricPart(name)}`, 'counter', `${source} ${name}.`, client, value)
    }
  }
  for (const [name, s] of Object.entries(snapshot.native ?? {})) renderNative(m, name, s)
  return m.render()
}

/**
 * librdkafka's latest statistics from a native client handle, when the binding exposes them as
 * `stats(): string | null` (the JSON of librdkafka's stats callback); null otherwise.
 */
export function readNativeStats(handle: unknown): LibrdkafkaStats | null {
  const stats = (handle as { stats?: () => unknown } | null)?.stats
  if (typeof stats !== 'function') return null
  const raw = stats.call(handle)
  if (raw === null || raw === undefined || raw === '') return null
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as LibrdkafkaStats
}
