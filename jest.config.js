/** Jest runs the suites under __test__/ against the built package, on MockCluster over TCP. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/**/*.test.js'],
  // The interop suites need a tansu broker and run under jest.interop.config.js instead.
  testPathIgnorePatterns: ['/node_modules/', '/fixtures/', '/__test__/interop/'],
  testTimeout: 120000,
  // One suite at a time: every suite runs its own MockCluster and timing-sensitive clients on 2 cores.
  maxWorkers: 1,
}
