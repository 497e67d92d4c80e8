import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeAndIo = [
  'fs',
  'path',
  'os',
  'crypto',
  'child_process',
  'net',
  'http',
  'https',
  'stream',
  'readline',
  'pg',
  'knex',
  'nodemailer',
  'pg-copy-streams',
  'csv-parse',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.orgtally/**', 'out/**', 'coverage/**', '*.js', '*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Workflow code is replayed: it must be deterministic and free of I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeAndIo,
          patterns: [
            { group: ['node:*'], message: 'No Node builtins in workflow code.' },
            {
              group: ['../infra/*', '../db/*', '../worker/*', '../scripts/*'],
              message: 'Workflows stay pure.',
            },
            {
              group: ['../activities/*', '../activities'],
              importNamePattern: '^(?!type )',
              allowTypeImports: true,
              message: 'Import activities as types only.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'process'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Business time is an input; use workflow time APIs.' },
        { object: 'Math', property: 'random', message: 'Use workflow uuid4 / deterministic values.' },
      ],
    },
  },
);
