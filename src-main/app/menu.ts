/** The application menu: File (the wizard's open/export actions), Edit, View, Help. */
import { app, dialog, Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';
import type { MenuAction } from '../contract/host-messages.js';
import { APP_VERSION } from '../contract/version.js';

export function buildMenu(getWindow: () => BrowserWindow | null, onAction: (action: MenuAction) => void): Menu {
  const item = (label: string, action: MenuAction, accelerator?: string): MenuItemConstructorOptions =>
    ({ label, accelerator, click: () => onAction(action) });
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        item('Open &Project…', 'open-project', 'CmdOrCtrl+O'),
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
      submenu: [{
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
