// ESM + ts-jest: jose 6 is ESM-only, so the whole project is ESM and Jest runs
// with `node --experimental-vm-modules` (see package.json "test").
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Real-process fault suites and the Cluster/Sentinel suites run with `npm run test:faults`
  // (jest.faults.config.js): they take about a minute and a half on their own. The router
  // suite needs the example's own install: `npm run test:router` (jest.router.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/', '<rootDir>/test/cluster/', '<rootDir>/test/router/'],
  testTimeout: 20000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
};
