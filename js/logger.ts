/**
 * kafkajs's logger: `logCreator(level)` returns `({ namespace, level, label, log }) => void`.
 * librdkafka's own log lines reach it too, under the namespace `librdkafka`.
 */
import { logLevel } from './enums'

export interface LogEntry {
  namespace: string
  level: number
  label: string
  log: { timestamp: string; logger: string; message: string; [key: string]: any }
}
export type logCreator = (logLevel: number) => (entry: LogEntry) => void

export interface Logger {
  info: (message: string, extra?: object) => void
  error: (message: string, extra?: object) => void
  warn: (message: string, extra?: object) => void
  debug: (message: string, extra?: object) => void
  namespace: (namespace: string, logLevel?: number) => Logger
  setLogLevel: (logLevel: number) => void
}

const labels: Record<number, string> = { 0: 'NOTHING', 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' }

/** kafkajs's default: one JSON line per entry on the console. */
export const defaultLogCreator: logCreator = () => ({ namespace, level, label, log }) => {
  const prefix = namespace ? `[${namespace}] ` : ''
  const line = JSON.stringify({ level: label, ...log, message: `${prefix}${log.message}` })
  if (level === logLevel.ERROR) console.error(line)
  else if (level === logLevel.WARN) console.warn(line)
  else console.log(line)
}

export function createLogger(level: number, creator: logCreator): Logger {
  let current = level
  const write = creator(level)
  const make = (namespace: string, nsLevel?: number): Logger => {
    const at = (lvl: number) => (message: string, extra: object = {}) => {
      if (lvl > (nsLevel ?? current) || lvl === 0) return
      write({ namespace, level: lvl, label: labels[lvl], log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message, ...extra } })
    }
    return {
      error: at(logLevel.ERROR),
      warn: at(logLevel.WARN),
      info: at(logLevel.INFO),
      debug: at(logLevel.DEBUG),
      namespace: (ns: string, l?: number) => make(ns, l),
      setLogLevel: (l: number) => { current = l },
    }
  }
  return make('')
}

/**
 * The native log callback: librdkafka's facility becomes the extra field `facility`. Events of
 * the native code's `tracing` (rdkafka's and ferrokafka's own Rust) carry their module path
 * (`rdkafka::client`) there instead, under the namespace `ferrokafka-native`.
 */
export function nativeLogSink(logger: Logger): (record: { level: number; facility: string; message: string }) => void {
  const librdkafka = logger.namespace('librdkafka')
  const rust = logger.namespace('ferrokafka-native')
  return ({ level, facility, message }) => {
    const extra = { facility }
    const ns = facility.includes('::') ? rust : librdkafka
    if (level === 1) ns.error(message, extra)
    else if (level === 2) ns.warn(message, extra)
    else if (level === 4) ns.info(message, extra)
    else ns.debug(message, extra)
  }
}
