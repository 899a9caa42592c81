/**
 * A window whose page crashes is reloaded, but not forever: a page that crashes again and
 * again (a bug on load, memory the machine does not have) would otherwise reload in a loop,
 * burning the CPU and never saying why. After `maxReloads` reloads within `windowMs`, the
 * next crash shows a dialog instead: Reload (the count starts again) or Quit.
 */
import { app, dialog, type BrowserWindow, type RenderProcessGoneDetails } from 'electron';

export interface CrashReloadOptions {
  /** Reloads allowed within `windowMs`; the crash after them shows the dialog. */
  maxReloads?: number;
  windowMs?: number;
  log?: (line: string) => void;
  /** The clock (tests). */
  now?: () => number;
}

export const CRASH_RELOADS = { maxReloads: 3, windowMs: 60_000 };

export function reloadAfterCrashes(window: BrowserWindow, options: CrashReloadOptions = {}): void {
  const { maxReloads = CRASH_RELOADS.maxReloads, windowMs = CRASH_RELOADS.windowMs, log = () => {}, now = Date.now } = options;
  const reloads: number[] = [];
  let asking = false;
  window.webContents.on('render-process-gone', (_event, details: RenderProcessGoneDetails) => {
    // A clean exit is the window closing, not a crash.
    if (details.reason === 'clean-exit' || window.isDestroyed() || asking) return;
    const t = now();
    while (reloads.length > 0 && t - reloads[0] >= windowMs) reloads.shift();
    if (reloads.length < maxReloads) {
      reloads.push(t);
      log(`The window's page stopped (${details.reason}, exit code ${details.exitCode}); reloading it (${reloads.length} of at most ${maxReloads} within ${windowMs / 1000} s).`);
      window.webContents.reload();
      return;
    }
    asking = true;
    log(`The window's page stopped (${details.reason}) again after ${maxReloads} reloads within ${windowMs / 1000} s; not reloading it again by itself.`);
    void dialog.showMessageBox(window, {
      type: 'error',
      title: 'CLEAR Workbench',
      message: 'The workbench page keeps stopping.',
      detail: `It stopped ${maxReloads + 1} times within ${Math.round(windowMs / 1000)} seconds (last reason: ${details.reason}), so it is no longer reloaded automatically. `
        + 'What the project folder holds is kept. Reload to try once more, or quit and start CLEAR Workbench again.',
      buttons: ['Reload', 'Quit'],
      defaultId: 0,
      cancelId: 1,
      noLink: true,
    }).then(({ response }) => {
      asking = false;
      if (response === 0 && !window.isDestroyed()) {
        reloads.length = 0;
        window.webContents.reload();
      } else {
        app.quit();
      }
    }, () => app.quit());
  });
}
