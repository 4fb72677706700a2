import { describe, expect, it } from 'vitest';
import RunDetails from '../components/RunDetails.svelte';
import TrainView from './TrainView.svelte';
import { recallRunForm } from '../lib/run-form';
import { router } from '../lib/router.svelte';
import { studio } from '../lib/studio.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeDataset, makeRun, metricPage } from '../test/fixtures';
import { click, render, waitFor } from '../test/render';

describe('Clone', () => {
  it('fills the form from run A, shows run A beside it (not the newest run), and says it was cloned from A', async () => {
    const a = makeRun({ id: 1, name: 'run A', config: { latent: 5 } });
    const b = makeRun({ id: 2, name: 'run B', createdAt: '2025-01-02T10:00:00.000Z' });
    studio.projectId = 1;
    studio.datasets = [makeDataset()];
    studio.runs = [b, a];
    fakeBridge
      .answer('runs.get', ({ runId }) => (runId === 1 ? a : b))
      .answer('runs.metrics', metricPage([]))
      .answer('runs.artifacts', [])
      .answer('runs.artifactEpochs', {})
      .answer('runs.checkpoints', []);

    const details = render(RunDetails, { run: a });
    click(details.get('run-clone'));
    expect(router.route).toEqual({ view: 'train', runId: 1 });
    expect(recallRunForm(1).latent).toBe(5);
    details.unmount();

    const view = render(TrainView, { runId: 1 });
    await waitFor(() => expect(view.get('run-panel').dataset['runId']).toBe('1'));
    expect(view.get('run-name').textContent).toBe('run A');
    expect(view.get('cloned-from').textContent).toContain('Settings cloned from run A, shown on the right.');
    expect((view.get('run-latent') as HTMLInputElement).value).toBe('5');
    click(view.get('cloned-from-dismiss'));
    await waitFor(() => expect(view.query('cloned-from')).toBeNull());
  });

  it('of an imported run trains on the original dataset when the project has it, never on the held-out images it came with', () => {
    const original = makeDataset({ id: 1, name: 'digits', contentHash: 'c'.repeat(64) });
    const heldout = makeDataset({ id: 2, name: 'digits · test images of a', contentHash: 'd'.repeat(64), splitCounts: { train: 0, validation: 0, test: 50 } });
    const imported = makeRun({
      id: 9,
      datasetId: 2,
      imported: { card: { dataset: { contentHash: 'c'.repeat(64) } } } as unknown as NonNullable<ReturnType<typeof makeRun>['imported']>,
    });
    studio.projectId = 1;
    studio.datasets = [heldout, original];
    studio.runs = [imported];
    const details = render(RunDetails, { run: imported });
    click(details.get('run-clone'));
    expect(studio.trainDatasetId).toBe(1);
    expect(recallRunForm(1).datasetId).toBe(1);
  });

  it('is not offered for a run whose stored settings cannot be read: the run page says why instead', () => {
    const bad = makeRun({ id: 4, name: 'cut-short', configError: 'not JSON (Unexpected end of JSON input)' });
    studio.projectId = 1;
    studio.runs = [bad];
    const details = render(RunDetails, { run: bad });
    expect(details.query('run-clone')).toBeNull();
    expect(details.query('run-sweep-from')).toBeNull();
    expect(details.get('run-config-error').textContent).toBe('settings unreadable: not JSON (Unexpected end of JSON input)');
    expect(details.get('run-delete')).toBeTruthy();
  });
});
