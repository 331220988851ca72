// `npm run test:unit`: the pure specs under src/ and bench/, with no PostgreSQL or Redis set-up.
const { globalSetup, globalTeardown, setupFiles, testMatch, ...base } = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts'],
  setupFiles: ['reflect-metadata'],
};
