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
import { PassThrough } from 'node:stream';
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
  /** utilityProcess.fork(modulePath, args, options) */
  utilityProcesses: [] as FakeUtilityProcess[],
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
  enableSandbox = vi.fn();
  quit = vi.fn();
  exit = vi.fn();
  requestSingleInstanceLock = vi.fn(() => true);
  /** app.getPath(name): a folder the test sets (userData for the recent-projects list). */
  paths: Record<string, string> = {};
  getPath = vi.fn((name: string) => this.paths[name] ?? `/nonexistent/${name}`);
  addRecentDocument = vi.fn();
  clearRecentDocuments = vi.fn();
  /** False as when run from source (npm start); a test sets it to act as the installed app. */
  isPackaged = false;
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
  readonly reload = vi.fn();
  isDestroyed(): boolean { return this.destroyed; }
}

export class BrowserWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  readonly loadURL = vi.fn(async (_url: string) => {});
  readonly show = vi.fn();
  readonly focus = vi.fn();
  readonly restore = vi.fn();
  destroyed = false;
  isDestroyed(): boolean { return this.destroyed; }
  isMinimized(): boolean { return false; }
  constructor(readonly options: Record<string, any>) {
    super();
    registered.windows.push(this);
  }
}

/**
 * A utility process as Electron's main process sees it: postMessage to the child, 'message'
 * and 'exit' from it, stderr piped. The test plays the child: `fromChild` and `exit`.
 */
export class FakeUtilityProcess extends EventEmitter {
  readonly posted: unknown[] = [];
  readonly stderr = new PassThrough();
  readonly stdout = null;
  pid: number | undefined = 4242;
  killed = false;
  readonly postMessage = vi.fn((message: unknown) => {
    if (this.pid === undefined) throw new Error('posted to a process that exited');
    // Structured clone, as Electron does.
    this.posted.push(structuredClone(message));
  });
  readonly kill = vi.fn(() => {
    if (this.pid === undefined) return false;
    this.killed = true;
    setImmediate(() => this.exit(15));
    return true;
  });
  constructor(readonly modulePath: string, readonly args: string[], readonly options: Record<string, any>) { super(); }
  /** The child calls process.parentPort.postMessage(message). */
  fromChild(message: unknown): void { this.emit('message', structuredClone(message)); }
  /** The child ends with this exit code. */
  exit(code: number): void {
    if (this.pid === undefined) return;
    this.pid = undefined;
    this.emit('exit', code);
  }
}

export const utilityProcess = {
  fork: vi.fn((modulePath: string, args: string[] = [], options: Record<string, any> = {}) => {
    const child = new FakeUtilityProcess(modulePath, args, options);
    registered.utilityProcesses.push(child);
    return child;
  }),
};

export const dialog = { showOpenDialog: vi.fn(), showMessageBox: vi.fn(async (..._args: unknown[]) => ({ response: 0 })) };

export const shell = { showItemInFolder: vi.fn() };

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
  registered.utilityProcesses.length = 0;
  app.removeAllListeners();
  app.isPackaged = false;
  app.paths = {};
  nativeTheme.shouldUseDarkColors = false;
  vi.clearAllMocks();
}
