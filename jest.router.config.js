// `npm run test:router`: the example supergraph behind a real router (Hive Gateway), which the
// example installs apart from the product (examples/supergraph/package.json); the script
// installs it first. Same setup as jest.config.js.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/router/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 60000,
};
