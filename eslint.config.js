// Lint, including the layer rule of the architecture: each layer may import only the
// layers below it. The messages say what is allowed, so a newcomer knows where code belongs.
//
//   src-renderer      → contract (types and schemas only), its own files
//   app, serve, cli   → host, contract (app and serve also project)
//   host              → contract, project (the code both hosts share: router, app calls,
//                       engine supervisor, the parent side of the engine worker)
//   preload           → contract
//   worker            → engine, contract (the engine worker's child entry only)
//   engine            → nothing above it (no app, serve, cli, worker, preload, renderer)
//   contract          → zod only
//   files             → node built-ins only (file safety the engine and the hosts share)
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

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
  { ignores: ['.*.mjs', 'dist/**', 'release/**', 'node_modules/**', 'test-artifacts/**'] },
  ...tseslint.configs.recommended,
  // Svelte components: the plugin's recommended rules, with TypeScript in <script lang="ts">.
  ...svelte.configs.recommended,
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] }, globals: globals.browser },
    rules: {
      // The views replace collections whole under $state.raw (never mutate them in place) and
      // build local Maps and Sets inside pure derivations; Svelte's reactive collections would
      // only add tracking to values nothing mutates.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  layer(['src-main/engine/**'], ['**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '**/host/**', '**/preload/**', '**/src-renderer/**', 'electron'],
    'engine modules, tfjs, node built-ins'),
  layer(['src-main/files/**'], ['**/engine/**', '**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '**/host/**', '**/project/**', '**/preload/**', '**/contract/**', '@tensorflow/*', 'electron'],
    'node built-ins only'),
  layer(['src-main/contract/**'], ['**/engine/**', '**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '**/host/**', '@tensorflow/*', 'electron', 'node:*'],
    'zod only'),
  layer(['src-main/worker/**'], ['**/app/**', '**/serve/**', '**/cli/**', '**/host/**', '**/preload/**', 'electron'],
    'engine, contract'),
  layer(['src-main/host/**'], ['**/engine/**', '**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '**/preload/**', '@tensorflow/*', 'electron'],
    'contract, project, node built-ins (tfjs runs only in the engine worker; Electron only in app/)'),
  layer(['src-main/cli/**', 'src-main/serve/**'], ['**/engine/**', '**/app/**', '**/worker/**', '**/preload/**', '@tensorflow/*', 'electron'],
    'host, contract (tfjs runs only in the engine worker)'),
  layer(['src-main/app/**'], ['**/engine/**', '**/cli/**', '**/serve/**', '**/worker/**', '**/preload/**', '@tensorflow/*'],
    'host, contract, electron'),
  layer(['src-main/project/**'], ['**/engine/**', '**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '**/host/**', '**/preload/**', '@tensorflow/*', 'electron'],
    'contract, node built-ins'),
  layer(['src-main/preload/**'], ['**/engine/**', '**/app/**', '**/serve/**', '**/cli/**', '**/worker/**', '**/host/**', '@tensorflow/*'],
    'contract, electron (contextBridge, ipcRenderer)'),
  layer(['src-renderer/**'], ['**/src-main/engine/**', '**/src-main/app/**', '**/src-main/serve/**', '**/src-main/cli/**', '**/src-main/worker/**', '**/src-main/host/**', '**/src-main/project/**', '**/src-main/files/**', '@tensorflow/*', 'electron', 'node:*', 'fs', 'path'],
    'src-main/contract (types, schemas) and the renderer\'s own modules'),
  {
    files: ['test/**', 'scripts/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
