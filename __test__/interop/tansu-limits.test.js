// The tansu limits the interop suites' skips cite, measured on the wire without ferrokafka's
// consumer: if a tansu upgrade lifts one, its test here fails and the skip can become a test again.
const { unique } = require('../helpers')
const { tansuKafka, tansuBrokers, createTopic, produce, figure } = require('./env')
const { apiKeys, fetchBatchHeaders, listOffset } = require('./wire')

const kafka = tansuKafka('interop-limits')
const port = () => Number(tansuBrokers()[0].split(':')[1])

test('ApiVersions: no EndTxn (26) and no CreatePartitions (37); InitProducerId (22) is there', async () => {
  const keys = await apiKeys(port())
  figure('tansu API keys', [...keys].sort((a, b) => a - b))
  expect(keys.has(26)).toBe(false)
  expect(keys.has(37)).toBe(false)
  expect(keys.has(22)).toBe(true)
})

/** A 5-record batch at offset 0 and a 3-record batch at offset 5, as tansu stored them. */
async function twoBatches() {
  const topic = unique('t')
  await createTopic(kafka, topic, 1)
  // A linger longer than queuing 5 records takes: each send's records leave as one batch.
  await produce(kafka, topic, Array.from({ length: 5 }, (_, i) => ({ value: `a${i}` })), { lingerMs: 200 })
  await produce(kafka, topic, Array.from({ length: 3 }, (_, i) => ({ value: `b${i}` })), { lingerMs: 200 })
  const stored = await fetchBatchHeaders(port(), topic, 0, 0)
  expect(stored.slice(0, 1)).toEqual([expect.objectContaining({ baseOffset: '0', records: 5 })])
  expect(stored.reduce((n, b) => n + b.records, 0)).toBe(8)
  return topic
}

test('Fetch at an offset inside a stored batch skips the rest of that batch', async () => {
  const topic = await twoBatches()
  const fromTwo = await fetchBatchHeaders(port(), topic, 0, 2)
  figure('Fetch at offset 2: base offsets of the batches answered', fromTwo.map((b) => b.baseOffset))
  expect(fromTwo.some((b) => b.baseOffset === '0')).toBe(false)
})

test('ListOffsets(latest) is not the log end offset after multi-record batches', async () => {
  const topic = await twoBatches()
  const latest = await listOffset(port(), topic, 0, -1)
  figure('ListOffsets(latest) after 8 records in 2 batches', latest)
  expect(latest).not.toBe('8')
})
