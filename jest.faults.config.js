// `npm run test:faults`: the suites that start several real processes (Redis Cluster and
// Sentinel, gateway processes) and break them on purpose. Same setup as jest.config.js.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/faults/**/*.test.ts', '<rootDir>/test/cluster/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 60000,
};
