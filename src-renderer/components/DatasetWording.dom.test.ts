import { describe, expect, it } from 'vitest';
import type { Dataset } from '@shared/types';
import DatasetDetail from './DatasetDetail.svelte';
import DatasetList from './DatasetList.svelte';
import ImportForm from './ImportForm.svelte';
import { studio } from '../lib/studio.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeDataset } from '../test/fixtures';
import { render, waitFor } from '../test/render';

/** 3 000 28×28 images of one label, two files skipped. */
function dataset(patch: Partial<Dataset> = {}): Dataset {
  return makeDataset({
    id: 4,
    name: 'clothes',
    sourcePath: '/data/clothes',
    width: 28,
    height: 28,
    count: 3000,
    labels: ['shirt'],
    labelCounts: [3000],
    splitCounts: { train: 2426, validation: 297, test: 277 },
    stats: { scanned: 3002, decoded: 3000, reused: 0, duplicates: 0, skipped: 2, seconds: 3 },
    contentHash: 'ab'.repeat(32),
    createdAt: '2025-01-01T10:00:00.000Z',
    ...patch,
  });
}

describe('dataset wording and numbers', () => {
  it('says "1 label", and groups the split figures as the image count is grouped', async () => {
    studio.projectId = 1;
    const list = render(DatasetList, { datasets: [dataset()], selectedId: null, importing: false });
    expect(list.target.textContent).toContain('1 label');
    expect(list.target.textContent).not.toContain('1 labels');

    fakeBridge.answer('datasets.preview', { datasetId: 4, byLabel: [], images: [] } as never);
    const detail = render(DatasetDetail, { dataset: dataset() });
    await waitFor(() => expect(detail.get('dataset-count').textContent).toBe('3,000'));
    expect(detail.get('dataset-split').textContent).toBe('2,426 / 297 / 277');
    // One line, however narrow the tile.
    expect(detail.get('dataset-split').classList.contains('split')).toBe(true);
  });

  it('names the files the import will skip, with why, before the import', async () => {
    studio.projectId = 1;
    fakeBridge.answer('datasets.inspect', {
      folder: '/data/clothes',
      layout: { kind: 'classes', detected: true, splitFolders: { train: [], validation: [], test: [] }, drawn: ['validation', 'test'], labelSource: 'folders', unlabelled: 0, outside: 0 },
      images: 3000,
      splitFiles: { train: 0, validation: 0, test: 0, drawn: 3000 },
      classes: [{ label: 'shirt', files: 3000 }],
      skipped: 2,
      skippedFiles: [
        { path: 'README.txt', reason: 'not an image file type (.txt)' },
        { path: 'shirt/.DS_Store', reason: 'not an image file type (no extension)' },
      ],
    });
    const form = render(ImportForm, { onimported: () => {} });
    const folder = form.get('import-folder') as HTMLInputElement;
    folder.value = '/data/clothes';
    folder.dispatchEvent(new Event('input', { bubbles: true }));
    await waitFor(() => expect(form.get('import-skipped').textContent).toContain('2 files will be skipped'));
    const files = form.all('import-skipped-file').map((li) => li.textContent!.replace(/\s+/g, ' ').trim());
    expect(files).toEqual(['README.txt — not an image file type (.txt)', 'shirt/.DS_Store — not an image file type (no extension)']);
  });
});
