/**
 * Keeps credentials out of `util.inspect` and `JSON.stringify` of objects users hold (configs
 * from `configFromEnv`, services): the values stay readable as properties, only their printed
 * forms show `[redacted]`.
 */
import { inspect } from 'util'

/** Property names whose values are credentials wherever they appear. */
const SECRET_KEYS = new Set(['password', 'oauthbearerConfig', 'passphrase', 'key', 'token', 'secretAccessKey', 'sessionToken'])

/** A copy of `value` for printing, with every secret property replaced. */
export function redacted(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value
  if (Array.isArray(value)) return value.map((v) => redacted(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k) && v !== undefined ? '[redacted]' : redacted(v, depth + 1)
  return out
}

/** Gives `obj` a non-enumerable `toJSON` and `util.inspect` form without its secrets; returns it. */
export function hideSecrets<T extends object>(obj: T): T {
  Object.defineProperty(obj, 'toJSON', { value: () => redacted(obj), enumerable: false, configurable: true })
  Object.defineProperty(obj, inspect.custom, {
    value: (depth: number, opts: object) => inspect(redacted(obj), { ...opts, depth }),
    enumerable: false,
    configurable: true,
  })
  return obj
}
