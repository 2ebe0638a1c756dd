// Stops the tansu broker global-setup.js started and waits for it to exit.
module.exports = async function globalTeardown() {
  const tansu = globalThis.__FERROKAFKA_TANSU__
  if (tansu) await tansu.stop()
}
