// Guards the "no thread keeps Node alive" rule: a user-style Jest suite that disconnects its
// clients exits on its own under --detectOpenHandles, with no open-handle warning.
const { spawnSync } = require('child_process')
const path = require('path')

test('a user Jest suite exits on its own with --detectOpenHandles and no warning', () => {
  const fixture = path.join(__dirname, 'fixtures', 'user-suite')
  const jestBin = require.resolve('jest/bin/jest')
  const started = Date.now()
  const run = spawnSync(process.execPath, [jestBin, '--config', path.join(fixture, 'jest.config.js'), '--detectOpenHandles'], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, CI: 'true' },
  })
  const output = `${run.stdout}\n${run.stderr}`
  expect(run.signal).toBeNull() // not killed by the timeout: it exited by itself
  expect(output).toMatch(/Tests:\s+1 passed/)
  expect(output).not.toMatch(/open handle/i)
  expect(output).not.toMatch(/did not exit/i)
  expect(run.status).toBe(0)
  console.log(`user suite exited on its own in ${Date.now() - started} ms`)
})

test('a running consumer keeps the process alive while its handler awaits an unref\'d timer, and lets it exit after disconnect', () => {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'alive-while-handling.js')], { encoding: 'utf8', timeout: 60_000 })
  expect(run.signal).toBeNull()
  expect(run.stdout.trim().split('\n')).toEqual(['handler started', 'handler done', 'disconnected'])
  expect(run.status).toBe(0)
})
