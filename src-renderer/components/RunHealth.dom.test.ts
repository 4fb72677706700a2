import { afterEach, describe, expect, it } from 'vitest';
import type { RunHealthAnswer } from '@shared/run-health';
import RunHealth from './RunHealth.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeRun } from '../test/fixtures';
import { choose, click, render, waitFor } from '../test/render';

const runs = [makeRun({ id: 3, name: 'tiny', datasetId: 4, status: 'finished' })];
const scored: RunHealthAnswer = {
  runId: 3,
  computed: true,
  computing: false,
  summary: {
    version: 1,
    runId: 3,
    computedAt: '2026-12-06T00:00:00Z',
    checkpoint: { epoch: 2, step: 10 },
    count: 2,
    latent: 2,
    shape: { width: 2, height: 2, channels: 1 },
    decoder: 'logistic',
    iwaeSamples: 0,
    labelSource: null,
    labelAccuracy: null,
    seconds: 1,
    meanElbo: { train: 1, validation: null, test: null },
  },
  score: 'atypical',
  order: 'worst',
  offset: 0,
  total: 1,
  items: [{ index: 7, path: 'a/noise.png', split: 'train', label: 'a', score: 8, elbo: 9, iwae: null, complexity: 0.2, atypical: 8, reason: 'atypicality 8' }],
};

afterEach(() => {
  delete (fakeBridge as { showImageInFolder?: unknown }).showImageInFolder;
});

describe('RunHealth', () => {
  it('scores with the chosen run, shows progress from run.health events, and cancels', async () => {
    fakeBridge.answer('runs.health', { runId: 3, computed: false, computing: false }).answer('runs.scoreHealth', (input) => ({ runId: input.runId, iwaeSamples: 8, checkpoint: { kind: 'best', epoch: 2, step: 10, bytes: 1, createdAt: '' } as never }));
    fakeBridge.answer('runs.cancelHealth', { cancelled: true });
    const view = render(RunHealth, { datasetId: 4, runs, picked: [], onToggle: () => {} });
    await waitFor(() => expect(view.get('run-health-not-scored')).toBeTruthy());
    click(view.get('run-health-score'));
    await waitFor(() => expect(fakeBridge.inputs('runs.scoreHealth')).toEqual([{ runId: 3 }]));
    fakeBridge.emit('run.health', { runId: 3, state: 'progress', phase: 'scoring', done: 512, total: 2048 });
    await waitFor(() => expect(view.get('run-health-progress').textContent).toContain('scoring 512 / 2,048'));
    click(view.get('run-health-cancel'));
    await waitFor(() => expect(fakeBridge.inputs('runs.cancelHealth')).toEqual([{ runId: 3 }]));
  });

  it('offers Show in folder only where the bridge can, naming the image by dataset and index', async () => {
    fakeBridge.answer('runs.health', scored);
    const view = render(RunHealth, { datasetId: 4, runs, picked: [], onToggle: () => {} });
    await waitFor(() => expect(view.get('run-health-items')).toBeTruthy());
    expect(view.query('run-health-reveal')).toBeNull();

    const shown: [number, number][] = [];
    (fakeBridge as { showImageInFolder?: unknown }).showImageInFolder = async (datasetId: number, index: number) => {
      shown.push([datasetId, index]);
      return { ok: true };
    };
    const desktop = render(RunHealth, { datasetId: 4, runs, picked: [], onToggle: () => {} });
    await waitFor(() => expect(desktop.get('run-health-reveal')).toBeTruthy());
    click(desktop.get('run-health-reveal'));
    await waitFor(() => expect(shown).toEqual([[4, 7]]));
  });

  it('asks for the next page and for one split, starting again from the first page when the split changes', async () => {
    fakeBridge.answer('runs.health', (input) => ({ ...scored, offset: input.offset ?? 0, total: 30 }));
    const view = render(RunHealth, { datasetId: 4, runs, picked: [], onToggle: () => {} });
    await waitFor(() => expect(view.get('run-health-range').textContent).toBe('1–1 of 30'));
    click(view.get('run-health-next'));
    await waitFor(() => expect(fakeBridge.inputs('runs.health').at(-1)).toMatchObject({ runId: 3, offset: 12, limit: 12 }));
    await waitFor(() => expect(view.get('run-health-range').textContent).toBe('13–13 of 30'));
    choose(view.get('run-health-split'), 'test');
    await waitFor(() => expect(fakeBridge.inputs('runs.health').at(-1)).toMatchObject({ offset: 0, split: 'test' }));
  });
});
