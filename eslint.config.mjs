// Type-aware lint, zero warnings. Generated code and plain-JS scripts are outside the project.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import boundaries from 'eslint-plugin-boundaries';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The module graph of src/ (docs/ARCHITECTURE.md, "The module graph"): layers import downwards only, and a
// feature module reaches another only through its Nest module, its services and its domain/.
const ELEMENTS = [
  { type: 'generated', pattern: 'src/generated' },
  { type: 'shared', pattern: 'src/shared' },
  { type: 'infra', pattern: 'src/infra' },
  { type: 'config', pattern: 'src/config' },
  // billing/ is a group of modules (ledger, payments, settlement, statements, currencies), each
  // its own element: one reaches another only through its public surface, as top-level modules do.
  { type: 'module', pattern: 'src/modules/billing/*', capture: ['name'] },
  { type: 'module', pattern: 'src/modules/*', capture: ['name'] },
  { type: 'app', pattern: 'src/(app|bootstrap|cli)' },
];
const BELOW_MODULES = ['generated', 'shared', 'infra', 'config'];
// `*.response.ts`: response shapes another module's response embeds (they are public contract anyway).
const MODULE_SURFACE = ['**/*.module.ts', '**/*.service.ts', 'domain/**', 'dto/*.response.ts'];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      'node_modules/**',
      'src/generated/**',
      'prisma.config.ts',
      'scripts/**/*.mjs',
      'test/support/*.cjs',
      'jest.config.js',
      'jest.unit.config.js',
      'eslint.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/explicit-function-return-type': [
        'error',
        { allowExpressions: true, allowTypedFunctionExpressions: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    plugins: { boundaries, 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'boundaries/elements': ELEMENTS,
      'boundaries/include': ['src/**/*.ts'],
      'boundaries/ignore': ['src/**/*.spec.ts'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
      'import/resolver': { typescript: { project: 'tsconfig.json' } },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: [
            { from: { element: { type: 'generated' } }, allow: { to: { element: { type: 'generated' } } } },
            {
              from: { element: { type: 'shared' } },
              allow: { to: { element: { types: ['shared', 'generated'] } } },
            },
            { from: { element: { type: 'infra' } }, allow: { to: { element: { types: BELOW_MODULES } } } },
            { from: { element: { type: 'config' } }, allow: { to: { element: { types: BELOW_MODULES } } } },
            { from: { element: { type: 'module' } }, allow: { to: { element: { types: BELOW_MODULES } } } },
            // Inside one module, anything; another module, only its public surface.
            {
              from: { element: { type: 'module' } },
              allow: {
                to: { element: { type: 'module', captured: { name: '{{ from.element.captured.name }}' } } },
              },
            },
            {
              from: { element: { type: 'module' } },
              allow: { to: { element: { type: 'module', fileInternalPath: MODULE_SURFACE } } },
            },
            // The composition root (app/, bootstrap/, cli/) wires everything.
            { from: { element: { type: 'app' } }, allow: { to: { element: { types: ['*'] } } } },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts', 'bench/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/explicit-function-return-type': 'off',
    },
  },
  prettier,
);
