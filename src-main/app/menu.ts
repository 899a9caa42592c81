/** The application menu: File (the wizard's open/export actions, Open Recent), Edit, View, Help. */
import { app, dialog, Menu, shell, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';
import type { RecentProject } from '../contract/app-calls.js';
import type { MenuAction } from '../contract/host-messages.js';
import { APP_VERSION } from '../contract/version.js';

export interface MenuOptions {
  /** The recent projects, newest first (the project store's list): File › Open Recent. */
  recent?: RecentProject[];
  /** File › Open Recent › Clear Menu. */
  onClearRecent?: () => void;
  /** The log file, for Help › Show Log File. */
  logFile?: string;
}

/** A menu label shows `&` as a mnemonic; a project name is shown as it is. */
const literal = (text: string) => text.replace(/&/g, '&&');

export function buildMenu(getWindow: () => BrowserWindow | null, onAction: (action: MenuAction, dir?: string) => void, options: MenuOptions = {}): Menu {
  const item = (label: string, action: MenuAction, accelerator?: string): MenuItemConstructorOptions =>
    ({ label, accelerator, click: () => onAction(action) });
  const recent = options.recent ?? [];
  const openRecent: MenuItemConstructorOptions = {
    label: 'Open &Recent',
    submenu: recent.length
      ? [
          ...recent.map((r): MenuItemConstructorOptions => ({ label: `${literal(r.name)} — ${literal(r.dir)}`, click: () => onAction('open-recent', r.dir) })),
          { type: 'separator' },
          { label: '&Clear Menu', enabled: Boolean(options.onClearRecent), click: () => options.onClearRecent?.() },
        ]
      : [{ label: 'No recent projects', enabled: false }],
  };
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        item('Open &Project…', 'open-project', 'CmdOrCtrl+O'),
        openRecent,
        item('Open &Model…', 'open-model', 'CmdOrCtrl+Shift+M'),
        item('Open &Dataset…', 'open-dataset', 'CmdOrCtrl+Shift+D'),
        { type: 'separator' },
        item('&Export…', 'export', 'CmdOrCtrl+E'),
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    {
      role: 'help',
      submenu: [...(options.logFile ? [{ label: 'Show &Log File', click: () => { shell.showItemInFolder(options.logFile!); } }] : []), {
        label: 'About CLEAR Workbench',
        click: () => {
          const options = {
            type: 'info' as const, title: 'About CLEAR Workbench',
            message: `CLEAR Workbench ${APP_VERSION}`,
            detail: `Finds and removes sample-targeted backdoors from image classifiers.\nElectron ${process.versions.electron}, Node ${process.versions.node}, ${app.getLocale()}.`,
          };
          const window = getWindow();
          void (window ? dialog.showMessageBox(window, options) : dialog.showMessageBox(options));
        },
      }],
    },
  ];
  return Menu.buildFromTemplate(template);
}
