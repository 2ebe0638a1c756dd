// A few raw Kafka requests, written byte by byte, to look at tansu without the client under test:
// Metadata (is the broker ready?), Fetch (how are batches stored?), ListOffsets and ApiVersions
// (the limits the interop suites' skips cite).
const net = require('net')

let correlation = 0

/** Encodes a Kafka `string` (int16 length + bytes). */
const str = (s) => {
  const b = Buffer.from(s)
  const len = Buffer.alloc(2)
  len.writeInt16BE(b.length)
  return Buffer.concat([len, b])
}
const int = (bits, v) => {
  const b = Buffer.alloc(bits / 8)
  if (bits === 8) b.writeInt8(v)
  else if (bits === 16) b.writeInt16BE(v)
  else if (bits === 32) b.writeInt32BE(v)
  else b.writeBigInt64BE(BigInt(v))
  return b
}

/** Sends one request (non-flexible header v1) and resolves with the response after its correlation id. */
function request(port, apiKey, apiVersion, body, timeoutMs = 5000) {
  const id = ++correlation
  const payload = Buffer.concat([int(16, apiKey), int(16, apiVersion), int(32, id), str('ferrokafka-interop-probe'), body])
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let got = Buffer.alloc(0)
    let settled = false
    const done = (err, value) => {
      if (settled) return
      settled = true
      socket.destroy()
      clearTimeout(timer)
      err ? reject(err) : resolve(value)
    }
    const timer = setTimeout(() => done(new Error(`no response to api ${apiKey} v${apiVersion}`)), timeoutMs)
    socket.on('connect', () => socket.write(Buffer.concat([int(32, payload.length), payload])))
    socket.on('error', (err) => done(err))
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk])
      if (got.length < 4 || got.length < 4 + got.readInt32BE(0)) return
      if (got.readInt32BE(4) !== id) return done(new Error('response with a wrong correlation id'))
      done(null, got.subarray(8, 4 + got.readInt32BE(0)))
    })
    socket.on('close', () => done(new Error('connection closed before a response')))
  })
}

/** Metadata v1 for all topics; resolves with the number of brokers in the answer. */
async function metadataBrokers(port, timeoutMs) {
  const response = await request(port, 3, 1, int(32, -1), timeoutMs)
  return response.readInt32BE(0)
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

/**
 * Fetch v4 of one partition from `offset`; resolves with the record batches' headers as stored by
 * the broker: `{ baseOffset, bytes, codec, records }`. The batch bodies are not decoded.
 */
async function fetchBatchHeaders(port, topic, partition, offset = 0) {
  const body = Buffer.concat([
    int(32, -1), int(32, 100), int(32, 1), int(32, 16 << 20), int(8, 0), // replica, max wait, min/max bytes, isolation
    int(32, 1), str(topic), int(32, 1), int(32, partition), int(64, offset), int(32, 16 << 20),
  ])
  const r = await request(port, 1, 4, body)
  let o = 4 // throttle time
  if (r.readInt32BE(o) !== 1) throw new Error('Fetch: expected one topic in the response')
  o += 4
  o += 2 + r.readInt16BE(o) // topic name
  o += 4 // partition count (1)
  o += 4 // partition id
  const errorCode = r.readInt16BE(o)
  if (errorCode !== 0) throw new Error(`Fetch: error code ${errorCode}`)
  o += 2 + 8 + 8 // error, high watermark, last stable offset
  const aborted = r.readInt32BE(o)
  o += 4 + Math.max(aborted, 0) * 16
  const size = r.readInt32BE(o)
  o += 4
  const end = o + Math.max(size, 0)
  const batches = []
  while (o + 61 <= end) {
    const baseOffset = r.readBigInt64BE(o)
    const length = r.readInt32BE(o + 8)
    const attributes = r.readInt16BE(o + 8 + 4 + 4 + 1 + 4)
    const records = r.readInt32BE(o + 57)
    batches.push({ baseOffset: String(baseOffset), bytes: 12 + length, codec: CODECS[attributes & 7], records })
    o += 12 + length
  }
  return batches
}

/** ApiVersions v0; resolves with the set of API keys the broker answers. */
async function apiKeys(port, timeoutMs) {
  const r = await request(port, 18, 0, Buffer.alloc(0), timeoutMs)
  const keys = new Set()
  for (let i = 0, n = r.readInt32BE(2); i < n; i++) keys.add(r.readInt16BE(6 + i * 6))
  return keys
}

/** ListOffsets v1 of one partition at `timestamp` (-1 latest, -2 earliest); resolves with the offset as a string. */
async function listOffset(port, topic, partition, timestamp = -1) {
  const body = Buffer.concat([int(32, -1), int(32, 1), str(topic), int(32, 1), int(32, partition), int(64, timestamp)])
  const r = await request(port, 2, 1, body)
  let o = 4 // topic count
  o += 2 + r.readInt16BE(o) // topic name
  o += 4 + 4 // partition count, partition id
  const errorCode = r.readInt16BE(o)
  if (errorCode !== 0) throw new Error(`ListOffsets: error code ${errorCode}`)
  return String(r.readBigInt64BE(o + 2 + 8))
}

module.exports = { request, metadataBrokers, fetchBatchHeaders, apiKeys, listOffset }
