/**
 * The colours charts draw with, read from the CSS variables of the current theme and
 * refreshed when the system switches between light and dark (prefers-color-scheme).
 */
const VARS = ['text', 'muted', 'border', 'panel', 'series-1', 'series-2', 'series-3', 'series-4'] as const;
type Colours = Record<(typeof VARS)[number], string>;

function read(): Colours {
  const style = getComputedStyle(document.documentElement);
  return Object.fromEntries(VARS.map((v) => [v, style.getPropertyValue(`--${v}`).trim()])) as Colours;
}

class Theme {
  #colours = $state.raw<Colours>(read());
  get colours(): Colours { return this.#colours; }
  constructor() {
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { this.#colours = read(); });
  }
}

export const theme = new Theme();
