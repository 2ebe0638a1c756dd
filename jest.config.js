/** Jest runs the suites under __test__/ against the built package, on MockCluster over TCP. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/**/*.test.js'],
  testPathIgnorePatterns: ['/node_modules/', '/fixtures/'],
  testTimeout: 120000,
  // One suite at a time: every suite runs its own MockCluster and timing-sensitive clients on 2 cores.
  maxWorkers: 1,
}
