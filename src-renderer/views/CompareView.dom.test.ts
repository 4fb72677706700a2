import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import type { MetricPoint, Run } from '@shared/types';
import CompareView from './CompareView.svelte';
import RunsView from './RunsView.svelte';
import { compareMetrics } from '../lib/chart-series';
import { studio } from '../lib/studio.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeRun, metricPage, points, storedMetrics } from '../test/fixtures';
import { check, choose, click, render, waitFor, type Rendered } from '../test/render';

const fast = makeRun({ id: 1, name: 'fast', config: { latent: 8, beta: 1 }, summary: { loss: 2.5, val_loss: 3.25 } });
const wide = makeRun({ id: 2, name: 'wide', config: { latent: 32, beta: 4 }, summary: { loss: 1.75, val_loss: 2.5 } });

/** The core of a project holding these runs and these stored points per run. */
function core(runs: Run[], stored: Record<number, MetricPoint[]>): void {
  studio.projectId = 1;
  studio.runs = runs;
  fakeBridge.answer('runs.get', ({ runId }) => {
    const run = runs.find((r) => r.id === runId);
    if (!run) throw new ApiError('not_found', `Run ${runId} does not exist`);
    return run;
  });
  fakeBridge.answer('runs.metrics', (input) => storedMetrics(stored[input.runId] ?? [], 3)(input));
  fakeBridge.answer('runs.query', () => ({ runs: [...studio.runs].reverse(), total: studio.runs.length, offset: 0 }));
}

const chart = (view: Rendered) => view.get('compare-chart');
const legendValue = (view: Rendered, runId: number) =>
  view.all('compare-legend-item').find((item) => item.dataset['runId'] === String(runId))!.querySelector('.value')!.textContent;

