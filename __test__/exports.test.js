// Guards the "change the import only" promise: every name kafkajs 2.2.4 exports exists here with
// the same kind, enums hold the same keys and values, and the error classes keep kafkajs's
// hierarchy and names. Compared mechanically against the installed kafkajs.
const kafkajs = require('kafkajs')
// isKafkaJSError and isRebalancing live in kafkajs's errors module.
const kafkajsErrors = require('kafkajs/src/errors')
const ferro = require('..')

test('every kafkajs export exists with the same kind', () => {
  const missing = Object.keys(kafkajs).filter((name) => !(name in ferro))
  expect(missing).toEqual([])
  const kinds = Object.keys(kafkajs).filter((name) => typeof kafkajs[name] !== typeof ferro[name])
  expect(kinds).toEqual([])
})

test.each(['logLevel', 'CompressionTypes', 'ConfigResourceTypes', 'AclResourceTypes', 'AclOperationTypes', 'AclPermissionTypes', 'ResourcePatternTypes', 'ConfigSource'])('enum %s matches kafkajs', (name) => {
  expect(ferro[name]).toEqual(kafkajs[name])
})

test('error classes keep kafkajs names and hierarchy', () => {
  const errors = Object.keys(kafkajs).filter((n) => /^KafkaJS/.test(n) && typeof kafkajs[n] === 'function')
  expect(errors.length).toBeGreaterThan(20)
  for (const name of errors) {
    // Options enough for every kafkajs constructor (some read retryCount, partitions, errors).
    const opts = { retryCount: 0, retryTime: 0, partitions: [], errors: [] }
    const args = name === 'KafkaJSDeleteTopicRecordsError' ? [{ partitions: [] }] : ['x', opts]
    const theirs = new kafkajs[name](...args)
    const ours = new ferro[name](...args)
    expect([name, ours.retriable]).toEqual([name, theirs.retriable])
    expect(ours.name).toBe(theirs.name)
    for (const base of ['KafkaJSError', 'KafkaJSNonRetriableError', 'KafkaJSProtocolError', 'KafkaJSConnectionError']) {
      expect([name, base, ours instanceof ferro[base]]).toEqual([name, base, theirs instanceof kafkajs[base]])
    }
    expect(ours).toBeInstanceOf(Error)
  }
})

test('error constructors keep the fields kafkajs gives them', () => {
  // [class, constructor arguments, fields to compare]
  const cases = [
    ['KafkaJSProtocolError', [{ message: 'm', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true }], ['message', 'type', 'code', 'retriable']],
    ['KafkaJSRequestTimeoutError', ['m', { broker: 'b:1', correlationId: 7, createdAt: 1, sentAt: 2, pendingDuration: 1 }], ['broker', 'correlationId', 'createdAt', 'sentAt', 'pendingDuration']],
    ['KafkaJSTopicMetadataNotLoaded', ['m', { topic: 't' }], ['topic']],
    ['KafkaJSStaleTopicMetadataAssignment', ['m', { topic: 't', unknownPartitions: [3] }], ['topic', 'unknownPartitions']],
    ['KafkaJSServerDoesNotSupportApiKey', ['m', { apiKey: 44, apiName: 'X' }], ['apiKey', 'apiName']],
    ['KafkaJSDeleteGroupsError', ['m', [{ groupId: 'g' }]], ['groups']],
    ['KafkaJSCreateTopicError', [{ message: 'm', type: 'TOPIC_ALREADY_EXISTS', code: 36 }, 't'], ['topic', 'type', 'code']],
    ['KafkaJSAlterPartitionReassignmentsError', [{ message: 'm', type: 'X', code: 1 }, 't', 2], ['topic', 'partition']],
    ['KafkaJSConnectionError', ['m', { broker: 'b:1', code: 'ECONNREFUSED' }], ['broker', 'code']],
    ['KafkaJSNoBrokerAvailableError', [], ['name', 'retriable', 'message']],
    ['KafkaJSInvariantViolation', ['state lost'], ['name', 'retriable', 'message']],
    ['KafkaJSConnectionClosedError', ['closed', { host: 'h', port: 9 }], ['broker', 'host', 'port']],
  ]
  for (const [name, args, fields] of cases) {
    const pick = (e) => [name, Object.fromEntries(fields.map((f) => [f, e[f]]))]
    expect(pick(new ferro[name](...args))).toEqual(pick(new kafkajs[name](...args)))
  }
})

