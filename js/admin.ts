/** kafkajs's Admin client. On an in-process MockCluster, `createTopics` goes through the mock's own call. */
import { bindMethods } from './bind'
import { inspect } from 'util'
import type { NativeAdmin } from '../binding'
import { call, callSync, connecting, KafkaJSNonRetriableError } from './errors'
import { Instrumentation } from './instrumentation'
import { RequestEvents } from './request-events'
import type { ClientContext } from './kafka'
import type { Logger } from './logger'
import { native } from './native'
import type { GroupDescription, GroupOverview, ITopicConfig, ITopicMetadata, PartitionOffset } from './types'

/** kafkajs's `describeConfigs` result. */
export interface DescribeConfigResponse {
  throttleTime: number
  resources: {
    errorCode: number
    errorMessage: string | null
    resourceType: number
    resourceName: string
    configEntries: { configName: string; configValue: string | null; readOnly: boolean; isDefault: boolean; configSource: number; isSensitive: boolean; configSynonyms: unknown[] }[]
  }[]
}

/** kafkajs's `describeCluster` result (`controller` null when no broker names one). */
export interface ClusterDescription {
  brokers: { nodeId: number; host: string; port: number }[]
  controller: number | null
  clusterId: string
}

/** kafkajs's `alterConfigs` result. */
export interface AlterConfigResponse {
  throttleTime: number
  resources: { errorCode: number; errorMessage: string | null; resourceType: number; resourceName: string }[]
}
import * as check from './validate'

const events = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
  REQUEST_TIMEOUT: 'admin.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
} as const

/**
 * kafkajs admin calls ferrokafka does not offer yet (the Rust binding to librdkafka has no API for
 * them): they exist so a program gets this error, naming the call, instead of a TypeError.
 */
function notSupported(call: string, api: string): never {
  throw new KafkaJSNonRetriableError(`admin.${call}() is not supported by ferrokafka: librdkafka's ${api} API is not bound yet`, { code: 'ERR_UNSUPPORTED' })
}

export class Admin {
  readonly events = events
  private readonly instrumentation = new Instrumentation(events, 'admin')
  private readonly requests: RequestEvents
  private nativeAdmin: NativeAdmin | null = null
  private connected = false

  /** kafkajs's `Admin` namespace of the client's logger (what `admin.logger()` returns). */
  private readonly log: Logger

  constructor(private readonly ctx: ClientContext, _config: object) {
    this.log = ctx.logger.namespace('Admin')
    this.requests = new RequestEvents(this.instrumentation, events)
    this.nativeAdmin = ctx.early((common) => callSync(() => new native.NativeAdmin(common)))
    bindMethods(this, ['connect', 'disconnect', 'listTopics', 'createTopics', 'deleteTopics', 'createPartitions', 'fetchTopicMetadata',
      'fetchOffsets', 'fetchTopicOffsets', 'fetchTopicOffsetsByTimestamp', 'describeCluster', 'setOffsets', 'resetOffsets', 'describeConfigs',
      'alterConfigs', 'listGroups', 'describeGroups', 'deleteGroups', 'deleteTopicRecords', 'createAcls', 'describeAcls', 'deleteAcls',
      'alterPartitionReassignments', 'listPartitionReassignments', 'on', 'logger'])
  }

  private client(): NativeAdmin {
    if (!this.connected || !this.nativeAdmin) throw new KafkaJSNonRetriableError('The admin client is not connected (call connect() first)')
    return this.nativeAdmin
  }

  async connect(): Promise<void> {
    if (!this.nativeAdmin) {
      const common = await this.ctx.common()
      this.nativeAdmin = callSync(() => new native.NativeAdmin(common))
    }
    await connecting(() => this.nativeAdmin!.connect(this.ctx.connectTimeoutMs))
    this.connected = true
    // The librdkafka client exists from here: its connection's own requests are not reported.
    this.requests.attach(this.nativeAdmin)
    this.instrumentation.emit(events.CONNECT)
  }

  async disconnect(): Promise<void> {
    if (!this.nativeAdmin) return
    this.connected = false
    this.requests.attach(null)
    await call(() => this.nativeAdmin!.disconnect())
    this.instrumentation.emit(events.DISCONNECT)
  }

