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

// The layers, top to bottom: a folder imports only from folders below it (and its own). The edges (scripts/,
// bench/, faults/, test/) may import anything; worker/ is the composition root.
const LAYERS = [
  ['worker', 'api'],
  ['web'],
  ['client', 'schedules'],
  ['workflows'],
  ['activities'],
  ['infra', 'queries'],
  ['db'],
  ['domain'],
];
const EDGES = ['scripts', 'bench', 'faults', 'test'];
/** no-restricted-imports patterns for a folder: every folder of a higher layer (and the edges). */
function upward(folder) {
  const at = LAYERS.findIndex((l) => l.includes(folder));
  const above = [...EDGES, ...LAYERS.slice(0, at).flat()];
  return {
    group: above.flatMap((f) => [`../${f}`, `../${f}/*`]),
    message: `${folder}/ imports only down the layers.`,
  };
}
const typeOnly = (folder, what) => ({
  group: [`../${what}`, `../${what}/*`],
  allowTypeImports: true,
  message: `${folder}/ imports ${what}/ as types only.`,
});
const layerRule = (folder, extra = []) => ({
  files: [`${folder}/**/*.ts`],
  rules: { 'no-restricted-imports': ['error', { patterns: [upward(folder), ...extra] }] },
});

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
  layerRule('domain'),
  layerRule('db'),
  layerRule('infra'),
  layerRule('queries'),
  layerRule('activities'),
  layerRule('client', [typeOnly('client', 'workflows')]),
  layerRule('schedules', [typeOnly('schedules', 'workflows')]),
  layerRule('worker'),
  {
    // Pages are rendered from the scoped read layer; the server (api/) registers them, never the other way.
    files: ['web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...EDGES, 'worker', 'api', 'workflows', 'activities'].flatMap((f) => [
                `../${f}`,
                `../${f}/*`,
                `../../${f}`,
                `../../${f}/*`,
              ]),
              message: 'web/ imports neither the edges, the server, the worker, workflows nor activities.',
            },
          ],
        },
      ],
    },
  },
  {
    // The HTTP composition root starts work through client/ like the CLI; it never runs workflow or activity code.
    files: ['api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...EDGES, 'worker', 'workflows', 'activities'].flatMap((f) => [
                `../${f}`,
                `../${f}/*`,
                `../../${f}`,
                `../../${f}/*`,
              ]),
              message: 'api/ imports neither the edges, the worker, workflows nor activities.',
            },
          ],
        },
      ],
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
            upward('workflows'),
            { group: ['node:*'], message: 'No Node builtins in workflow code.' },
            {
              group: ['../infra', '../infra/*', '../db', '../db/*', '../queries', '../queries/*'],
              message: 'Workflows stay pure.',
            },
            typeOnly('workflows', 'activities'),
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
