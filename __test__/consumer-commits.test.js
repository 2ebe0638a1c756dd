// What a manual- or threshold-committing kafkajs program sees of its offsets, run against kafkajs
// 2.2.4 and ferrokafka on the same MockCluster: commits in the middle of an eachMessage batch
// (autoCommitThreshold, autoCommitInterval), commitOffsetsIfNecessary(offsets) and
// uncommittedOffsets() inside eachBatch, and batch events around a failing handler.
const KafkaJS = require('kafkajs')
const ferro = require('..')
const { unique, startCluster, within, deferred, committedOffset } = require('./helpers')

let cluster
beforeAll(() => ({ cluster } = startCluster(1)))
afterAll(() => cluster.close())

const libs = { kafkajs: KafkaJS, ferrokafka: ferro }

/**
 * Fills a new topic with `count` records per partition, then runs `run(consumer, admin, done)` in a
 * new group of `lib`; resolves with what `done` was given.
 */
async function scenario(lib, { partitions = 1, count }, run) {
  const topic = unique('commits')
  cluster.createTopic(topic, partitions, 1)
  const kafka = new lib.Kafka({ brokers: cluster.brokers, logLevel: lib.logLevel.NOTHING })
  const producer = kafka.producer()
  const admin = kafka.admin()
  const groupId = unique('g')
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
  const finished = deferred()
  try {
    await Promise.all([producer.connect(), admin.connect()])
    for (let partition = 0; partition < partitions; partition++) {
      await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `m${i}`, partition })) })
    }
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const committed = (partition = 0) => committedOffset(admin, groupId, topic, partition)
    await run({ consumer, committed, done: finished.resolve, topic })
    return await within(30_000, finished.promise, `${lib === KafkaJS ? 'kafkajs' : 'ferrokafka'}'s run`)
  } finally {
    await consumer.disconnect()
    await Promise.all([producer.disconnect(), admin.disconnect()])
  }
}

test('autoCommitThreshold commits in the middle of an eachMessage batch, as kafkajs does', async () => {
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    seen[name] = await scenario(lib, { count: 10 }, async ({ consumer, committed, done }) => {
      await consumer.run({
        autoCommitThreshold: 3,
        eachMessage: async ({ message }) => { if (message.offset === '4') done(await committed()) },
      })
    })
  }
  expect(seen).toEqual({ kafkajs: '3', ferrokafka: '3' })
}, 60_000)

test('autoCommitInterval checkpoints a long eachMessage batch before its end, as kafkajs does', async () => {
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    seen[name] = await scenario(lib, { count: 8 }, async ({ consumer, committed, done }) => {
      await consumer.run({
        autoCommitInterval: 500,
        eachMessage: async ({ message }) => {
          if (message.offset === '7') done(Number(await committed()))
          else await new Promise((r) => setTimeout(r, 300)) // the workload: 300 ms a record
        },
      })
    })
  }
  console.log(`committed while the last record of the batch is handled: ${JSON.stringify(seen)}`)
  // Offsets of records handled at least an interval earlier are committed (kafkajs: 6 here).
  for (const name of Object.keys(libs)) expect([name, seen[name] >= 4]).toEqual([name, true])
}, 60_000)

test('commitOffsetsIfNecessary(offsets) inside eachBatch commits the offsets given, with autoCommit off', async () => {
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    seen[name] = await scenario(lib, { count: 5 }, async ({ consumer, committed, done, topic }) => {
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ commitOffsetsIfNecessary }) => {
          await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: 0, offset: '2' }] }] })
          done(await committed())
        },
      })
    })
  }
  expect(seen).toEqual({ kafkajs: '2', ferrokafka: '2' })
}, 60_000)

test.each([
  ['{} commits every resolved offset, autoCommit off', { autoCommit: false }, {}, { kafkajs: '1', ferrokafka: '1' }],
  ['() commits once autoCommitThreshold is reached, whatever autoCommit says', { autoCommit: false, autoCommitThreshold: 1 }, undefined, { kafkajs: '1', ferrokafka: '1' }],
  ['() with no threshold or interval commits nothing before the batch ends', {}, undefined, { kafkajs: '-1', ferrokafka: '-1' }],
])('commitOffsetsIfNecessary%s', async (_, options, argument, expected) => {
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    seen[name] = await scenario(lib, { count: 5 }, async ({ consumer, committed, done }) => {
      await consumer.run({
        ...options,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
          resolveOffset(batch.messages[0].offset)
          await (argument === undefined ? commitOffsetsIfNecessary() : commitOffsetsIfNecessary(argument))
          done(await committed())
        },
      })
    })
  }
  expect(seen).toEqual(expected)
}, 60_000)

