/**
 * kafkajs's clients are objects of closures, so `const { send } = producer` or
 * `const { commitOffsets } = consumer` works there (NestJS hands such objects to handlers).
 * The named methods become own bound properties, as enumerable as kafkajs's.
 */
export function bindMethods(target: object, names: readonly string[]): void {
  for (const name of names) {
    const method = (target as Record<string, unknown>)[name]
    if (typeof method === 'function') {
      Object.defineProperty(target, name, { value: method.bind(target), writable: true, configurable: true, enumerable: true })
    }
  }
}
