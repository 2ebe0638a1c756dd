/** The consumer's instrumentation event names and its retryability convention. */

/** kafkajs's `consumer.events`, plus ferrokafka's dead-letter, circuit-breaker and stall events. */
export const consumerEvents = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  REQUEST: 'consumer.network.request',
  REQUEST_TIMEOUT: 'consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size',
  /** ferrokafka: a message was written to its dead-letter topic (run option `deadLetter`). */
  DEAD_LETTER: 'consumer.dead_letter',
  /** ferrokafka: the circuit breaker opened (partitions paused), half-opened, or closed. */
  CIRCUIT_OPEN: 'consumer.circuit_open',
  CIRCUIT_HALF_OPEN: 'consumer.circuit_half_open',
  CIRCUIT_CLOSED: 'consumer.circuit_closed',
  /**
   * ferrokafka (consumer option `stallTimeout`): records wait on assigned partitions and no handler
   * started on a new record or succeeded for `stallTimeout` ms (retries of a failing record are no progress); the payload is a `StallReport`.
   */
  STALLED: 'consumer.stalled',
  /** ferrokafka: a stalled consumer handled a record again; the payload is a `RecoveryReport`. */
  RECOVERED: 'consumer.recovered',
} as const

/** kafkajs-style and event-layer conventions for "do not retry this". */
export function isRetryable(error: any): boolean {
  if (!error || typeof error !== 'object') return true
  if (error.retryable === false || error.retriable === false && error.name !== 'KafkaJSError') return false
  return error.name !== 'NonRetryableError'
}
