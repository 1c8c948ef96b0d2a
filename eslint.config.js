// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// The two packages of this tree (docs/architecture.md). The runtime is what services install: it
// never reaches into the toolkit, nor loads what only the toolkit needs.
const RUNTIME_FOLDERS =
  'errors|redact|log|clock|node-id|storage|lease|membership|bus|cluster|events|version|status|cost|counter|telemetry|table-layout';
const TOOLKIT_FOLDERS = 'cli|edge|dev|toolkit';
const TOOLKIT_PACKAGES = [
  'azurite',
  'ts-morph',
  'typescript',
  'commander',
  '@commander-js/extra-typings',
  'ajv',
  'yaml',
  'diff',
  'cli-progress',
  'picocolors',
  'ignore',
  'gossipless',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'packages/*/dist/**',
      'node_modules/**',
      'test/fixtures/**',
      'examples/**',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['src/index.ts', `src/{${RUNTIME_FOLDERS.split('|').join(',')}}/**/*.ts`, 'shims/**/*.{ts,cts}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: TOOLKIT_PACKAGES.map((name) => ({
            name,
            message:
              'the runtime (@gossipless/runtime) depends on the Azure SDK only: this belongs to the toolkit',
          })),
          patterns: [
            {
              regex: `(^|/)(${TOOLKIT_FOLDERS}|codemods)/|^gossipless/|^(${TOOLKIT_PACKAGES.join('|')})/`,
              message: 'the runtime never imports the toolkit (src/cli, src/edge, src/dev, codemods)',
            },
          ],
        },
      ],
    },
  },
  {
    files: [`src/{${TOOLKIT_FOLDERS.split('|').join(',')}}/**/*.ts`, 'codemods/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^\\.{1,2}/(\\.\\./)*(src/)?(${RUNTIME_FOLDERS})/|^\\.{1,2}/(\\.\\./)*(shims/|index\\.js$)`,
              message:
                "import the runtime as '@gossipless/runtime' (or '@gossipless/runtime/errors'): a relative import would compile a second copy of it into the toolkit",
            },
          ],
        },
      ],
    },
  },
);
