// Types for what Vite and Svelte provide at build time: `.svelte` imports and the runes.
import 'svelte';
import 'vite/client';

declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<Record<string, unknown>>;
  export default component;
}
