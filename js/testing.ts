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
import type { MockClusterOptions } from '../binding'
import { native } from './native'

export class MockCluster extends native.MockCluster {
  /** Starts a cluster; the async twin of the constructor, for `beforeAll(async () => ...)`. */
  static async start(options?: MockClusterOptions): Promise<MockCluster> {
    return new MockCluster(options)
  }
}
