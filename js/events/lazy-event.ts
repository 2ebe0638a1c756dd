/**
 * The event bus's lazily parsed domain event. `JSON.parse` of each envelope cost more JavaScript
 * time than all the rest of the bus's work per event, and many handlers route on the type or
 * only count; so an event whose envelope Rust found sound as it was drained
 * (src/envelope_check.rs: the parse cannot fail, and its `type` is the `event-type` header the
 * bus routed by) is handed over as a Proxy that parses on first use. The parse fills the proxy's
 * own target, after which operations act on it as on a plain object: property reads and writes,
 * `in`, `Object.keys`, spread, `JSON.stringify`, `util.inspect`, freezing, deep equality. What a
 * Proxy cannot do: `structuredClone`, `postMessage` and `v8.serialize` refuse it (clone
 * `{ ...event }`, or subscribe with `deferParse: false`); `util.types.isProxy` is true; a
 * debugger, or `util.inspect` with `customInspect: false`, shows the target, empty until parsed.
 */
import { inspect } from 'util'
import type { Rows } from '../messages'
import { parseDomainEventText, type DomainEvent } from './envelope'

/** The prototype of a target not parsed yet: `util.inspect` reads the target without traps. */
const Unparsed: object = Object.create(Object.prototype, {
  [inspect.custom]: {
    value(this: object) {
      Reflect.ownKeys(this) // `this` is the proxy: this parses, and `inspect` then prints the target
      return this
    },
  },
})

/**
 * The traps: each parses the event into the target once, then acts on the target. Reading `type`
 * alone does not parse: it is the `event-type` header's value, which Rust found equal.
 */
class DeferredParse implements ProxyHandler<object> {
  constructor(private rows: Rows | null, private readonly row: number, private readonly type: string) {}

  private fill(target: object): void {
    if (this.rows === null) return
    const event = parseDomainEventText(this.rows.valueText(this.row)) as unknown as Record<string, unknown>
    Object.setPrototypeOf(target, Object.prototype)
    // Defined as JSON.parse defines them: no setter of Object.prototype runs (nor fails, frozen).
    for (const key of Object.keys(event)) {
      Reflect.defineProperty(target, key, { value: event[key], writable: true, enumerable: true, configurable: true })
    }
    this.rows = null
  }

  get(target: object, key: string | symbol, receiver: unknown): unknown {
    if (key === 'type' && this.rows !== null) return this.type
    this.fill(target)
    return Reflect.get(target, key, receiver)
  }
  set(target: object, key: string | symbol, value: unknown, receiver: unknown): boolean {
    this.fill(target)
    return Reflect.set(target, key, value, receiver)
  }
  has(target: object, key: string | symbol): boolean {
    this.fill(target)
    return Reflect.has(target, key)
  }
  ownKeys(target: object): (string | symbol)[] {
    this.fill(target)
    return Reflect.ownKeys(target)
  }
  getOwnPropertyDescriptor(target: object, key: string | symbol): PropertyDescriptor | undefined {
    this.fill(target)
    return Reflect.getOwnPropertyDescriptor(target, key)
  }
  defineProperty(target: object, key: string | symbol, descriptor: PropertyDescriptor): boolean {
    this.fill(target)
    return Reflect.defineProperty(target, key, descriptor)
  }
  deleteProperty(target: object, key: string | symbol): boolean {
    this.fill(target)
    return Reflect.deleteProperty(target, key)
  }
  getPrototypeOf(target: object): object | null {
    this.fill(target)
    return Reflect.getPrototypeOf(target)
  }
  setPrototypeOf(target: object, prototype: object | null): boolean {
    this.fill(target)
    return Reflect.setPrototypeOf(target, prototype)
  }
  preventExtensions(target: object): boolean {
    this.fill(target)
    return Reflect.preventExtensions(target)
  }
}

/**
 * Row `row`'s event, parsed when first used; only for a row with `rows.deferParse(row)`, whose
 * `type` is the row's `event-type` header. An unparsed event keeps its fetched batch's buffer
 * alive, as a kafkajs message's Buffer views do.
 */
export function deferredEvent(rows: Rows, row: number, type: string): DomainEvent {
  return new Proxy(Object.create(Unparsed), new DeferredParse(rows, row, type)) as DomainEvent
}
