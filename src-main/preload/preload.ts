/**
 * The sandboxed preload (bundled to CommonJS, as sandboxed preloads must be): exposes the
 * contract bridge as `window.clear` through contextBridge, and nothing else (webUtils only
 * to name a dropped file's path, checked in the bridge).
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createBridge } from './bridge.js';

contextBridge.exposeInMainWorld('clear', createBridge(ipcRenderer, webUtils));
