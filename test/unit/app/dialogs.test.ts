/** Native open dialogs: one per contract purpose, attached to the window when there is one. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DIALOG_PURPOSES } from '../../../src-main/contract/app-calls.js';
import { showOpenDialog } from '../../../src-main/app/dialogs.js';
import { BrowserWindow, dialog, resetElectronStub } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

describe('showOpenDialog', () => {
  beforeEach(resetElectronStub);

  it.each(DIALOG_PURPOSES)('opens a titled dialog for %s', async (purpose) => {
    dialog.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: ['/data/a', '/data/b'] });
    expect(await showOpenDialog(null, purpose)).toBe('/data/a');
    const [options] = dialog.showOpenDialog.mock.calls[0];
    expect(options.title).toEqual(expect.any(String));
    expect(options.properties).toContain(purpose === 'dataset-file' || purpose === 'model' ? 'openFile' : 'openDirectory');
    expect(options.properties).not.toContain('multiSelections');
  });

  it('attaches the dialog to the window when there is one', async () => {
    dialog.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: ['/data/m'] });
    const window = new BrowserWindow({});
    expect(await showOpenDialog(window as never, 'model')).toBe('/data/m');
    expect(dialog.showOpenDialog.mock.calls[0][0]).toBe(window);
  });

  it('opens a model as a Keras file, or a TensorFlow.js folder picked by its model.json', async () => {
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: ['/data/m/model.json'] });
    expect(await showOpenDialog(null, 'model')).toBe('/data/m');
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: ['/data/net.h5'] });
    expect(await showOpenDialog(null, 'model')).toBe('/data/net.h5');
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: ['/data/x/model.json'] });
    expect(await showOpenDialog(null, 'dataset-file')).toBe('/data/x/model.json');
  });

  it('gives null when the user cancels or picks nothing', async () => {
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: true, filePaths: ['/data/a'] });
    expect(await showOpenDialog(null, 'project')).toBeNull();
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [] });
    expect(await showOpenDialog(null, 'project')).toBeNull();
  });
});
