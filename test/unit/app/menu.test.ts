/** The application menu: its File items send their contract action to the page, nothing else. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MENU_ACTIONS } from '../../../src-main/contract/host-messages.js';
import { buildMenu } from '../../../src-main/app/menu.js';
import { BrowserWindow, dialog, Menu, resetElectronStub } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

type Item = { label?: string; role?: string; accelerator?: string; click?: () => void; submenu?: Item[] };

function built(getWindow: () => unknown = () => null) {
  const onAction = vi.fn();
  buildMenu(getWindow as never, onAction);
  const template = Menu.buildFromTemplate.mock.calls[0][0] as Item[];
  return { onAction, template };
}

describe('buildMenu', () => {
  beforeEach(resetElectronStub);

  it('has one File item per menu action, each sending exactly its action', () => {
    const { onAction, template } = built();
    const file = template.find((i) => i.label === '&File')!;
    const actions = file.submenu!.filter((i) => i.click);
    const sent = actions.map((item) => {
      onAction.mockClear();
      item.click!();
      expect(onAction).toHaveBeenCalledOnce();
      return onAction.mock.calls[0][0];
    });
    expect([...sent].sort()).toEqual([...MENU_ACTIONS].sort());
  });

  it('shows About on the window when there is one', () => {
    const window = new BrowserWindow({});
    const { template } = built(() => window);
    const about = template.find((i) => i.role === 'help')!.submenu![0];
    about.click!();
    expect(dialog.showMessageBox).toHaveBeenCalledOnce();
    expect(dialog.showMessageBox.mock.calls[0][0]).toBe(window);
  });
});
