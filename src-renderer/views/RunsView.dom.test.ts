import { describe, expect, it } from 'vitest';
import RunsView from './RunsView.svelte';
import { studio } from '../lib/studio.svelte';
import { makeRun } from '../test/fixtures';
import { fakeBridge } from '../test/fake-bridge';
import { click, render, waitFor } from '../test/render';

describe('Runs', () => {
  it("shows only one dataset's runs when asked from its delete dialog (not every name that contains it), until cleared", async () => {
    studio.projectId = 1;
    studio.runs = [
      makeRun({ id: 1, datasetId: 4, datasetName: 'digits' }),
      makeRun({ id: 2, datasetId: 5, datasetName: 'digits · test images of run 1' }),
      makeRun({ id: 3, datasetId: 4, datasetName: 'digits' }),
    ];
    // The core filters: answer as it would, by the exact dataset id the view asks for.
    fakeBridge.answer('runs.query', (input) => {
      const id = /datasetId:(\d+)/.exec(input.filter ?? '')?.[1];
      const runs = studio.runs.filter((run) => id === undefined || run.datasetId === Number(id));
      return { runs, total: runs.length, offset: 0 };
    });
    studio.runsFilter = { datasetId: 4, name: 'digits' };
    const view = render(RunsView, {});
    await waitFor(() => expect(view.all('run-row').map((row) => row.dataset['runId'])).toEqual(['1', '3']));
    expect(fakeBridge.inputs('runs.query').at(-1)).toMatchObject({ projectId: 1, filter: 'datasetId:4' });
    expect(view.get('runs-dataset-filter').textContent).toContain('Runs trained on digits');
    expect(studio.runsFilter).toBeNull(); // taken once
    click(view.get('runs-dataset-filter-clear'));
    await waitFor(() => expect(view.all('run-row')).toHaveLength(3));
  });
});
