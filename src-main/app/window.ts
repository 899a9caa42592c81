/** The one window, locked down: isolated context, sandboxed renderer, no Node in the page. */
import { app, BrowserWindow, nativeTheme } from 'electron';
import { appPaths } from './paths.js';
import { APP_URL } from './protocol.js';

/**
 * DevTools only when running from source (npm start, the unpackaged app): an installed app
 * has none, so nobody can be talked into pasting code into its console.
 */
export function devToolsAllowed(): boolean {
  return !app.isPackaged;
}

export function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280, height: 860, minWidth: 900, minHeight: 600,
    title: 'CLEAR Workbench',
    // The taskbar and window icon on Linux and Windows (macOS takes the bundle's icon).
    icon: appPaths.icon,
    // The page follows prefers-color-scheme; match it before the first paint.
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#15191e' : '#f6f7f9',
    show: false,
    webPreferences: {
      preload: appPaths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      devTools: devToolsAllowed(),
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(APP_URL);
  return window;
}
