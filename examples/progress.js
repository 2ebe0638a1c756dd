// A one-line live progress bar for long work (redrawn in place on a TTY, every 10% otherwise).
function progress(label, total, stream = process.stderr) {
  const started = Date.now()
  let lastPct = -1
  const draw = (done, final = false) => {
    const pct = total ? Math.floor((done / total) * 100) : 100
    if (!final && pct === lastPct) return
    lastPct = pct
    const secs = (Date.now() - started) / 1000
    const rate = secs > 0 ? Math.round(done / secs) : 0
    const width = 30
    const filled = Math.round((pct / 100) * width)
    const line = `${label.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${done}/${total} ${rate.toLocaleString('en-US')} msg/s`
    if (stream.isTTY) stream.write(`\r${line}${final ? '\n' : ''}`)
    else if (final || pct % 10 === 0) stream.write(`${line}\n`)
  }
  return { update: (done) => draw(done), finish: (done) => draw(done, true) }
}
module.exports = { progress }
