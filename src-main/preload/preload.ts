/**
 * The sandboxed preload (bundled to CommonJS, as sandboxed preloads must be): exposes the
 * contract bridge as `window.clear` through contextBridge, and nothing else.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge.js';

contextBridge.exposeInMainWorld('clear', createBridge(ipcRenderer));
