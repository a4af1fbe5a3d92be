// ESLint flat config. Pragmatic on purpose: only rules that catch real bugs or enforce the layering
// of shared/DESIGN.md ("may import" column) are on; formatting is Prettier's job.
import { builtinModules } from 'node:module';
import importPlugin from 'eslint-plugin-import';
import tseslint from 'typescript-eslint';

const TS_FILES = ['{src,api,activities,workflows,test,scripts,bench}/**/*.ts', '*.ts'];

// Every Node built-in by its bare name (`fs`, `fs/promises`, …); the `node:` spellings are a pattern.
const nodeBuiltins = [...new Set(builtinModules.filter((m) => !m.startsWith('_') && !m.startsWith('node:')))];

const builtinsRule = {
  name: '',
  message: 'Workflow code runs in the deterministic sandbox: no Node built-ins (do the I/O in an activity).',
};

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', '.data/**', 'sdk/**', 'src/generated/**', '**/*.d.ts'],
  },

  // ------------------------------------------------------------ everything in TypeScript
  {
    files: TS_FILES,
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      sourceType: 'module',
      ecmaVersion: 2022,
    },
    plugins: { '@typescript-eslint': tseslint.plugin, import: importPlugin },
    settings: {
      'import/extensions': ['.ts', '.js', '.mjs', '.cjs'],
      'import/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import/resolver': { node: { extensions: ['.ts', '.js', '.json', '.mjs', '.cjs'] } },
      'import/ignore': ['node_modules'],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Real bugs: a promise nobody awaits loses its rejection (and its ordering).
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      // `import type` keeps type-only edges out of the runtime graph (and out of the workflow bundle).
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // Runtime import cycles (type-only imports are ignored by the rule).
      'import/no-cycle': ['error', { ignoreExternal: true, maxDepth: Infinity }],
    },
  },

  // ------------------------------------------------------------ no console in library code
  {
    files: ['src/**/*.ts', 'api/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts'],
    ignores: ['src/bin/**', 'src/dev/**', '**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },

  // ------------------------------------------------------------ layering (DESIGN.md "may import")
  {
    // Workflow code is bundled into Temporal's sandbox: pure orchestration only. Tests next to the
    // workflows (bundling, replay) run in Node and are exempt.
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ ...builtinsRule, name })),
          patterns: [
            { regex: '^node:', message: builtinsRule.message },
            {
              regex: '^(@prisma/|pg$|pg/|pg-)',
              message: 'Workflows never touch the database: write through a persistence activity.',
            },
            {
              regex: '^@temporalio/(client|worker|activity|testing)(/|$)',
              message: 'Workflows import only @temporalio/workflow (and @temporalio/common).',
            },
            { regex: '^(\\.\\./)+api(/|$)', message: 'Workflows never import the API.' },
            { regex: '^(\\.\\./)+src/bin(/|$)', message: 'Workflows never import entry points.' },
            {
              regex: '^(\\.\\./)+src/(?!shared(/|$))',
              message:
                'Workflows may import only pure code from src/shared (src/db, src/services, the Prisma client, … do I/O).',
            },
            {
              regex: '^(\\.\\./)+activities(/|$)',
              allowTypeImports: true,
              message: 'Workflows call activities through proxyActivities<Activities>: `import type` only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+workflows(/|$)',
              allowTypeImports: true,
              message: 'Activities never import workflow code (shared types live in src/shared).',
            },
            { regex: '^(\\.\\./)+api(/|$)', message: 'Activities never import the API.' },
            { regex: '^(\\.\\./)+src/bin(/|$)', message: 'Only entry points compose everything.' },
          ],
        },
      ],
    },
  },
  {
    files: ['api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@temporalio/worker', message: 'The API never runs worker code.' }],
          patterns: [
            { regex: '^(\\.\\./)+activities(/|$)', message: 'The API never imports worker code (activities).' },
            {
              regex: '^(\\.\\./)+workflows(/|$)',
              message: 'The API never imports workflow code; use src/shared/workflow-defs.',
            },
            { regex: '^(\\.\\./)+src/bin(/|$)', message: 'Only entry points compose everything.' },
          ],
        },
      ],
    },
  },
  {
    // Pure domain code: the allowlist of DESIGN.md, nothing else (no Node built-ins, no I/O).
    files: ['src/shared/**/*.ts'],
    ignores: ['src/shared/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!(zod|jsonpath-plus|@temporalio/workflow|@temporalio/common)(/|$)|\\./)',
              message:
                'src/shared is pure: it may import only zod, jsonpath-plus, @temporalio/workflow, @temporalio/common and files inside src/shared.',
            },
          ],
        },
      ],
    },
  },
  {
    // Everything outside the entry points stays off src/bin (composition roots import everything).
    files: ['src/**/*.ts'],
    ignores: ['src/bin/**', 'src/shared/**', 'src/dev/**', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+bin(/|$)',
              message: 'Only entry points (src/bin) compose everything; nothing imports them.',
            },
            {
              regex: '^(\\.\\./)+(activities|workflows|api)(/|$)',
              message: 'src/* never imports the worker or the API.',
            },
          ],
        },
      ],
    },
  },
);
