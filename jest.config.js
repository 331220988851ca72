// Jest in CommonJS mode: @swc/jest compiles our TypeScript and the ESM-only packages NestJS 12
// brings (jest's native ESM cannot load CommonJS packages that require Nest on Node 20).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

const esmPackages = [
  '@nestjs',
  'file-type',
  'strtok3',
  'token-types',
  'peek-readable',
  '@tokenizer',
  'uint8array-extras',
  'content-disposition',
  'cookie',
  '@borewit',
  '@prisma/client/runtime',
  '@prisma/schema-engine-wasm',
];

const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  moduleNameMapper: {
    // Generated Prisma code imports './x.js' for the compiled build; under jest it is './x.ts'.
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The `@/…` alias of tsconfig.json's `paths` (docs/DEVELOPMENT.md, "Imports").
    '^@/(.*)$': '<rootDir>/src/$1',
  },
  testTimeout: 30_000,
  maxWorkers: 2,
  // Each spec file leaves its modules (Nest, Prisma's engine) in the worker's heap: by the end of a
  // full run a worker held about 2 GB of heap and 2.9 GB resident, two of them beside PostgreSQL,
  // Redis and the processes the process tests spawn. A worker past 1 GB after a file is replaced.
  workerIdleMemoryLimit: '1GB',
};

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // The database and Redis set-up; `jest.unit.config.js` drops it for the pure specs.
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/worker-env.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/support/suite-cleanup.ts'],
};
