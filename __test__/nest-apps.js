// NestJS applications run in child processes from fixtures installed once into `os.tmpdir()`, with
// this package placed in their node_modules as `npm install` would place it, under its own name
// or under an alias (`"kafkajs": "npm:ferrokafka"`). Nothing in the app resolves to the repo.
const { execFileSync, spawn } = require('child_process')
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { within } = require('./helpers')

const repo = path.join(__dirname, '..')

/**
 * Copies this package's published files (package.json `files`) to `dir`, the native binary
 * linked. A copy, not a link to the repo: Node resolves a linked package's own `require`s from
 * its real path, so `@nestjs/*` would come from the repo's node_modules (NestJS 11), not the
 * app's, and the app would run two NestJS copies.
 */
function placePackage(dir) {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  const manifest = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'))
  for (const entry of ['package.json', ...manifest.files]) fs.cpSync(path.join(repo, entry), path.join(dir, entry), { recursive: true })
  for (const binary of fs.readdirSync(repo).filter((f) => f.endsWith('.node'))) fs.symlinkSync(path.join(repo, binary), path.join(dir, binary))
}

/**
 * `fixtures/<fixture>` installed into `os.tmpdir()/ferrokafka-<prefix>-<hash of its
 * package.json>` (reused while the manifest is unchanged), with this package under each name of
 * `as`, and the fixture's other files and the `shared` files of fixtures/ copied in afresh.
 * Returns the directory.
 */
function installedFixture(fixture, { prefix, as = ['ferrokafka'], shared = [] }) {
  const source = path.join(__dirname, 'fixtures', fixture)
  const manifest = fs.readFileSync(path.join(source, 'package.json'))
  const hash = crypto.createHash('sha256').update(manifest).digest('hex').slice(0, 12)
  const dir = path.join(os.tmpdir(), `ferrokafka-${prefix}-${hash}`)
  const deps = Object.keys(JSON.parse(manifest).dependencies ?? {})
  if (!deps.every((d) => fs.existsSync(path.join(dir, 'node_modules', d, 'package.json')))) {
    // Installed beside, then renamed: an interrupted install never passes for a cached one.
    const staging = fs.mkdtempSync(`${dir}-staging-`)
    fs.writeFileSync(path.join(staging, 'package.json'), manifest)
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], { cwd: staging, stdio: ['ignore', 'pipe', 'pipe'] })
    fs.rmSync(dir, { recursive: true, force: true })
    fs.renameSync(staging, dir)
  }
  for (const name of as) placePackage(path.join(dir, 'node_modules', name))
  for (const file of fs.readdirSync(source).filter((f) => f !== 'package.json')) fs.cpSync(path.join(source, file), path.join(dir, file), { recursive: true })
  for (const file of shared) fs.copyFileSync(path.join(__dirname, 'fixtures', file), path.join(dir, file))
  return dir
}

/**
 * Runs `node <script>` in `dir` with `env` added and resolves with `{ code, signal, stdout,
 * stderr, result }` (`result`: the last stdout line as JSON, if any). Bounded by `ms`, not killed
 * by Jest: exiting by itself within the bound is part of every app's contract.
 */
async function runApp(dir, script, env, ms, what) {
  const child = spawn(process.execPath, [path.join(dir, script)], { cwd: dir, env: { ...process.env, ...env } })
  let stdout = '', stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  const { code, signal } = await within(ms, exited, what).catch((e) => { child.kill(); throw e })
  let result
  try { result = JSON.parse(stdout.trim().split('\n').pop()) } catch { result = undefined }
  return { code, signal, stdout, stderr, result }
}

module.exports = { installedFixture, runApp, repo }
