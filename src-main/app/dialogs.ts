/** Native open dialogs, one per purpose the contract names. */
import { dialog, type BrowserWindow, type OpenDialogOptions } from 'electron';
import type { DialogPurpose } from '../contract/app-calls.js';

const DIALOGS: Record<DialogPurpose, OpenDialogOptions> = {
  project: { title: 'Open or create a project folder', properties: ['openDirectory', 'createDirectory'] },
  model: { title: 'Open a model folder (TensorFlow.js: model.json and weights)', properties: ['openDirectory'] },
  'dataset-folder': { title: 'Open a dataset folder', properties: ['openDirectory'] },
  'dataset-file': { title: 'Open a dataset file (CSV or IDX)', properties: ['openFile'] },
  export: { title: 'Choose a folder to export into', properties: ['openDirectory', 'createDirectory'] },
};

export async function showOpenDialog(window: BrowserWindow | null, purpose: DialogPurpose): Promise<string | null> {
  const options = DIALOGS[purpose];
  const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  return result.canceled || result.filePaths.length === 0 ? null : result.filePaths[0];
}
