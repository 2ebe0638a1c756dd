/**
 * Opt-in signal handling: on SIGINT/SIGTERM stop consumers (in-flight handlers finish, handled
 * offsets commit), flush and disconnect producers, within a bound, then let the process exit.
 */
import { Consumer } from '../consumer'
import { Producer } from '../producer'

/** Anything with an async `disconnect()`: a kafkajs-style client, a `KafkaService`, an `EventBus`-like wrapper. */
export interface Closable {
  disconnect(): Promise<void>
}

/** Options of {@link enableShutdownHooks}. */
export interface ShutdownOptions {
  /** Signals to handle (default `['SIGINT', 'SIGTERM']`). */
  signals?: NodeJS.Signals[]
  /** Bound on the whole shutdown; past it the process exits anyway (default 10000 ms). */
  timeoutMs?: number
  /**
   * true (default): once shut down, re-raise the signal so the process ends as the signal's
   * default would (exit status 130 for SIGINT, 143 for SIGTERM as shells report it), unless
   * another listener for that signal remains (then that listener decides). false: only shut the
   * clients down; the process exits when nothing else keeps it alive.
   */
  exit?: boolean
  /** Runs after the clients are closed (or the bound passed), before exiting: close servers, flush logs. */
  onShutdown?: (signal: NodeJS.Signals) => void | Promise<void>
  /** Where a timeout or a failed disconnect is reported (default `console.error`). */
  log?: (line: string) => void
}

/** Consumers first (they may still produce from handlers), then producers, then anything else. */
function rank(c: Closable): number {
  if (c instanceof Consumer) return 0
  if (c instanceof Producer) return 1
  return 2
}

/** Disconnects `targets` in rank order, each rank concurrently; failures are reported, not thrown. */
export async function shutdownClients(targets: Closable[], log: (line: string) => void): Promise<void> {
  for (const r of [0, 1, 2]) {
    const batch = targets.filter((t) => rank(t) === r)
    const results = await Promise.allSettled(batch.map((t) => t.disconnect()))
    for (const x of results) if (x.status === 'rejected') log(`[ferrokafka] shutdown: a client failed to disconnect: ${x.reason?.message ?? x.reason}`)
  }
}

/**
 * Installs SIGINT/SIGTERM handlers that shut `targets` down gracefully: consumers stop (their
 * in-flight handlers finish and handled offsets commit), producers flush, everything
 * disconnects, all within `timeoutMs`; then the process exits (see {@link ShutdownOptions.exit}).
 * A second signal during shutdown skips the wait. The handlers are removed once shutdown is
 * over, so they keep nothing registered. Returns a function that removes them without shutting down.
 *
 * ```js
 * enableShutdownHooks([consumer, producer], { timeoutMs: 15_000 })
 * ```
 */
export function enableShutdownHooks(targets: Closable | Closable[], options: ShutdownOptions = {}): () => void {
  const list = Array.isArray(targets) ? [...targets] : [targets]
  const signals = options.signals ?? ['SIGINT', 'SIGTERM']
  const timeoutMs = options.timeoutMs ?? 10_000
  const log = options.log ?? ((line: string) => console.error(line))
  let force: (() => void) | null = null

  const remove = () => {
    for (const s of signals) process.removeListener(s, onSignal)
  }

  async function shutdown(signal: NodeJS.Signals): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
      force = () => resolve('timeout')
    })
    const outcome = await Promise.race([shutdownClients(list, log).then(() => 'done' as const), bound])
    clearTimeout(timer)
    // Only now: a second signal while clients drain must reach us (to force), not kill the process.
    remove()
    if (outcome === 'timeout') log(`[ferrokafka] shutdown on ${signal}: clients did not close within ${timeoutMs} ms; exiting anyway`)
    if (options.onShutdown) {
      try { await options.onShutdown(signal) } catch (e: any) { log(`[ferrokafka] shutdown: onShutdown failed: ${e?.message ?? e}`) }
    }
    if (options.exit === false) return
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  }

  let started = false
  function onSignal(signal: NodeJS.Signals): void {
    if (started) {
      force?.()
      return
    }
    started = true
    shutdown(signal).catch((e) => log(`[ferrokafka] shutdown failed: ${e?.message ?? e}`))
  }

  for (const s of signals) process.on(s, onSignal)
  return remove
}
