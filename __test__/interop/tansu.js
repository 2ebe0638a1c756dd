// Starts and stops a tansu broker (an independent Kafka implementation, in Rust) for the interop
// suites: memory storage, a free loopback port, ready once it answers a real Metadata request.
const { spawn, execFileSync } = require('child_process')
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const { metadataBrokers } = require('./wire')

const repo = path.join(__dirname, '..', '..')

/** The tansu binary's path, building it once if needed (scripts/tansu.sh); throws if it cannot. */
function ensureBinary() {
  try {
    return execFileSync('bash', [path.join(repo, 'scripts', 'tansu.sh')], { stdio: ['ignore', 'pipe', 'inherit'] })
      .toString().trim().split('\n').pop()
  } catch (err) {
    throw new Error(`tansu could not be obtained (scripts/tansu.sh exited with ${err.status}); the interop suite cannot run`)
  }
}

/** A port nothing listens on right now: the kernel's pick for port 0, released at once. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

const tail = (file, lines = 20) => fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')

/**
 * Starts tansu with memory storage on a free loopback port and resolves once it is ready (by
 * default: it answers Metadata with one broker). Resolves with `{ brokers, port, logFile, stop }`;
 * `stop()` kills it and awaits its exit. Rejects (with the log's tail) if tansu exits first or is
 * not ready within `readyMs`.
 *
 * `args` are appended to tansu's command line (say `['--authentication']`); `advertised`
 * (`host:port`) replaces the address tansu gives clients in Metadata, for a proxy in front of it;
 * `ready` resolves truthy once tansu answers (default: Metadata names a broker — an authenticating
 * tansu refuses Metadata before SASL, so pass an ApiVersions probe for it); `rustLog` sets RUST_LOG.
 */
async function startTansu({
  bin = ensureBinary(), readyMs = 20000, logDir = os.tmpdir(), args = [], advertised, rustLog,
  ready = async (port) => (await metadataBrokers(port, 1000)) >= 1,
} = {}) {
  const port = await freePort()
  const url = `tcp://127.0.0.1:${port}`
  const logFile = path.join(logDir, `ferrokafka-tansu-${process.pid}-${port}.log`)
  const log = fs.openSync(logFile, 'w')
  const child = spawn(bin, ['broker', '--listener-url', url, '--advertised-listener-url', advertised ? `tcp://${advertised}` : url,
    '--storage-engine', 'memory://tansu/', '--cluster-id', `ferrokafka-interop-${port}`, ...args], {
    stdio: ['ignore', log, log],
    env: { ...process.env, RUST_LOG: rustLog ?? process.env.RUST_LOG ?? 'warn', NO_COLOR: '1' },
  })
  fs.closeSync(log)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  let gone = null
  exited.then((e) => { gone = e })

  const started = Date.now()
  let lastError
  for (;;) {
    if (gone) {
      const log = tail(logFile)
      const hint = /FeatureNotEnabled/.test(log) ? '\nThis tansu lacks a storage feature: build it with `--features dynostore` (scripts/tansu.sh does).' : ''
      throw new Error(`tansu exited (${gone.code ?? gone.signal}) before it was ready; ${logFile}:\n${log}${hint}`)
    }
    if (Date.now() - started > readyMs) {
      child.kill('SIGKILL')
      await exited
      throw new Error(`tansu was not ready within ${readyMs} ms (${lastError?.message}); ${logFile}:\n${tail(logFile)}`)
    }
    try {
      if (await ready(port)) break
    } catch (err) {
      lastError = err
      // Not listening yet: wait for either its exit or a short retry interval, whichever is first.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 50))])
    }
  }

  return {
    brokers: [`127.0.0.1:${port}`],
    port,
    logFile,
    readyAfterMs: Date.now() - started,
    async stop() {
      if (!gone) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

module.exports = { ensureBinary, startTansu, freePort }
