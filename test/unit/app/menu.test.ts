/** The application menu: its File items send their contract action to the page, nothing else; Open Recent lists the recent projects. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MENU_ACTIONS } from '../../../src-main/contract/host-messages.js';
import { buildMenu } from '../../../src-main/app/menu.js';
import { BrowserWindow, dialog, Menu, resetElectronStub } from './electron-stub.js';

vi.mock('electron', () => import('./electron-stub.js'));

type Item = { label?: string; role?: string; accelerator?: string; click?: () => void; submenu?: Item[] };

function built(getWindow: () => unknown = () => null, options: Parameters<typeof buildMenu>[2] = {}) {
  const onAction = vi.fn();
  buildMenu(getWindow as never, onAction, options);
  const template = Menu.buildFromTemplate.mock.calls[0][0] as Item[];
  return { onAction, template };
}

describe('buildMenu', () => {
  beforeEach(resetElectronStub);

  it('has one File item per menu action, each sending exactly its action', () => {
    const { onAction, template } = built(() => null, { recent: [{ dir: '/projects/a', name: 'A', openedAt: '2026-01-01T00:00:00.000Z' }] });
    const file = template.find((i) => i.label === '&File')!;
    const recent = file.submenu!.find((i) => i.label === 'Open &Recent')!;
    const actions = [...file.submenu!.filter((i) => i.click), recent.submenu![0]];
    const sent = actions.map((item) => {
      onAction.mockClear();
      item.click!();
      expect(onAction).toHaveBeenCalledOnce();
      return onAction.mock.calls[0][0];
    });
    expect([...sent].sort()).toEqual([...MENU_ACTIONS].sort());
  });

  it('lists the recent projects under Open Recent, each opening its folder, with Clear Menu', () => {
    const onClearRecent = vi.fn();
    const recent = [
      { dir: '/projects/R&D digits', name: 'R&D digits', openedAt: '2026-01-02T00:00:00.000Z' },
      { dir: '/projects/older', name: 'Older', openedAt: '2026-01-01T00:00:00.000Z' },
    ];
    const { onAction, template } = built(() => null, { recent, onClearRecent });
    const items = template.find((i) => i.label === '&File')!.submenu!.find((i) => i.label === 'Open &Recent')!.submenu!;
    // Newest first; an & in a name is shown, not taken as a mnemonic.
    expect(items.map((i) => i.label)).toEqual(['R&&D digits — /projects/R&&D digits', 'Older — /projects/older', undefined, '&Clear Menu']);
    items[1].click!();
    expect(onAction).toHaveBeenCalledWith('open-recent', '/projects/older');
    items[3].click!();
    expect(onClearRecent).toHaveBeenCalledOnce();
  });

  it('says there are no recent projects when there are none', () => {
    const { template } = built();
    const items = template.find((i) => i.label === '&File')!.submenu!.find((i) => i.label === 'Open &Recent')!.submenu! as (Item & { enabled?: boolean })[];
    expect(items).toEqual([{ label: 'No recent projects', enabled: false }]);
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
