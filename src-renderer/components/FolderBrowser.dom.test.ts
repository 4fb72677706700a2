import { afterEach, describe, expect, it } from 'vitest';
import type { StudioBridge } from '@shared/api';
import type { FolderListing } from '@shared/folder-browser';
import ImportForm from './ImportForm.svelte';
import { studio } from '../lib/studio.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { click, render, waitFor } from '../test/render';

const web = fakeBridge as StudioBridge;

const tree: Record<string, FolderListing> = {
  '/home/me': {
    path: '/home/me',
    parent: '/home',
    images: 0,
    truncated: false,
    folders: [{ name: 'data', path: '/home/me/data', images: 0, folders: 1, partial: false }],
  },
  '/home/me/data': {
    path: '/home/me/data',
    parent: '/home/me',
    images: 0,
    truncated: false,
    folders: [{ name: 'clothes', path: '/home/me/data/clothes', images: 3000, folders: 0, partial: false }],
  },
  '/home/me/data/clothes': { path: '/home/me/data/clothes', parent: '/home/me/data', images: 3000, truncated: false, folders: [] },
};

/** Lists the folders of `tree` (home when asked for none) as web mode does; answers the paths asked for, in order. */
function serveTree(): (string | null)[] {
  const asked: (string | null)[] = [];
  web.listFolders = (path) => {
    asked.push(path);
    const listing = tree[path ?? '/home/me'];
    return Promise.resolve(listing ? { ok: true as const, value: listing } : { ok: false as const, error: { code: 'not_found' as const, message: `Folder not found: ${path}` } });
  };
  return asked;
}

afterEach(() => {
  delete web.listFolders;
});

describe('web-mode folder browser', () => {
  it('walks the server’s folders with their image counts and puts the chosen one in the folder field', async () => {
    studio.projectId = 1;
    fakeBridge.answer('datasets.inspect', () => new Promise(() => {}));
    const asked = serveTree();
    const form = render(ImportForm, { onimported: () => {} });
    click(form.get('import-browse'));
    const dialog = await waitFor(() => document.querySelector<HTMLElement>('[data-testid="folder-browser"]')!);
    await waitFor(() => expect(dialog.querySelector('[data-testid="folder-browser-entry"]')?.getAttribute('data-name')).toBe('data'));
    expect(asked).toEqual([null]); // An empty field starts at the home folder.

    click(dialog.querySelector('[data-testid="folder-browser-entry"]')!);
    await waitFor(() => expect(dialog.querySelector('[data-testid="folder-browser-entry"]')?.textContent).toContain('3,000 images'));
    click(dialog.querySelector('[data-testid="folder-browser-entry"]')!);
    await waitFor(() => expect(dialog.querySelector('[data-testid="folder-browser-choose"]')?.textContent).toContain('3,000 images here'));
    click(dialog.querySelector('[data-testid="folder-browser-choose"]')!);
    await waitFor(() => expect((form.get('import-folder') as HTMLInputElement).value).toBe('/home/me/data/clothes'));
    expect(document.querySelector('[data-testid="folder-browser"]')).toBeNull();
  });

  it('is offered only where the transport lists folders (web mode); a typed path that cannot be listed falls back to home', async () => {
    studio.projectId = 1;
    fakeBridge.answer('datasets.inspect', () => new Promise(() => {}));
    const none = render(ImportForm, { onimported: () => {} });
    expect(none.query('import-browse')).toBeNull();
    none.unmount();

    const asked = serveTree();
    const form = render(ImportForm, { onimported: () => {} });
    const field = form.get('import-folder') as HTMLInputElement;
    field.value = '/home/me/dat';
    field.dispatchEvent(new Event('input', { bubbles: true }));
    click(form.get('import-browse'));
    await waitFor(() => expect(asked).toEqual(['/home/me/dat', null]));
    await waitFor(() => expect(document.querySelector('[data-testid="folder-browser-path"]')).toHaveProperty('value', '/home/me'));
  });
});
