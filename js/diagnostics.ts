/**
 * ferrokafka's events on Node's `diagnostics_channel`, for tracing and metrics tools
 * (OpenTelemetry-style instrumentations) that attach without touching the clients.
 *
 * Channel names are `ferrokafka:<event>`:
 * - every kafkajs instrumentation event of a producer, consumer or admin client, under its kafkajs
 *   name: `ferrokafka:producer.connect`, `ferrokafka:consumer.end_batch_process`,
 *   `ferrokafka:consumer.crash`, `ferrokafka:consumer.stalled`, `ferrokafka:admin.disconnect`, ... The message is the event as
 *   `client.on(...)` listeners get it: `{ id, type, timestamp, payload }`;
 * - the service facade's own events (see {@link serviceChannels}): `ferrokafka:service.send`,
 *   `ferrokafka:service.consume`, `ferrokafka:service.dead_letter`, `ferrokafka:service.error`,
 *   `ferrokafka:service.stalled`, `ferrokafka:service.recovered`.
 *
 * Publishing is skipped unless a channel has subscribers, so unobserved clients pay nothing.
 *
 * ```js
 * const dc = require('node:diagnostics_channel')
 * dc.subscribe('ferrokafka:service.send', ({ topic, messages, bytes, durationMs, error }) => {})
 * ```
 */
import * as dc from 'diagnostics_channel'

/** The prefix of every ferrokafka channel name. */
export const CHANNEL_PREFIX = 'ferrokafka:'

/** Channel names of the service facade's events (`KafkaService`). */
export const serviceChannels = {
  /** A `send`/`publishEvent` settled: `{ topic, messages, bytes, durationMs, error? }`. */
  SEND: 'ferrokafka:service.send',
  /** A record's handlers finished: `{ groupId, topic, partition, offset, bytes, durationMs, error? }`. */
  CONSUME: 'ferrokafka:service.consume',
  /** A record of a service group was written to its dead-letter topic: the consumer's `dead_letter` payload plus `groupId`. */
  DEAD_LETTER: 'ferrokafka:service.dead_letter',
  /** A client of the service reported an error: `{ source, message, name?, code?, at }` (no secrets). */
  ERROR: 'ferrokafka:service.error',
  /** A group made no progress with records waiting: the `stalled` event's payload. */
  STALLED: 'ferrokafka:service.stalled',
  /** A stalled group handled a record again: the `recovered` event's payload. */
  RECOVERED: 'ferrokafka:service.recovered',
} as const

const channels = new Map<string, dc.Channel>()

/** The (cached) channel named `name`. */
export function channelFor(name: string): dc.Channel {
  let c = channels.get(name)
  if (!c) {
    c = dc.channel(name)
    channels.set(name, c)
  }
  return c
}

/** True when someone listens on `name`: callers build a message only then. */
export function hasSubscribers(name: string): boolean {
  return channelFor(name).hasSubscribers
}

/** Publishes `message()` on `name` if the channel has subscribers (the message is built lazily). */
export function publish(name: string, message: () => unknown): void {
  const c = channelFor(name)
  if (c.hasSubscribers) c.publish(message())
}
