/**
 * Schema validation for any Standard Schema validator (Zod 3.24+ and 4, Valibot, ArkType) and for
 * schemas with a Zod-like `safeParse`.
 */
import { EventValidationError } from './envelope'

export interface ValidationIssue {
  path: string
  message: string
}

export type SafeResult<T> = { success: true; data: T } | { success: false; error: EventValidationError }

type StandardSchema<T> = { '~standard': { validate(value: unknown): { value?: T; issues?: readonly { message: string; path?: readonly (PropertyKey | { key: PropertyKey })[] }[] } | Promise<unknown> } }
type SafeParseSchema<T> = { safeParse(value: unknown): { success: boolean; data?: T; error?: { issues?: { message: string; path?: (string | number)[] }[] } } }
export type EventSchema<T = any> = StandardSchema<T> | SafeParseSchema<T>

const pathOf = (path: readonly unknown[] | undefined) =>
  (path ?? []).map((p) => (typeof p === 'object' && p !== null && 'key' in p ? String((p as { key: PropertyKey }).key) : String(p))).join('.') || '(root)'

export function validateEventSafe<T = any>(schema: EventSchema<T>, data: unknown): SafeResult<T> {
  let issues: ValidationIssue[]
  if (schema && typeof schema === 'object' && '~standard' in schema) {
    const result = schema['~standard'].validate(data)
    if (result instanceof Promise) throw new TypeError('validateEvent: asynchronous schemas are not supported')
    const r = result as { value?: T; issues?: readonly { message: string; path?: readonly unknown[] }[] }
    if (!r.issues) return { success: true, data: r.value as T }
    issues = r.issues.map((i) => ({ path: pathOf(i.path), message: i.message }))
  } else if (schema && typeof (schema as SafeParseSchema<T>).safeParse === 'function') {
    const r = (schema as SafeParseSchema<T>).safeParse(data)
    if (r.success) return { success: true, data: r.data as T }
    issues = (r.error?.issues ?? [{ message: 'invalid' }]).map((i) => ({ path: pathOf(i.path), message: i.message }))
  } else {
    throw new TypeError('validateEvent: the schema must implement Standard Schema or have safeParse()')
  }
  const error = new EventValidationError(`Invalid event: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues)
  return { success: false, error }
}

/** Validates `data`; throws an `EventValidationError` listing every issue with its path. */
export function validateEvent<T = any>(schema: EventSchema<T>, data: unknown): T {
  const r = validateEventSafe(schema, data)
  if (!r.success) throw r.error
  return r.data
}
