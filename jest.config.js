/** Jest runs the suites under __test__/ against the built package, on MockCluster over TCP. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/**/*.test.js'],
  testPathIgnorePatterns: ['/node_modules/', '/fixtures/'],
  testTimeout: 120000,
  maxWorkers: 2,
}