test('uncommittedOffsets() inside eachBatch lists what every partition resolved and nothing committed', async () => {
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    seen[name] = await scenario(lib, { partitions: 2, count: 3 }, async ({ consumer, done, topic }) => {
      const batches = []
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, uncommittedOffsets }) => {
          if (batches.some((b) => b.partition === batch.partition)) return
          resolveOffset(batch.messages[0].offset)
          batches.push({ partition: batch.partition, uncommitted: uncommittedOffsets() })
          if (batches.length === 2) done(batches)
        },
      })
      void topic
    })
  }
  for (const [name, batches] of Object.entries(seen)) {
    // The second batch sees its own resolved offset and the first batch's partition's (kafkajs's
    // partitions are strings, read from object keys).
    const [first, second] = batches
    const listed = second.uncommitted.topics.flatMap((t) => t.partitions.map((p) => `${p.partition}@${p.offset}`)).sort()
    expect([name, listed]).toEqual([name, [`${first.partition}@1`, `${second.partition}@1`].sort()])
  }
}, 60_000)

test('uncommittedOffsets() no longer lists what commitOffsetsIfNecessary(offsets) committed in the same batch', async () => {
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    seen[name] = await scenario(lib, { count: 3 }, async ({ consumer, done, topic }) => {
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets }) => {
          for (const m of batch.messages) resolveOffset(m.offset)
          const before = uncommittedOffsets().topics.flatMap((t) => t.partitions.map((p) => p.offset))
          const next = String(Number(batch.lastOffset()) + 1)
          await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: batch.partition, offset: next }] }] })
          // Batches may be cut differently: what matters is the batch's own end, then nothing.
          done({ before: before.map((o) => o === next), after: uncommittedOffsets().topics })
        },
      })
    })
  }
  expect(seen).toEqual({ kafkajs: { before: [true], after: [] }, ferrokafka: { before: [true], after: [] } })
}, 60_000)

test('a batch whose handler threw has START_BATCH_PROCESS but no END_BATCH_PROCESS, as in kafkajs', async () => {
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    seen[name] = await scenario(lib, { count: 3 }, async ({ consumer, done }) => {
      const events = []
      consumer.on(consumer.events.START_BATCH_PROCESS, () => events.push('start'))
      consumer.on(consumer.events.END_BATCH_PROCESS, () => {
        events.push('end')
        if (events.filter((e) => e === 'end').length === 1) done(events)
      })
      let failed = false
      await consumer.run({
        eachBatch: async () => {
          if (!failed) { failed = true; throw new Error('first attempt fails') }
        },
      })
    })
  }
  expect(seen).toEqual({ kafkajs: ['start', 'start', 'end'], ferrokafka: ['start', 'start', 'end'] })
}, 60_000)

test("COMMIT_OFFSETS's partitions are strings for the run loop's commits and numbers for commitOffsets(), as kafkajs reports them", async () => {
  const seen = {}
  for (const [name, lib] of Object.entries(libs)) {
    seen[name] = await scenario(lib, { count: 3 }, async ({ consumer, topic, done }) => {
      let auto = null
      consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
        const [{ partitions: [p] }] = payload.topics
        const seen = { partition: p.partition, offset: String(p.offset) }
        // The run loop's commit of the last record (records may come in more than one batch),
        // then an explicit one.
        if (auto === null) {
          if (seen.offset !== '3') return
          auto = seen
          consumer.commitOffsets([{ topic, partition: 0, offset: '3' }]).catch(done)
        } else done([auto, seen])
      })
      await consumer.run({ eachMessage: async () => {} })
    })
  }
  expect(seen.ferrokafka).toEqual(seen.kafkajs)
  expect(seen.kafkajs).toEqual([{ partition: '0', offset: '3' }, { partition: 0, offset: '3' }])
}, 60_000)
