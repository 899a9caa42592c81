/**
 * The product's version, injected at build time from package.json (scripts/build.mjs and
 * vitest.config.mjs define __APP_VERSION__), so the CLI's --version, the About box and the
 * app info all say the same thing and nobody edits a copy.
 */
declare const __APP_VERSION__: string | undefined;

export const APP_VERSION: string = typeof __APP_VERSION__ === 'string' ? __APP_VERSION__ : '0.0.0-unbuilt';