describe('Compare', () => {
  it('picks the ticked runs on the Runs page, in the order they were ticked', async () => {
    core([fast, wide, makeRun({ id: 3, name: 'third' })], {});
    const view = render(RunsView, {});
    await waitFor(() => expect(view.all('run-row')).toHaveLength(3));
    const compare = view.get('runs-compare');
    expect(compare.getAttribute('href')).toBeNull();
    const tick = (id: number) => click(view.all('run-row').find((row) => row.dataset['runId'] === String(id))!.querySelector('[data-testid="run-select"]')!);
    tick(3);
    expect(compare.getAttribute('href')).toBeNull(); // one run is nothing to compare
    tick(1);
    expect(compare.getAttribute('href')).toBe('#/compare/3,1');
    expect(compare.textContent).toContain('Compare 2');
    // A run deleted meanwhile drops out of the selection.
    studio.removeRun(3);
    flushSync();
    expect(compare.getAttribute('href')).toBeNull();
  });

  it('overlays the chosen metric of every run, and switching metric redraws the same chart', async () => {
    core([fast, wide], {
      1: [...points('loss', 5), ...points('val_loss', 2), ...points('kl_dim_0', 5)],
      2: [...points('loss', 3), ...points('val_loss', 3)],
    });
    const view = render(CompareView, { runIds: [1, 2] });
    await waitFor(() => expect(chart(view).dataset['points']).toBe('8'));
    expect(view.all('compare-legend-item').map((item) => item.querySelector('.name')!.textContent)).toEqual(['fast', 'wide']);
    // Only the comparable metrics are loaded, not every per-dimension KL series.
    // (A page holds 3 points here: run 1's 7 comparable points come in 3 pages, run 2's 6 in 3, the last empty.)
    const asked = fakeBridge.inputs('runs.metrics');
    expect(asked.map((i) => i.runId).sort()).toEqual([1, 1, 1, 2, 2, 2]);
    for (const input of asked) expect(input.names).toEqual(compareMetrics.map((m) => m.name));
    expect(legendValue(view, 1)).toBe('2.00'); // 10 / step 5
    expect(legendValue(view, 2)).toBe('3.33');

    expect(chart(view).dataset['unit']).toBe('nats per image'); // the y axis's title
    choose(view.get('compare-metric'), 'val_loss');
    await waitFor(() => expect(chart(view).dataset['points']).toBe('5'));
    expect(chart(view).dataset['metric']).toBe('val_loss');
    expect(legendValue(view, 1)).toBe('5.00');
    expect(legendValue(view, 2)).toBe('3.33');

    choose(view.get('compare-metric'), 'kl');
    await waitFor(() => expect(view.target.textContent).toContain('No kl points in these runs yet.'));
  });

  it('shows only the settings that differ first, in words; on request every setting the runs read, none of another family', async () => {
    core([fast, wide], {});
    const view = render(CompareView, { runIds: [1, 2] });
    await waitFor(() => expect(view.all('diff-row').length).toBe(2));
    expect(view.target.textContent).toContain('2 settings differ.');
    expect((view.get('diff-only') as HTMLInputElement).checked).toBe(true);
    expect(view.all('diff-row').map((row) => row.dataset['key'])).toEqual(['latent', 'beta']);
    const latent = view.all('diff-row').find((row) => row.dataset['key'] === 'latent')!;
    expect(latent.querySelector('th')!.textContent).toBe('Latent size');
    expect([...latent.querySelectorAll('td')].map((td) => td.textContent)).toEqual(['8', '32']);
    expect(latent.dataset['differs']).toBe('true');

    check(view.get('diff-only'), false);
    expect(view.all('diff-row').length).toBeGreaterThan(10);
    expect(view.all('diff-row').find((row) => row.dataset['key'] === 'epochs')!.dataset['differs']).toBe('false');
    // Plain VAEs: no codebook, labels or capacity settings, and no raw keys.
    const keys = view.all('diff-row').map((row) => row.dataset['key']);
    for (const key of ['codebookDecay', 'labelFraction', 'capacityGamma']) expect(keys).not.toContain(key);
    expect(view.get('config-diff').textContent).not.toContain('klWarmupSteps');

    const summary = view.get('compare-summary');
    expect(summary.querySelector('tbody tr')!.textContent).toContain('finished');
    expect(summary.textContent).toContain('2.50');
    expect(summary.textContent).toContain('1.75');
  });

  it('adds live points as they arrive, merges those that came while the history loaded, and ignores other runs', async () => {
    const training = { ...wide, status: 'running' as const, finishedAt: null };
    core([fast, training], { 1: points('loss', 5) });
    const history = fakeBridge.hold('runs.metrics');
    const view = render(CompareView, { runIds: [1, 2] });
    // Steps 3–6 of run 2 stream in before its stored steps 1–4 are loaded.
    fakeBridge.emit('run.metrics', { runId: 2, points: points('loss', 4, 2) });
    await waitFor(() => expect(history.pending).toHaveLength(2));
    const [first, second] = [history.next(), history.next()];
    first.resolve(metricPage(points('loss', 5)));
    second.resolve(metricPage(points('loss', 4)));
    await waitFor(() => expect(chart(view).dataset['points']).toBe('11')); // 5 + steps 1–6 once each
    expect(legendValue(view, 2)).toBe('1.67'); // 10 / step 6

    fakeBridge.emit('run.metrics', { runId: 2, points: points('loss', 2, 6) });
    fakeBridge.emit('run.metrics', { runId: 7, points: points('loss', 50) });
    await waitFor(() => expect(chart(view).dataset['points']).toBe('13'));
    expect(legendValue(view, 2)).toBe('1.25');

    // The run ends: its pill says so without a reload.
    fakeBridge.answer('runs.metrics', metricPage([]));
    fakeBridge.emit('run.status', { runId: 2, status: 'finished', run: { ...training, status: 'finished' } });
    await waitFor(() => expect(view.all('compare-legend-item')[1]!.textContent).toContain('finished'));
  });

  it('says which run no longer exists, and offers to leave a run out when there are more than two', async () => {
    core([fast, wide], {});
    const view = render(CompareView, { runIds: [1, 2, 9] });
    await waitFor(() => expect(view.get('compare-missing').textContent).toBe('Run #9 no longer exists.'));
    const removeLinks = view.all('compare-legend-item').map((item) => item.querySelector('a.remove')?.getAttribute('href'));
    expect(removeLinks).toEqual(['#/compare/2,9', '#/compare/1,9', '#/compare/1,2']);
  });
});