test('isKafkaJSError and isRebalancing behave as kafkajs', () => {
  expect(ferro.isKafkaJSError(new ferro.KafkaJSError('x'))).toBe(kafkajsErrors.isKafkaJSError(new kafkajs.KafkaJSError('x')))
  expect(ferro.isKafkaJSError(new Error('x'))).toBe(kafkajsErrors.isKafkaJSError(new Error('x')))
  for (const type of ['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN']) {
    expect(ferro.isRebalancing({ type })).toBe(kafkajsErrors.isRebalancing({ type }))
  }
})

test('AssignerProtocol encodes and decodes exactly as kafkajs', () => {
  const metadata = { version: 1, topics: ['a', 'b'], userData: Buffer.from('u') }
  const assignment = { version: 1, assignment: { a: [0, 2], b: [1] }, userData: Buffer.from('x') }
  expect(ferro.AssignerProtocol.MemberMetadata.encode(metadata)).toEqual(kafkajs.AssignerProtocol.MemberMetadata.encode(metadata))
  expect(ferro.AssignerProtocol.MemberAssignment.encode(assignment)).toEqual(kafkajs.AssignerProtocol.MemberAssignment.encode(assignment))
  const bytes = kafkajs.AssignerProtocol.MemberAssignment.encode(assignment)
  expect(ferro.AssignerProtocol.MemberAssignment.decode(bytes)).toEqual(kafkajs.AssignerProtocol.MemberAssignment.decode(bytes))
  const mbytes = kafkajs.AssignerProtocol.MemberMetadata.encode(metadata)
  expect(ferro.AssignerProtocol.MemberMetadata.decode(mbytes)).toEqual(kafkajs.AssignerProtocol.MemberMetadata.decode(mbytes))
})

test('producer, consumer and admin event names match kafkajs', () => {
  const theirs = new kafkajs.Kafka({ brokers: ['localhost:1'], logLevel: 0 })
  const ours = new ferro.Kafka({ brokers: ['localhost:1'], logLevel: 0 })
  const pick = (k) => [k.producer().events, k.consumer({ groupId: 'g' }).events, k.admin().events]
  const [tp, tc, ta] = pick(theirs)
  const [op, oc, oa] = pick(ours)
  expect(op).toEqual(tp)
  expect(oa).toEqual(ta)
  for (const [key, value] of Object.entries(tc)) expect([key, oc[key]]).toEqual([key, value])
})

test('client methods are own bound properties wherever kafkajs has them (destructuring works)', () => {
  // kafkajs's clients are objects of closures: NestJS and users destructure them.
  const theirs = new kafkajs.Kafka({ brokers: ['localhost:1'], logLevel: 0 })
  const ours = new ferro.Kafka({ brokers: ['localhost:1'], logLevel: 0 })
  const pick = (k) => ({ producer: k.producer(), consumer: k.consumer({ groupId: 'g' }), admin: k.admin() })
  const [t, o] = [pick(theirs), pick(ours)]
  for (const client of Object.keys(t)) {
    const methods = Object.keys(t[client]).filter((name) => typeof t[client][name] === 'function')
    expect(methods.length).toBeGreaterThan(5)
    const notOwn = methods.filter((name) => !Object.prototype.hasOwnProperty.call(o[client], name) || typeof o[client][name] !== 'function')
    expect([client, notOwn]).toEqual([client, []])
  }
  const { logger } = o.producer
  expect(typeof logger().info).toBe('function')
  const { paused } = o.consumer
  expect(paused()).toEqual([])
})
