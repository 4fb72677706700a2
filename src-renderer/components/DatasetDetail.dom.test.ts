import { describe, expect, it } from 'vitest';
import DatasetDetail from './DatasetDetail.svelte';
import DialogHost from './DialogHost.svelte';
import { router } from '../lib/router.svelte';
import { studio } from '../lib/studio.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeDataset, makeRun } from '../test/fixtures';
import { click, render, waitFor } from '../test/render';

const dataset = makeDataset({ id: 4, name: 'shapes' });

function open(runs = [makeRun({ id: 1, name: 'small-z', datasetId: 4 }), makeRun({ id: 2, name: 'wide-z', datasetId: 4 })]) {
  studio.projectId = 1;
  studio.datasets = [dataset];
  studio.runs = runs;
  // The core's runs: what runs.query finds (by dataset), until a delete takes them.
  let stored = runs;
  fakeBridge.answer('runs.query', ({ filter = '', limit = 100 }) => {
    const id = /datasetId:(\d+)/.exec(filter)?.[1];
    const found = stored.filter((run) => id === undefined || run.datasetId === Number(id));
    return { runs: found.slice(0, limit), total: found.length, offset: 0 };
  });
  fakeBridge.answer('datasets.delete', (input) => {
    stored = input.withRuns ? stored.filter((run) => run.datasetId !== input.datasetId) : stored;
    return { deleted: input.datasetId, runsDeleted: runs.length - stored.length };
  });
  fakeBridge.answer('datasets.preview', { datasetId: 4, width: 16, height: 16, channels: 1, labels: ['a', 'b'], gridDataUrl: 'data:image/png;base64,' });
  const view = render(DatasetDetail, { dataset });
  const host = render(DialogHost, {});
  return { view, host };
}

describe('Deleting a dataset', () => {
  it('with runs, offers to delete them with it (with their count), and sends withRuns', async () => {
    const { view, host } = open();
    fakeBridge.answer('datasets.list', []);
    click(view.get('dataset-delete'));
    await waitFor(() => expect(host.get('confirm-ok').textContent).toBe('Delete dataset and 2 runs'));
    expect(host.get('confirm').textContent).toContain('"small-z", "wide-z"');
    click(host.get('confirm-ok'));
    await waitFor(() => expect(fakeBridge.inputs('datasets.delete')).toEqual([{ datasetId: 4, withRuns: true }]));
    await waitFor(() => expect(studio.runs).toEqual([]));
  });

  it('with a run still training, offers no delete button, only to go to its runs', async () => {
    const { view, host } = open([makeRun({ id: 1, name: 'busy', datasetId: 4, status: 'running' }), makeRun({ id: 2, name: 'other', datasetId: 9 })]);
    click(view.get('dataset-delete'));
    await waitFor(() => expect(host.get('confirm').textContent).toContain('"busy" is still training'));
    expect(host.query('confirm-ok')).toBeNull();
    click(host.get('confirm-alternative'));
    await waitFor(() => expect(router.route).toEqual({ view: 'runs' }));
    expect(studio.runsFilter).toEqual({ datasetId: 4, name: 'shapes' });
    expect(fakeBridge.inputs('datasets.delete')).toEqual([]);
  });

  it('without runs, deletes just the dataset', async () => {
    const { view, host } = open([]);
    fakeBridge.answer('datasets.list', []);
    click(view.get('dataset-delete'));
    await waitFor(() => expect(host.get('confirm-ok').textContent).toBe('Delete dataset'));
    expect(host.query('confirm-alternative')).toBeNull();
    click(host.get('confirm-ok'));
    await waitFor(() => expect(fakeBridge.inputs('datasets.delete')).toEqual([{ datasetId: 4, withRuns: false }]));
  });

  it("of an imported model's held-out images: says so, offers no training or re-import, and deletes with its run", async () => {
    const imported = makeRun({
      id: 7,
      name: 'mlp-z8-1 (imported)',
      datasetId: 4,
      imported: { card: { heldout: { split: 'test', count: 100 } } } as unknown as NonNullable<ReturnType<typeof makeRun>['imported']>,
    });
    const { view, host } = open([imported]);
    expect(view.get('dataset-from-model-note').textContent!.replace(/\s+/g, ' ')).toContain('came with the model imported as “mlp-z8-1 (imported)”');
    expect(view.query('dataset-train')).toBeNull();
    expect(view.query('dataset-reimport')).toBeNull();
    expect(view.get('dataset-open-run').getAttribute('href')).toBe('#/runs/7');
    click(view.get('dataset-delete'));
    await waitFor(() => expect(host.get('confirm-ok').textContent).toBe('Delete dataset and 1 run'));
  });

  it('offers no training on a dataset without training images', () => {
    studio.projectId = 1;
    fakeBridge.answer('datasets.preview', { datasetId: 5, width: 16, height: 16, channels: 1, labels: [], gridDataUrl: 'data:image/png;base64,' });
    const view = render(DatasetDetail, { dataset: makeDataset({ id: 5, splitCounts: { train: 0, validation: 0, test: 100 } }) });
    expect((view.get('dataset-train') as HTMLButtonElement).disabled).toBe(true);
    expect(view.get('dataset-train').title).toMatch(/no training images/);
  });
});
