// NestJS 12 (ESM-only; loads `kafkajs` with `import()`) on ferrokafka: fixtures/nestjs12 is
// installed from the registry into a cache directory outside the repo (reused while its
// package.json is unchanged), `node_modules/kafkajs` there is linked to this package, and the app
// answers @MessagePattern through ClientKafka.send(), receives an emit()ted event with its key and
// headers, and exits on its own after client.close() and app.close(). Prints the timings.
const { execFileSync, spawn } = require('child_process')
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { MockCluster } = require('..')
const { within } = require('./helpers')

const repo = path.join(__dirname, '..')
const fixture = path.join(__dirname, 'fixtures', 'nestjs12')

/** The installed fixture: `os.tmpdir()/ferrokafka-nest12-<hash of its package.json>`. */
function installedApp() {
  const manifest = fs.readFileSync(path.join(fixture, 'package.json'))
  const dir = path.join(os.tmpdir(), `ferrokafka-nest12-${crypto.createHash('sha256').update(manifest).digest('hex').slice(0, 12)}`)
  if (!fs.existsSync(path.join(dir, 'node_modules', '@nestjs', 'microservices', 'package.json'))) {
    // Installed beside, then renamed: an interrupted install never passes for a cached one.
    const staging = fs.mkdtempSync(`${dir}-staging-`)
    fs.writeFileSync(path.join(staging, 'package.json'), manifest)
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], { cwd: staging, stdio: ['ignore', 'pipe', 'pipe'] })
    fs.rmSync(dir, { recursive: true, force: true })
    fs.renameSync(staging, dir)
  }
  // What `"kafkajs": "npm:ferrokafka"` gives an application, pointing at this worktree's build.
  const link = path.join(dir, 'node_modules', 'kafkajs')
  const old = fs.lstatSync(link, { throwIfNoEntry: false })
  if (old?.isSymbolicLink()) fs.unlinkSync(link)
  else if (old) fs.rmSync(link, { recursive: true })
  fs.symlinkSync(repo, link, 'dir')
  fs.copyFileSync(path.join(fixture, 'app.mjs'), path.join(dir, 'app.mjs'))
  return dir
}

let app, cluster
beforeAll(() => {
  app = installedApp()
  cluster = new MockCluster({ brokers: 1 })
  for (const t of ['math.sum', 'math.sum.reply', 'order.created']) cluster.createTopic(t, 1, 1)
}, 180_000)
afterAll(() => cluster?.close())

test('a NestJS 12 Kafka microservice answers @MessagePattern and receives @EventPattern on ferrokafka', async () => {
  expect(fs.realpathSync(path.join(app, 'node_modules', 'kafkajs'))).toBe(fs.realpathSync(repo))
  const child = spawn(process.execPath, [path.join(app, 'app.mjs')], { cwd: app, env: { ...process.env, KAFKA_BROKERS: cluster.bootstrapServers } })
  let stdout = '', stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  // Bounded, not killed by Jest: exiting by itself within the bound is part of the contract.
  const { code, signal } = await within(60_000, exited, 'the NestJS 12 app').catch((e) => { child.kill(); throw e })
  expect({ code, signal }).toEqual({ code: 0, signal: null })
  expect(stderr).not.toMatch(/ERROR/)
  const result = JSON.parse(stdout.trim().split('\n').pop())
  expect(result.reply).toBe('6')
  expect(result.event).toEqual({ data: { id: 1 }, key: 'o-1', headers: { h: 'v' } })
  // ClientKafka's reply-partition assigner is replaced once, with a warning naming it.
  const warnings = stdout.split('\n').filter((l) => l.includes('cannot run inside librdkafka'))
  expect(warnings).toEqual([expect.stringContaining('"NestReplyPartitionAssigner"')])
  console.log(`NestJS 12 on ferrokafka: listen ${result.listenMs} ms, first reply ${result.replyMs} ms, close ${result.closeMs} ms`)
}, 70_000)
