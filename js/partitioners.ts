/**
 * kafkajs's partitioner and assigner names. The Java-compatible murmur2 partitioner runs inside
 * librdkafka (`partitioner=murmur2_random`), so choosing it costs no JavaScript per message.
 */
import type { ICustomPartitioner } from './types'

const marker = (name: string): ICustomPartitioner => {
  const f = (() => () => -1) as ICustomPartitioner & { partitionerName?: string }
  f.partitionerName = name
  return f
}

export const Partitioners = {
  DefaultPartitioner: marker('murmur2'),
  JavaCompatiblePartitioner: marker('murmur2'),
  LegacyPartitioner: marker('legacy'),
}

const assigner = (name: string) => Object.assign(() => ({ name, version: 0 }), { assignerName: name })

/** kafkajs's built-in assigners map to librdkafka's strategies of the same name. */
export const PartitionAssigners = {
  roundRobin: assigner('roundrobin'),
  range: assigner('range'),
  cooperativeSticky: assigner('cooperative-sticky'),
}
