/**
 * `ferrokafka/testing`: an embedded Kafka cluster (librdkafka's MockCluster) for tests.
 *
 * ```ts
 * const cluster = await MockCluster.start({ brokers: 3 }) // or new MockCluster({ brokers: 3 })
 * cluster.createTopic('orders', 6, 3)
 * const kafka = new Kafka({ brokers: cluster.brokers })
 * // ... cluster.close()
 * ```
 */
import type { MockClusterOptions, NativeConsumer } from '../binding'
import type { Consumer } from './consumer'
import { callSync, fromNative, KafkaJSNonRetriableError } from './errors'
import { native } from './native'

export class MockCluster extends native.MockCluster {
  constructor(options?: MockClusterOptions) {
    try {
      super(options)
    } catch (e) {
      throw fromNative(e)
    }
  }

  /** Starts a cluster; the async twin of the constructor, for `beforeAll(async () => ...)`. */
  static async start(options?: MockClusterOptions): Promise<MockCluster> {
    return new MockCluster(options)
  }
}

// Every fault-injection call throws kafkajs-style errors (naming the argument at fault).
for (const name of Object.getOwnPropertyNames(native.MockCluster.prototype)) {
  const desc = Object.getOwnPropertyDescriptor(native.MockCluster.prototype, name)
  if (name === 'constructor' || !desc || typeof desc.value !== 'function') continue
  const original = desc.value as (...args: unknown[]) => unknown
  Object.defineProperty(MockCluster.prototype, name, {
    value(this: MockCluster, ...args: unknown[]) {
      return callSync(() => original.apply(this, args))
    },
    writable: true,
    configurable: true,
  })
}

/**
 * Fault injection: raises a fatal librdkafka error (FENCED_INSTANCE_ID, what a fenced static
 * member gets) inside a running consumer. The consumer emits CRASH and, unless
 * `retry.restartOnFailure` resolves false, restarts with a new client as kafkajs does.
 *
 * ```ts
 * consumer.on(consumer.events.CRASH, (e) => console.log(e.payload.restart)) // true
 * failConsumer(consumer, 'test: fenced')
 * ```
 */
export function failConsumer(consumer: Consumer, reason = 'injected fatal error'): void {
  const nc = (consumer as unknown as { nativeConsumer: NativeConsumer | null }).nativeConsumer
  if (!nc) throw new KafkaJSNonRetriableError('failConsumer: the consumer is not running', { field: 'consumer' })
  callSync(() => nc.injectFatalError(reason))
}
