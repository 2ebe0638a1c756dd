// One tansu broker for the whole interop run; suites find it through FERROKAFKA_TANSU_BROKERS.
const { startTansu } = require('./tansu')

module.exports = async function globalSetup() {
  const tansu = await startTansu()
  globalThis.__FERROKAFKA_TANSU__ = tansu
  process.env.FERROKAFKA_TANSU_BROKERS = tansu.brokers.join(',')
  process.stderr.write(`\ntansu: ready on ${tansu.brokers[0]} after ${tansu.readyAfterMs} ms; log: ${tansu.logFile}\n`)
}