  /** Resolves `true` if every topic was created, `false` if one already existed. */
  async createTopics(request: { topics: ITopicConfig[]; validateOnly?: boolean; waitForLeaders?: boolean; timeout?: number }): Promise<boolean> {
    const { topics, validateOnly = false } = check.options(request, 'createTopics', false)
    if (!Array.isArray(topics) || topics.length === 0) throw new KafkaJSNonRetriableError('Invalid topics array: must list at least one topic', { field: 'topics' })
    check.bool(validateOnly, 'validateOnly')
    topics.forEach((t, i) => {
      if (!check.isPlainObject(t)) throw check.invalid(`topics[${i}]`, 'must be an object { topic, numPartitions?, ... }')
      check.int(t.numPartitions, `topics[${i}].numPartitions`)
      check.int(t.replicationFactor, `topics[${i}].replicationFactor`)
      if (t.configEntries !== undefined) check.array(t.configEntries, `topics[${i}].configEntries`)
    })
    if (new Set(topics.map((t) => t.topic)).size < topics.length) {
      throw new KafkaJSNonRetriableError('Invalid topics array, it cannot have multiple entries for the same topic', { field: 'topics' })
    }
    const a = this.client()
    return call(() => a.createTopics(topics.map((t) => ({ ...t, replicaAssignment: undefined })), validateOnly))
  }

  async deleteTopics(request: { topics: string[]; timeout?: number }): Promise<void> {
    const topics = check.strings(check.options(request, 'deleteTopics', false).topics, 'topics')
    await call(() => this.client().deleteTopics(topics))
  }

  async createPartitions(request: { topicPartitions: { topic: string; count: number }[]; validateOnly?: boolean; timeout?: number }): Promise<boolean> {
    const { topicPartitions } = check.options(request, 'createPartitions', false)
    check.array(topicPartitions, 'topicPartitions').forEach((t, i) => {
      if (!check.isPlainObject(t)) throw check.invalid(`topicPartitions[${i}]`, 'must be an object { topic, count }')
      check.str(t.topic, `topicPartitions[${i}].topic`)
      check.int(t.count, `topicPartitions[${i}].count`, true)
    })
    return call(() => this.client().createPartitions(topicPartitions))
  }

  async listTopics(): Promise<string[]> {
    const meta = await this.fetchTopicMetadata()
    return meta.topics.map((t) => t.name)
  }

  async fetchTopicMetadata(request?: { topics?: string[] }): Promise<{ topics: ITopicMetadata[] }> {
    const { topics } = check.options(request, 'fetchTopicMetadata')
    if (topics !== undefined) check.strings(topics, 'topics')
    return call(() => this.client().fetchTopicMetadata(topics)) as Promise<{ topics: ITopicMetadata[] }>
  }

  async fetchTopicOffsets(topic: string): Promise<(PartitionOffset & { high: string; low: string })[]> {
    check.str(topic, 'topic')
    return call(() => this.client().fetchTopicOffsets(topic))
  }

  /**
   * Per partition, the first offset whose record's timestamp is at or after `timestamp` (ms), or
   * the high watermark where none is; every high watermark when `timestamp` is omitted.
   */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<PartitionOffset[]> {
    check.str(topic, 'topic')
    if (timestamp !== undefined) check.num(timestamp, 'timestamp')
    return call(() => this.client().fetchTopicOffsetsByTimestamp(topic, timestamp))
  }

  /**
   * A topic's or a broker's configuration (`type`: `ConfigResourceTypes.TOPIC` or `BROKER`, whose
   * `name` is its node id); `configNames` keeps only those entries. `includeSynonyms` is accepted
   * and `configSynonyms` is always empty (librdkafka does not ask for them).
   */
  async describeConfigs(request: { resources: { type: number; name: string; configNames?: string[] }[]; includeSynonyms?: boolean }): Promise<DescribeConfigResponse> {
    const { resources } = check.options(request, 'describeConfigs', false)
    return call(() => this.client().describeConfigs(resources)) as Promise<DescribeConfigResponse>
  }

  /** Sets a topic's or a broker's configuration entries; `validateOnly` checks without applying. */
  async alterConfigs(request: { validateOnly?: boolean; resources: { type: number; name: string; configEntries: { name: string; value: string }[] }[] }): Promise<AlterConfigResponse> {
    const { resources, validateOnly = false } = check.options(request, 'alterConfigs', false)
    check.bool(validateOnly, 'validateOnly')
    return call(() => this.client().alterConfigs(resources, validateOnly)) as Promise<AlterConfigResponse>
  }

