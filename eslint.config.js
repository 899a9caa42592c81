// Lint, including the layer rule of the architecture: each layer may import only the
// layers below it. The messages say what is allowed, so a newcomer knows where code belongs.
//
//   src-renderer      → contract (types and schemas only), its own files
//   app, serve, cli   → worker (host), contract
//   preload           → contract
//   worker            → engine, contract
//   engine            → nothing above it (no app, serve, cli, worker, preload, renderer)
//   contract          → zod only
import tseslint from 'typescript-eslint';

const layer = (files, banned, allowed) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', {
      patterns: banned.map((group) => ({
        group: [group],
        message: `Bad layering. Allowed from here: ${allowed}.`,
      })),
    }],
  },
});

export default tseslint.config(
  { ignores: ['.*.mjs', 'dist/**', 'release/**', 'node_modules/**', 'test-artifacts/**', '**/*.svelte'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  layer(['src-main/engine/**'], ['**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '**/preload/**', '**/src-renderer/**', 'electron'],
    'engine modules, tfjs, node built-ins'),
  layer(['src-main/contract/**'], ['**/engine/**', '**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '@tensorflow/*', 'electron', 'node:*'],
    'zod only'),
  layer(['src-main/worker/**'], ['**/app/**', '**/serve/**', '**/cli/**', '**/preload/**', 'electron'],
    'engine, contract'),
  layer(['src-main/cli/**', 'src-main/serve/**'], ['**/engine/**', '**/app/**', '**/preload/**', '@tensorflow/*', 'electron'],
    'worker host, contract (tfjs runs only in the engine worker)'),
  layer(['src-main/app/**'], ['**/engine/**', '**/cli/**', '**/preload/**', '@tensorflow/*'],
    'worker host, serve, contract, electron'),
  layer(['src-main/project/**'], ['**/engine/**', '**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '**/preload/**', '@tensorflow/*', 'electron'],
    'contract, node built-ins'),
  layer(['src-main/preload/**'], ['**/engine/**', '**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '@tensorflow/*'],
    'contract, electron (contextBridge, ipcRenderer)'),
  layer(['src-renderer/**'], ['**/src-main/engine/**', '**/src-main/app/**', '**/src-main/serve/**', '**/src-main/cli/**', '**/src-main/worker/**', '@tensorflow/*', 'electron', 'node:*', 'fs', 'path'],
    'src-main/contract (types, schemas) and the renderer\'s own modules'),
  {
    files: ['test/**', 'scripts/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
