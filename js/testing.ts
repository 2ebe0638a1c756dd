/**
 * `ferrokafka/testing`: an embedded Kafka cluster (librdkafka's MockCluster) for tests.
 *
 * ```ts
 * const cluster = new MockCluster({ brokers: 3 })
 * cluster.createTopic('orders', 6, 3)
 * const kafka = new Kafka({ brokers: cluster.brokers })
 * // ... cluster.close()
 * ```
 */
import { native } from './native'

export const MockCluster = native.MockCluster
export type MockCluster = InstanceType<typeof native.MockCluster>
