// Guards the install path users take: the packed root and linux-x64-gnu packages, installed into
// a fresh project outside the repo, work from CommonJS, from ESM and under strict TypeScript.
const { execFileSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')

const repo = path.join(__dirname, '..')
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

let app
let rootTgz
beforeAll(() => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrokafka-pack-'))
  const platformDir = path.join(work, 'linux-x64-gnu')
  fs.cpSync(path.join(repo, 'npm', 'linux-x64-gnu'), platformDir, { recursive: true })
  fs.copyFileSync(path.join(repo, 'ferrokafka.linux-x64-gnu.node'), path.join(platformDir, 'ferrokafka.linux-x64-gnu.node'))
  const platformTgz = path.join(work, npm(['pack', '--silent', '--pack-destination', work], platformDir).trim().split('\n').pop())
  rootTgz = path.join(work, npm(['pack', '--silent', '--pack-destination', work], repo).trim().split('\n').pop())
  app = path.join(work, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', rootTgz, platformTgz], app)
}, 180_000)

const script = (kind) => `
  ${kind === 'esm' ? "import { Kafka, logLevel } from 'ferrokafka'\nimport { MockCluster } from 'ferrokafka/testing'" : "const { Kafka, logLevel } = require('ferrokafka')\nconst { MockCluster } = require('ferrokafka/testing')"}
  const cluster = new MockCluster({ brokers: 1 })
  cluster.createTopic('t', 1, 1)
  const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: 'g' })
  const main = async () => {
    await producer.connect()
    await consumer.connect()
    await consumer.subscribe({ topic: 't', fromBeginning: true })
    const got = new Promise((resolve) => consumer.run({ eachMessage: async ({ message }) => resolve(message.value.toString()) }))
    await producer.send({ topic: 't', messages: [{ value: 'hello from ${kind}' }] })
    console.log(await got)
    await producer.disconnect()
    await consumer.disconnect()
    cluster.close()
  }
  main()
`

test('the packed package installs and runs from CommonJS', () => {
  fs.writeFileSync(path.join(app, 'cjs.js'), script('cjs'))
  const out = execFileSync(process.execPath, ['cjs.js'], { cwd: app, encoding: 'utf8', timeout: 60_000 })
  expect(out.trim()).toBe('hello from cjs')
  expect(fs.realpathSync(path.join(app, 'node_modules', 'ferrokafka'))).not.toContain(repo)
})

test('the packed package runs from ESM', () => {
  fs.writeFileSync(path.join(app, 'esm.mjs'), script('esm'))
  const out = execFileSync(process.execPath, ['esm.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 })
  expect(out.trim()).toBe('hello from esm')
})

test('the installed types check under tsc --strict', () => {
  fs.writeFileSync(path.join(app, 'app.ts'), `
    import { Kafka, KafkaJSError, type EachMessagePayload, type RecordMetadata } from 'ferrokafka'
    import { MockCluster } from 'ferrokafka/testing'
    export async function run(cluster: MockCluster): Promise<RecordMetadata[]> {
      const kafka = new Kafka({ brokers: cluster.brokers })
      const producer = kafka.producer()
      await producer.connect()
      const consumer = kafka.consumer({ groupId: 'g' })
      await consumer.run({ eachMessage: async ({ message }: EachMessagePayload) => { message.value?.toString() } })
      try { return await producer.send({ topic: 't', messages: [{ key: 'k', value: 'v' }] }) }
      catch (e) { if (e instanceof KafkaJSError) console.log(e.retriable); throw e }
    }
  `)
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
  const out = execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--typeRoots', path.join(repo, 'node_modules', '@types'), '--types', 'node', 'app.ts'], { cwd: app, encoding: 'utf8' })
  expect(out).toBe('')
})

test('the linux-x64-gnu binary links only the C runtime (librdkafka, OpenSSL, zlib, zstd are static)', () => {
  const binary = path.join(repo, 'ferrokafka.linux-x64-gnu.node')
  const libs = execFileSync('ldd', [binary], { encoding: 'utf8' })
    .split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean)
  const allowed = /^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|\/lib64\/ld-linux-x86-64\.so\.2)$/
  expect(libs.filter((l) => !allowed.test(l))).toEqual([])
  console.log(`ferrokafka.linux-x64-gnu.node: ${(fs.statSync(binary).size / 2 ** 20).toFixed(1)} MiB; links ${libs.join(', ')}`)
})

test('without its platform package, require() names the platform, the package and how to build', () => {
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrokafka-bare-'))
  fs.writeFileSync(path.join(bare, 'package.json'), JSON.stringify({ name: 'bare', version: '1.0.0', private: true }))
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional', rootTgz], bare)
  const run = require('child_process').spawnSync(process.execPath, ['-e', "require('ferrokafka')"], { cwd: bare, encoding: 'utf8' })
  expect(run.status).not.toBe(0)
  expect(run.stderr).toContain(`ferrokafka has no native binary for ${process.platform}-${process.arch}`)
  expect(run.stderr).toContain('ferrokafka-linux-x64-gnu')
  expect(run.stderr).toContain('npm run build')
})
