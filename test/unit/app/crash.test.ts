/**
 * A crashed page is reloaded a bounded number of times: three reloads within a minute, then
 * the next crash shows a dialog (Reload or Quit) instead of reloading in a loop.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { reloadAfterCrashes } from '../../../src-main/app/crash.js';
import { app, BrowserWindow, dialog, resetElectronStub } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

function setup(options: { maxReloads?: number; windowMs?: number } = {}) {
  let t = 1_000_000;
  const clock = { advance: (ms: number) => { t += ms; } };
  const window = new BrowserWindow({});
  const log = vi.fn();
  reloadAfterCrashes(window as never, { ...options, log, now: () => t });
  const crash = (reason = 'crashed') => window.webContents.emit('render-process-gone', {}, { reason, exitCode: 139 });
  return { window, reload: window.webContents.reload, log, clock, crash };
}

/** Lets the dialog's promise settle. */
const settle = () => new Promise((r) => setImmediate(r));

describe('reloadAfterCrashes', () => {
  beforeEach(resetElectronStub);

  it('reloads a crashed page, up to three times within a minute, and logs each', () => {
    const { reload, log, crash, clock } = setup();
    for (const reason of ['crashed', 'oom', 'killed']) { crash(reason); clock.advance(10_000); }
    expect(reload).toHaveBeenCalledTimes(3);
    expect(log).toHaveBeenCalledTimes(3);
    expect(log.mock.calls[1][0]).toMatch(/stopped \(oom, exit code 139\); reloading it \(2 of at most 3 within 60 s\)/);
    expect(dialog.showMessageBox).not.toHaveBeenCalled();
  });

  it('shows a dialog instead of a fourth reload within the minute, and asks only once', async () => {
    const { reload, crash, window, clock } = setup();
    dialog.showMessageBox.mockReturnValueOnce(new Promise(() => {}));
    for (let i = 0; i < 3; i++) { crash(); clock.advance(1_000); }
    crash('abnormal-exit');
    crash('abnormal-exit');
    expect(reload).toHaveBeenCalledTimes(3);
    expect(dialog.showMessageBox).toHaveBeenCalledOnce();
    const [parent, options] = dialog.showMessageBox.mock.calls[0] as [unknown, { type: string; message: string; detail: string; buttons: string[]; cancelId: number }];
    expect(parent).toBe(window);
    expect(options.type).toBe('error');
    expect(options.detail).toMatch(/stopped 4 times within 60 seconds \(last reason: abnormal-exit\)/);
    expect(options.buttons).toEqual(['Reload', 'Quit']);
    expect(options.buttons[options.cancelId]).toBe('Quit');
  });

  it('forgets crashes older than the window: a page that crashes now and then keeps being reloaded', () => {
    const { reload, crash, clock } = setup();
    for (let i = 0; i < 10; i++) { crash(); clock.advance(25_000); }
    expect(reload).toHaveBeenCalledTimes(10);
    expect(dialog.showMessageBox).not.toHaveBeenCalled();
  });

  it('Reload in the dialog reloads and starts the count again', async () => {
    const { reload, crash } = setup({ maxReloads: 1 });
    dialog.showMessageBox.mockResolvedValueOnce({ response: 0 });
    crash(); crash();
    await settle();
    expect(reload).toHaveBeenCalledTimes(2);
    expect(app.quit).not.toHaveBeenCalled();
    crash();
    expect(reload).toHaveBeenCalledTimes(3);
    expect(dialog.showMessageBox).toHaveBeenCalledOnce();
  });

  it('Quit in the dialog (or closing it) quits the app', async () => {
    const { reload, crash } = setup({ maxReloads: 1 });
    dialog.showMessageBox.mockResolvedValueOnce({ response: 1 });
    crash(); crash();
    await settle();
    expect(reload).toHaveBeenCalledOnce();
    expect(app.quit).toHaveBeenCalledOnce();
  });

  it('does nothing for a clean exit or a window that is gone', () => {
    const { reload, crash, window } = setup();
    crash('clean-exit');
    window.destroyed = true;
    crash('crashed');
    expect(reload).not.toHaveBeenCalled();
    expect(dialog.showMessageBox).not.toHaveBeenCalled();
  });
});
