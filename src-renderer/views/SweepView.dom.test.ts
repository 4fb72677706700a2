import { describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import type { Sweep, SweepTrial } from '@shared/sweep';
import SweepView from './SweepView.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeRun } from '../test/fixtures';
import { click, render, waitFor } from '../test/render';

const sweep = (patch: Partial<Sweep> = {}): Sweep => ({
  id: 3,
  projectId: 1,
  datasetId: 1,
  datasetName: 'digits',
  name: 'beta-sweep',
  status: 'running',
  request: { grid: ['beta=0.5,1,2'], random: [], seeds: 1, concurrency: 2, sweepSeed: 1, earlyStop: 'median' },
  baseConfig: defaultRunConfig(),
  settings: ['beta'],
  trials: 3,
  seeds: 1,
  concurrency: 2,
  earlyStop: { rule: 'median', grace: 1, minFinished: 3 },
  plannedRuns: 3,
  dispatched: 2,
  counts: { active: 1, finished: 0, stopped: 1, ended: 0 },
  best: null,
  error: null,
  createdAt: 'now',
  finishedAt: null,
  ...patch,
});
const trial = (patch: Partial<SweepTrial>): SweepTrial => ({ runId: 10, name: 't1', status: 'running', settings: { beta: 0.5 }, seed: 1, epochsDone: 1, epochs: 5, bestValLoss: 120.5, stoppedEarly: null, ...patch });

describe('Sweep page', () => {
  it('lists trials with their values, metric and why one stopped early; pauses the sweep; follows its trials live', async () => {
    let answer = { sweep: sweep(), trials: [trial({}), trial({ runId: 11, name: 't2', status: 'cancelled', settings: { beta: 1 }, stoppedEarly: 'median rule: best validation loss 150.00 by epoch 1 is worse than …' })], offset: 0, totalTrials: 2 };
    fakeBridge.answer('sweeps.get', () => answer);
    fakeBridge.answer('sweeps.pause', () => sweep({ status: 'paused' }));
    const view = render(SweepView, { sweepId: 3 });
    await waitFor(() => expect(view.all('sweep-trial')).toHaveLength(2));
    const rows = view.all('sweep-trial').map((row) => row.textContent ?? '');
    expect(rows[0]).toContain('0.5');
    expect(rows[0]).toContain('120.50');
    expect(rows[1]).toContain('median rule: best validation loss 150.00');
    expect(view.get('sweep-waiting').textContent).toContain('1 more planned');
    expect(view.get('sweep-ended').textContent).toBe('1 / 3');

    click(view.get('sweep-pause'));
    await waitFor(() => expect(fakeBridge.inputs('sweeps.pause')).toEqual([{ sweepId: 3 }]));
    // …and reads the sweep again after it.
    await waitFor(() => expect(fakeBridge.inputs('sweeps.get').length).toBeGreaterThanOrEqual(2));

    // A trial of this sweep changes: the page asks again and shows it; another run's change does not count.
    answer = { sweep: sweep({ status: 'finished', dispatched: 3, counts: { active: 0, finished: 2, stopped: 1, ended: 0 }, best: { runId: 12, name: 't3', valLoss: 99 } }), trials: [...answer.trials, trial({ runId: 12, name: 't3', status: 'finished', settings: { beta: 2 }, bestValLoss: 99 })], offset: 0, totalTrials: 3 };
    const asked = fakeBridge.inputs('sweeps.get').length;
    fakeBridge.emit('run.status', { runId: 99, status: 'finished', run: makeRun({ id: 99 }) });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(fakeBridge.inputs('sweeps.get')).toHaveLength(asked);
    fakeBridge.emit('run.status', { runId: 12, status: 'finished', run: makeRun({ id: 12, status: 'finished', sweepId: 3 }) });
    await waitFor(() => expect(view.all('sweep-trial')).toHaveLength(3));
    expect(view.get('sweep-status').dataset['status']).toBe('finished');
    expect(view.get('sweep-best').textContent).toContain('t3');
    expect(view.query('sweep-pause')).toBeNull();
  });

  it('a sweep whose settings cannot be read says why, lists its trials, and offers cancel but not resume', async () => {
    const message = 'Sweep 3 "beta-sweep": settings unreadable: latent: Too small. Its trials are kept; cancel it, or start a new sweep with the settings you meant.';
    const unreadable = sweep({ status: 'failed', unreadable: true, settings: [], trials: 0, plannedRuns: 2, dispatched: 2, counts: { active: 0, finished: 0, stopped: 0, ended: 2 }, error: { code: 'invalid_input', message } });
    fakeBridge.answer('sweeps.get', () => ({ sweep: unreadable, trials: [trial({ status: 'interrupted', settings: {} }), trial({ runId: 11, name: 't2', status: 'interrupted', settings: {} })], offset: 0, totalTrials: 2 }));
    const view = render(SweepView, { sweepId: 3 });
    await waitFor(() => expect(view.all('sweep-trial')).toHaveLength(2));
    expect(view.target.textContent).toContain(message);
    expect(view.target.textContent).toContain('on digits · settings unreadable');
    expect(view.get('sweep-ended').textContent).toBe('2 / 2');
    expect(view.query('sweep-resume')).toBeNull();
    expect(view.query('sweep-cancel')).not.toBeNull();
  });

  it('opens a sweep of thousands of trials with its first page, counts over all of them, and reads the next page on asking', async () => {
    const all = Array.from({ length: 450 }, (_, i) => trial({ runId: 100 + i, name: `t${i + 1}`, status: 'finished' }));
    fakeBridge.answer('sweeps.get', ({ offset = 0, limit = 500 }) => ({
      sweep: sweep({ plannedRuns: 450, dispatched: 450, counts: { active: 0, finished: 450, stopped: 0, ended: 0 } }),
      trials: all.slice(offset, offset + limit),
      offset,
      totalTrials: all.length,
    }));
    const view = render(SweepView, { sweepId: 3 });
    await waitFor(() => expect(view.all('sweep-trial')).toHaveLength(200));
    expect(view.get('sweep-finished').textContent).toBe('450');
    expect(view.get('sweep-more').textContent).toContain('Show 200 more of the 250 trials not shown');
    click(view.get('sweep-more'));
    await waitFor(() => expect(view.all('sweep-trial')).toHaveLength(400));
    click(view.get('sweep-more'));
    await waitFor(() => expect(view.all('sweep-trial')).toHaveLength(450));
    expect(view.query('sweep-more')).toBeNull();
    expect(view.all('sweep-trial').at(-1)!.textContent).toContain('t450');
    expect(fakeBridge.inputs('sweeps.get').every((input) => (input.limit ?? 0) <= 200)).toBe(true);
  });
});
