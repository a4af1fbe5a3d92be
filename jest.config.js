// jest: two projects. `unit` runs the pure tests next to the code with no stack; `integration` runs
// test/**, with a real Temporal dev server, PostgreSQL and run worker started once by its globalSetup.
// `npm test` runs jest under `node --experimental-vm-modules`: pdf-parse's PDF engine (pdfjs) loads its
// ESM build with a dynamic import(), which jest's module sandbox only allows with that flag.
const transform = {
  '^.+\\.(t|j)sx?$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};
const common = {
  transform,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'cjs', 'mjs', 'json', 'node'],
  // The SDK's sources import their siblings as `./x.js` (what its ESM build needs); resolve them to `./x.ts`.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testPathIgnorePatterns: ['/node_modules/', '/\\.data/', '/dist/'],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60_000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{src,activities,workflows,api,sdk,bench,scripts}/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
};
