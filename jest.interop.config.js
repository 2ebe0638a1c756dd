/**
 * The interop suites (__test__/interop/): ferrokafka against tansu, an independent Kafka-compatible
 * broker, started once for the run by global-setup.js. `npm run test:interop`.
 */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/interop/**/*.test.js'],
  globalSetup: '<rootDir>/__test__/interop/global-setup.js',
  globalTeardown: '<rootDir>/__test__/interop/global-teardown.js',
  testTimeout: 60000,
  maxWorkers: 1,
  // Every case by name, so the ones skipped on tansu show with their reason.
  verbose: true,
}
