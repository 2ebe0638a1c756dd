/**
 * kafkajs's REQUEST and REQUEST_TIMEOUT events, built from the responses librdkafka's threads
 * read (src/interceptor.rs). A client is watched only while something listens: a client nobody
 * observes pays nothing per response. (A `diagnostics_channel` subscriber counts when it exists
 * at the client's connect or at a listener change.)
 */
import type { RequestRecord } from '../binding'
import type { Instrumentation } from './instrumentation'
import { native } from './native'

/** A native client that can name itself to the interceptor. */
interface Watchable {
  handle(): number | null
}

export class RequestEvents {
  private client: Watchable | null = null
  private watched: number | null = null

  constructor(
    private readonly instrumentation: Instrumentation,
    private readonly names: { REQUEST: string; REQUEST_TIMEOUT: string },
  ) {
    instrumentation.onListen([names.REQUEST, names.REQUEST_TIMEOUT], () => this.sync())
  }

  /** The native client whose responses are reported; null after it is gone. */
  attach(client: Watchable | null): void {
    this.client = client
    this.sync()
  }

  private sync(): void {
    const wanted = this.client !== null && this.instrumentation.listening(this.names.REQUEST, this.names.REQUEST_TIMEOUT)
    const handle = wanted ? this.client!.handle() : null
    if (handle === this.watched) return
    if (this.watched !== null) native.watchRequests(this.watched, null)
    this.watched = handle
    if (handle !== null) native.watchRequests(handle, (record: RequestRecord) => this.emit(record))
  }

  private emit(r: RequestRecord): void {
    const duration = Math.round(r.durationMs)
    // librdkafka reports the round trip at the response; the request was sent that long ago. Its
    // own queueing before the send is not observable, so `pendingDuration` is 0.
    const sentAt = Date.now() - duration
    if (r.timedOut) {
      this.instrumentation.emit(this.names.REQUEST_TIMEOUT, {
        broker: r.broker, clientId: r.clientId, correlationId: r.correlationId, createdAt: sentAt, sentAt, pendingDuration: 0,
        apiName: r.apiName, apiKey: r.apiKey, apiVersion: r.apiVersion,
      })
      return
    }
    this.instrumentation.emit(this.names.REQUEST, {
      broker: r.broker, clientId: r.clientId, correlationId: r.correlationId, size: r.size, createdAt: sentAt, sentAt,
      pendingDuration: 0, duration, apiName: r.apiName, apiKey: r.apiKey, apiVersion: r.apiVersion,
    })
  }
}