  /** Not supported: see {@link notSupported}. */
  async deleteTopicRecords(_request: unknown): Promise<never> { return notSupported('deleteTopicRecords', 'DeleteRecords') }
  async createAcls(_request: unknown): Promise<never> { return notSupported('createAcls', 'CreateAcls') }
  async describeAcls(_request: unknown): Promise<never> { return notSupported('describeAcls', 'DescribeAcls') }
  async deleteAcls(_request: unknown): Promise<never> { return notSupported('deleteAcls', 'DeleteAcls') }
  async alterPartitionReassignments(_request: unknown): Promise<never> { return notSupported('alterPartitionReassignments', 'AlterPartitionReassignments') }
  async listPartitionReassignments(_request: unknown): Promise<never> { return notSupported('listPartitionReassignments', 'ListPartitionReassignments') }

  /** The cluster's brokers, its controller's node id and its cluster id. */
  async describeCluster(): Promise<ClusterDescription> {
    return call(() => this.client().describeCluster()) as Promise<ClusterDescription>
  }

  /**
   * Committed offsets of a group (`-1` where none), grouped by topic as kafkajs 2 returns them.
   * With `resolveOffsets`, as kafkajs: `-1` (latest) becomes the partition's high watermark and
   * `-2` (earliest) its low one, and those offsets are committed for the group (`setOffsets`, so
   * the group must have no running members).
   */
  async fetchOffsets(request: { groupId: string; topics?: string[]; topic?: string; resolveOffsets?: boolean }): Promise<{ topic: string; partitions: (PartitionOffset & { metadata: string | null })[] }[]> {
    const { groupId, topics, topic, resolveOffsets = false } = check.options(request, 'fetchOffsets', false)
    check.str(groupId, 'groupId')
    check.bool(resolveOffsets, 'resolveOffsets')
    const names = topics !== undefined ? check.strings(topics, 'topics') : topic !== undefined ? [check.str(topic, 'topic')] : []
    const committed = (await call(() => this.client().fetchOffsets(groupId, names))) as { topic: string; partitions: (PartitionOffset & { metadata: string | null })[] }[]
    if (!resolveOffsets) return committed
    return Promise.all(committed.map(async ({ topic: name, partitions }) => {
      const marks = new Map((await this.fetchTopicOffsets(name)).map((o) => [o.partition, o]))
      const resolved = partitions.map((p) => {
        const mark = marks.get(p.partition)
        const offset = p.offset === '-1' ? mark?.high : p.offset === '-2' ? mark?.low : p.offset
        return { ...p, offset: offset ?? p.offset }
      })
      await this.setOffsets({ groupId, topic: name, partitions: resolved.map(({ partition, offset }) => ({ partition, offset })) })
      return { topic: name, partitions: resolved }
    }))
  }

  async setOffsets(request: { groupId: string; topic: string; partitions: { partition: number; offset: string }[] }): Promise<void> {
    const { groupId, topic, partitions } = check.options(request, 'setOffsets', false)
    check.str(groupId, 'groupId')
    check.str(topic, 'topic')
    const list = check.topicPartitionOffsets(check.array(partitions, 'partitions').map((p) => (check.isPlainObject(p) ? { ...p, topic } : p)), 'partitions')
    await call(() => this.client().setOffsets(groupId, topic, list.map((p) => ({ partition: p.partition, offset: p.offset }))))
  }

  async resetOffsets(request: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    const { groupId, topic, earliest = false } = check.options(request, 'resetOffsets', false)
    check.str(groupId, 'groupId')
    check.str(topic, 'topic')
    check.bool(earliest, 'earliest')
    await call(() => this.client().resetOffsets(groupId, topic, earliest))
  }

  async listGroups(): Promise<{ groups: GroupOverview[] }> {
    const { groups } = (await call(() => this.client().describeGroups(undefined))) as { groups: GroupDescription[] }
    return { groups: groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType })) }
  }

  async describeGroups(groupIds: string[]): Promise<{ groups: GroupDescription[] }> {
    check.strings(groupIds, 'groupIds')
    const out = (await call(() => this.client().describeGroups(groupIds))) as { groups: any[] }
    for (const g of out.groups) {
      for (const m of g.members) {
        m.memberMetadata = Buffer.from(m.memberMetadata)
        m.memberAssignment = Buffer.from(m.memberAssignment)
      }
    }
    return out as { groups: GroupDescription[] }
  }

  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    check.strings(groupIds, 'groupIds')
    return call(() => this.client().deleteGroups(groupIds))
  }

  on(eventName: string, listener: (event: any) => void): () => void {
    return this.instrumentation.on(eventName, listener)
  }

  logger() {
    return this.log
  }

  [inspect.custom](): string {
    return `Admin { connected: ${this.connected} }`
  }
}
