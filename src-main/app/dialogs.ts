/** Native open dialogs, one per purpose the contract names. */
import path from 'node:path';
import { dialog, type BrowserWindow, type OpenDialogOptions } from 'electron';
import type { DialogPurpose } from '../contract/app-calls.js';

const DIALOGS: Record<DialogPurpose, OpenDialogOptions> = {
  project: { title: 'Open or create a project folder', properties: ['openDirectory', 'createDirectory'] },
  // One dialog cannot pick files and folders on Windows and Linux, so a TensorFlow.js folder is
  // picked by its model.json, which stands for the folder.
  model: {
    title: 'Open a model: a Keras .h5 or .keras file, an ONNX .onnx file, or the model.json of a TensorFlow.js folder',
    properties: ['openFile'],
    filters: [{ name: 'Models (.h5, .keras, .onnx, model.json)', extensions: ['h5', 'hdf5', 'keras', 'onnx', 'json'] }, { name: 'All files', extensions: ['*'] }],
  },
  'dataset-folder': { title: 'Open a dataset folder', properties: ['openDirectory'] },
  'dataset-file': { title: 'Open a dataset file (CSV or IDX)', properties: ['openFile'] },
  export: { title: 'Choose a folder to export into', properties: ['openDirectory', 'createDirectory'] },
};

export async function showOpenDialog(window: BrowserWindow | null, purpose: DialogPurpose): Promise<string | null> {
  const options = DIALOGS[purpose];
  const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  if (result.canceled || result.filePaths.length === 0) return null;
  const picked = result.filePaths[0];
  return purpose === 'model' && path.basename(picked) === 'model.json' ? path.dirname(picked) : picked;
}
