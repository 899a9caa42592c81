/**
 * A stand-in for the parts of the `electron` module the main process uses, so src-main/app
 * runs under plain Node with real URL, path and file semantics. Each test file mocks
 * `electron` with it (the real module is never loaded: it only knows where the binary is):
 *
 *   vi.mock('electron', () => import('./electron-stub.js'));
 *
 * It records what the app registers (IPC handlers, the app:// handler, app events, windows)
 * so a test can drive the app the way Electron would. `resetElectronStub()` between tests.
 */
import { EventEmitter } from 'node:events';
import { vi } from 'vitest';

type Listener = (...args: any[]) => any;

export const registered = {
  /** ipcMain.handle(channel, listener) */
  handle: new Map<string, Listener>(),
  /** ipcMain.on(channel, listener) */
  on: new Map<string, Listener>(),
  /** protocol.handle(scheme, handler) */
  protocols: new Map<string, (request: Request) => Response | Promise<Response>>(),
  privilegedSchemes: [] as { scheme: string; privileges: Record<string, boolean> }[],
  windows: [] as BrowserWindow[],
};

export const ipcMain = {
  handle: vi.fn((channel: string, listener: Listener) => { registered.handle.set(channel, listener); }),
  on: vi.fn((channel: string, listener: Listener) => { registered.on.set(channel, listener); }),
};

export const protocol = {
  registerSchemesAsPrivileged: vi.fn((schemes: typeof registered.privilegedSchemes) => { registered.privilegedSchemes.push(...schemes); }),
  handle: vi.fn((scheme: string, handler: (request: Request) => Response | Promise<Response>) => { registered.protocols.set(scheme, handler); }),
};

class FakeApp extends EventEmitter {
  whenReady = vi.fn(() => Promise.resolve());
  getLocale = vi.fn(() => 'en-US');
}
export const app = new FakeApp();

export const session = {
  defaultSession: { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn() },
};

export const nativeTheme = { shouldUseDarkColors: false };

/** A web contents as the IPC and hardening code see it: events, an id, send. */
export class FakeWebContents extends EventEmitter {
  static #ids = 0;
  readonly id = ++FakeWebContents.#ids;
  destroyed = false;
  readonly send = vi.fn();
  readonly setWindowOpenHandler = vi.fn();
  isDestroyed(): boolean { return this.destroyed; }
}

export class BrowserWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  readonly loadURL = vi.fn(async (_url: string) => {});
  readonly show = vi.fn();
  constructor(readonly options: Record<string, any>) {
    super();
    registered.windows.push(this);
  }
}

export const dialog = { showOpenDialog: vi.fn(), showMessageBox: vi.fn(async (..._args: unknown[]) => ({ response: 0 })) };

export const Menu = {
  buildFromTemplate: vi.fn((template: unknown[]) => ({ template })),
  setApplicationMenu: vi.fn(),
};

export function resetElectronStub(): void {
  registered.handle.clear();
  registered.on.clear();
  registered.protocols.clear();
  registered.privilegedSchemes.length = 0;
  registered.windows.length = 0;
  app.removeAllListeners();
  nativeTheme.shouldUseDarkColors = false;
  vi.clearAllMocks();
}
