/**
 * The one window: isolated context, sandboxed renderer, no Node in the page, web security on,
 * the contract preload, and the app page loaded over app://, never file://.
 */
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { appPaths } from '../../../src-main/app/paths.js';
import { APP_URL } from '../../../src-main/app/protocol.js';
import { createMainWindow } from '../../../src-main/app/window.js';
import { app, BrowserWindow, nativeTheme, registered, resetElectronStub } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

describe('createMainWindow', () => {
  beforeEach(resetElectronStub);

  function created(): BrowserWindow {
    createMainWindow();
    expect(registered.windows).toHaveLength(1);
    return registered.windows[0];
  }

  it('locks the page down: isolated, sandboxed, no Node, web security on, no webviews', () => {
    const prefs = created().options.webPreferences;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    // Options that would undo the above must not be set at all.
    for (const key of ['nodeIntegrationInSubFrames', 'experimentalFeatures', 'enableBlinkFeatures', 'additionalArguments']) {
      expect(prefs).not.toHaveProperty(key);
    }
  });

  it('has no DevTools in the installed app, and DevTools when run from source', () => {
    app.isPackaged = true;
    expect(created().options.webPreferences.devTools).toBe(false);
    resetElectronStub();
    app.isPackaged = false;
    expect(created().options.webPreferences.devTools).toBe(true);
  });

  it('uses the built contract preload, next to the main bundle', () => {
    const { preload } = created().options.webPreferences;
    expect(preload).toBe(appPaths.preload);
    expect(path.isAbsolute(preload)).toBe(true);
    expect(path.basename(preload)).toBe('preload.cjs');
  });

  it('loads the app page over app://, and shows the window once it is ready', () => {
    const window = created();
    expect(window.loadURL).toHaveBeenCalledExactlyOnceWith(APP_URL);
    expect(APP_URL).toBe('app://renderer/index.html');
    expect(window.options.show).toBe(false);
    expect(window.show).not.toHaveBeenCalled();
    window.emit('ready-to-show');
    expect(window.show).toHaveBeenCalledOnce();
  });

  it('paints the background of the system theme before the page does', () => {
    expect(created().options.backgroundColor).toBe('#f6f7f9');
    resetElectronStub();
    nativeTheme.shouldUseDarkColors = true;
    expect(created().options.backgroundColor).toBe('#15191e');
  });
});
