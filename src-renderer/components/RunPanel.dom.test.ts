import { describe, expect, it } from 'vitest';
import type { Dataset, MetricPoint, Run } from '@shared/types';
import RunPanel from './RunPanel.svelte';
import { studio } from '../lib/studio.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeRun, points, storedMetrics } from '../test/fixtures';
import { click, render, settle, waitFor, type Rendered } from '../test/render';

const running = makeRun({ id: 3, name: 'live', status: 'running', finishedAt: null, epochsDone: 1, lastStep: 10, config: { epochs: 4 } });

/** The core of a project with this run, its stored points, no images and no saved model. */
function core(run: Run, stored: MetricPoint[] = []): void {
  studio.projectId = 1;
  studio.runs = [run];
  fakeBridge.answer('runs.get', run);
  fakeBridge.answer('runs.metrics', storedMetrics(stored, 7));
  fakeBridge.answer('runs.artifacts', []);
  fakeBridge.answer('runs.artifactEpochs', {});
  fakeBridge.answer('runs.checkpoints', []);
}

async function open(run: Run, stored: MetricPoint[] = []): Promise<Rendered> {
  core(run, stored);
  const view = render(RunPanel, { runId: run.id });
  await waitFor(() => expect(view.get('run-panel').dataset['status']).toBe(run.status));
  return view;
}

const chartPoints = (view: Rendered) => view.get('loss-chart').dataset['points'];
const button = (view: Rendered, testid: string) => view.get(testid) as HTMLButtonElement;

describe('RunPanel and its loss chart, live', () => {
  it('adds the points that run.metrics events bring to the stored curve, once each, and only its own run’s', async () => {
    const view = await open(running, [...points('loss', 10), ...points('recon', 10)]);
    await waitFor(() => expect(chartPoints(view)).toBe('20'));
    expect(view.get('run-loss').textContent).toBe('1.00'); // 10 / step 10

    fakeBridge.emit('run.metrics', { runId: 3, points: [...points('loss', 5, 10), ...points('kl', 5, 10)] });
    await waitFor(() => expect(chartPoints(view)).toBe('30'));
    expect(view.get('run-loss').textContent).toBe('0.667'); // 10 / step 15
    expect(view.get('legend-kl').textContent).toContain('0.667');

    // A batch sent twice (a reconnect), and another run's points, add nothing.
    fakeBridge.emit('run.metrics', { runId: 3, points: points('loss', 5, 10) });
    fakeBridge.emit('run.metrics', { runId: 4, points: points('loss', 100) });
    await settle();
    expect(chartPoints(view)).toBe('30');
    expect(view.get('run-loss').textContent).toBe('0.667');

    // Progress events move the epoch and the speed.
    fakeBridge.emit('run.progress', { runId: 3, phase: 'training', epoch: 2, epochs: 4, step: 15, stepsPerEpoch: 10, imagesPerSec: 512, etaSeconds: 30 });
    await waitFor(() => expect(view.get('run-epoch').textContent).toBe('2/4'));
    expect(view.get('run-rate').textContent).toBe('512/s');
  });

  it('says it is waiting for the first steps, then draws the first points as they arrive', async () => {
    const view = await open({ ...running, epochsDone: 0, lastStep: 0 });
    await waitFor(() => expect(view.target.textContent).toContain('Waiting for the first training steps…'));
    expect(chartPoints(view)).toBe('0');
    fakeBridge.emit('run.metrics', { runId: 3, points: points('loss', 2) });
    await waitFor(() => expect(chartPoints(view)).toBe('2'));
    expect(view.target.textContent).not.toContain('Waiting for the first training steps…');
  });

  it('Pause sends runs.pause, says so at once, and shows the paused run the core answers; Resume sends runs.unpause', async () => {
    const view = await open(running);
    fakeBridge.emit('run.progress', { runId: 3, phase: 'training', epoch: 2, epochs: 4, step: 15, stepsPerEpoch: 10, imagesPerSec: 512, etaSeconds: 140 });
    await waitFor(() => expect(view.get('run-eta').textContent!.trim()).toBe('2m 20s'));
    const pause = fakeBridge.hold('runs.pause');
    click(button(view, 'run-pause'));
    // Before any answer: the button says what is happening and nothing can be pressed twice.
    expect(button(view, 'run-pause').textContent!.trim()).toBe('Pausing…');
    expect(button(view, 'run-pause').disabled).toBe(true);
    expect(button(view, 'run-stop').disabled).toBe(true);
    await waitFor(() => expect(pause.pending).toHaveLength(1));
    const request = pause.next();
    expect(request.input).toEqual({ runId: 3 });
    request.resolve({ ...running, status: 'paused' });
    // The answer alone updates the panel; no status event is needed.
    await waitFor(() => expect(view.get('run-panel').dataset['status']).toBe('paused'));
    expect(view.query('run-pause')).toBeNull();
    expect(button(view, 'run-unpause').disabled).toBe(false);
    expect(button(view, 'run-stop').disabled).toBe(false);
    // One vocabulary: a paused run resumes, as a stopped one does; no estimate counts while it waits.
    expect(button(view, 'run-unpause').textContent!.trim()).toBe('Resume');
    expect(view.get('run-status').textContent!.trim()).toBe('paused');
    expect(view.get('run-eta').dataset['state']).toBe('paused');
    expect(view.get('run-eta').textContent!.trim()).toBe('Paused');

    fakeBridge.answer('runs.unpause', { ...running, status: 'running' });
    click(button(view, 'run-unpause'));
    await waitFor(() => expect(view.get('run-panel').dataset['status']).toBe('running'));
    expect(fakeBridge.inputs('runs.unpause')).toEqual([{ runId: 3 }]);
    expect(fakeBridge.inputs('runs.cancel')).toEqual([]);
  });

  it('a remote run no worker is connected to says where it waits and for how long; the notice goes when a worker takes it', async () => {
    const since = new Date(Date.now() - 12_000).toISOString();
    const waiting = { ...running, epochsDone: 0, lastStep: 0, waiting: { redis: 'redis://queue.example:6379', since } };
    const view = await open(waiting);
    await waitFor(() => expect(view.get('run-waiting').textContent).toMatch(/waiting for a worker on redis:\/\/queue\.example:6379 \(none connected for 1[2-4]s\)/));
    expect(view.get('run-status').dataset['waiting']).toBe('true');
    expect(view.get('run-status').textContent!.trim()).toBe('waiting for a worker');
    expect(view.get('run-status').title).toMatch(/^waiting for a worker on redis:\/\/queue\.example:6379/);
    fakeBridge.emit('run.status', { runId: 3, status: 'running', run: running });
    await waitFor(() => expect(view.query('run-waiting')).toBeNull());
    expect(view.get('run-status').textContent!.trim()).toBe('running');
  });

  it('Stop sends runs.cancel; the cancelled status that overtakes the answer is what stays on screen, and Resume is offered', async () => {
    const view = await open(running);
    const cancel = fakeBridge.hold('runs.cancel');
    click(button(view, 'run-stop'));
    expect(button(view, 'run-stop').textContent!.trim()).toBe('Stopping…');
    await waitFor(() => expect(cancel.pending).toHaveLength(1));
    const request = cancel.next();
    expect(request.input).toEqual({ runId: 3 });
    const cancelled = { ...running, status: 'cancelled' as const, finishedAt: '2025-01-01T10:06:00.000Z' };
    fakeBridge.emit('run.status', { runId: 3, status: 'cancelled', run: cancelled });
    await waitFor(() => expect(view.query('run-resume')).not.toBeNull());
    expect(button(view, 'run-resume').disabled).toBe(true); // until runs.cancel has answered
    request.resolve(running); // answered while the worker was still stopping
    await waitFor(() => expect(button(view, 'run-resume').disabled).toBe(false));
    await settle();
    expect(view.get('run-panel').dataset['status']).toBe('cancelled');
    expect(view.query('run-stop')).toBeNull();
    // Stop, stopped, Resume: the pill and the callout use the button's word, not "cancelled".
    expect(view.get('run-status').textContent!.trim()).toBe('stopped');
    expect(view.get('run-error').textContent).toContain('Stopped');
    expect(view.get('run-panel').textContent!.toLowerCase()).not.toContain('cancel');
    expect(button(view, 'run-resume').textContent!.trim()).toBe('Resume');

    fakeBridge.answer('runs.resume', { ...running, status: 'queued' });
    click(button(view, 'run-resume'));
    await waitFor(() => expect(view.get('run-panel').dataset['status']).toBe('queued'));
    expect(fakeBridge.inputs('runs.resume')).toEqual([{ runId: 3 }]);
  });

  it('shows why an action was refused and lets the user try again', async () => {
    const view = await open(running);
    fakeBridge.fail('runs.pause', 'conflict', 'Run 3 is not running any more');
    click(button(view, 'run-pause'));
    await waitFor(() => expect(view.target.textContent).toContain('Run 3 is not running any more'));
    expect(button(view, 'run-pause').textContent!.trim()).toBe('Pause');
    expect(button(view, 'run-pause').disabled).toBe(false);
    expect(view.get('run-panel').dataset['status']).toBe('running');
  });

  it('stops listening once it is closed', async () => {
    const before = fakeBridge.listenerCount;
    const view = await open(running);
    expect(fakeBridge.listenerCount).toBeGreaterThan(before);
    view.unmount();
    expect(fakeBridge.listenerCount).toBe(before);
  });

  it('loads a long history a page at a time, drawing each as it comes; live points join once it is all in', async () => {
    const stored = [...points('loss', 12), ...points('recon', 12)];
    core(running, stored);
    const serve = storedMetrics(stored, 10);
    const pages = fakeBridge.hold('runs.metrics');
    const view = render(RunPanel, { runId: 3 });
    const answer = async (after: { name: string; step: number } | null): Promise<void> => {
      await waitFor(() => expect(pages.pending).toHaveLength(1));
      const request = pages.next();
      expect(request.input.after ?? null).toEqual(after);
      request.resolve(serve(request.input));
    };
    await answer(null); // loss 1–10
    await waitFor(() => expect(chartPoints(view)).toBe('10'));
    // Steps 13–14 stream in meanwhile: they wait for the rest of the history.
    fakeBridge.emit('run.metrics', { runId: 3, points: points('loss', 2, 12) });
    await answer({ name: 'loss', step: 10 }); // loss 11–12, recon 1–8
    await waitFor(() => expect(chartPoints(view)).toBe('20'));
    await answer({ name: 'recon', step: 8 }); // recon 9–12, the last page
    await waitFor(() => expect(chartPoints(view)).toBe('26'));
    expect(view.get('run-loss').textContent).toBe('0.714'); // 10 / step 14
    await settle();
    expect(pages.pending).toHaveLength(0);
  });

  it('a resume while the history loads starts over from the store, the old pages dropped', async () => {
    const stopped = { ...running, status: 'cancelled' as const };
    const stored = [...points('loss', 12), ...points('recon', 12)];
    core(stopped, stored);
    const serve = storedMetrics(stored, 10);
    const pages = fakeBridge.hold('runs.metrics');
    const view = render(RunPanel, { runId: 3 });
    await waitFor(() => expect(pages.pending).toHaveLength(1));
    let request = pages.next();
    request.resolve(serve(request.input)); // loss 1–10
    await waitFor(() => expect(pages.pending).toHaveLength(1));
    const stale = pages.next(); // the old load's second page, not answered yet
    fakeBridge.emit('run.status', { runId: 3, status: 'running', run: running });
    await settle();
    // One new load: the panel does not start listening a second time.
    await waitFor(() => expect(pages.pending).toHaveLength(1));
    stale.resolve(serve(stale.input));
    request = pages.next();
    expect(request.input).not.toHaveProperty('after');
    request.resolve(serve(request.input));
    await waitFor(() => expect(pages.pending).toHaveLength(1));
    request = pages.next();
    request.resolve(serve(request.input));
    await waitFor(() => expect(pages.pending).toHaveLength(1));
    request = pages.next();
    request.resolve(serve(request.input));
    // Every stored point once, in order: the stale page added nothing.
    await waitFor(() => expect(chartPoints(view)).toBe('24'));
    expect(view.get('run-loss').textContent).toBe('0.833'); // 10 / step 12
  });

  it('a failed history load says so and keeps the live points', async () => {
    core(running);
    fakeBridge.fail('runs.metrics', 'io_error', 'The store could not be read');
    const view = render(RunPanel, { runId: 3 });
    await waitFor(() => expect(view.target.textContent).toContain('The store could not be read'));
    fakeBridge.emit('run.metrics', { runId: 3, points: points('loss', 4) });
    await waitFor(() => expect(chartPoints(view)).toBe('4'));
  });

  it('shows test bits/dim, and for a Bernoulli decoder on grey pixels says it is not a likelihood instead', async () => {
    const summary = { test_nll: 5754, test_bpd: 0.68, test_images: 100, test_images_total: 100, iwae_k: 5, test_nll_partial: 0 };
    const logistic = makeRun({ id: 6, status: 'finished', epochsDone: 1, lastStep: 4, config: { decoder: 'logistic' }, summary: { ...summary, test_bpd: 4.71 } });
    const view = await open(logistic);
    expect(view.get('run-test-bpd').textContent).toBe('4.71');
    expect(view.query('run-likelihood-caveat')).toBeNull();
    view.unmount();

    const grey = makeRun({ id: 7, status: 'finished', epochsDone: 1, lastStep: 4, config: { decoder: 'bernoulli' }, summary: { ...summary, test_data_binary: 0 } });
    const flagged = await open(grey);
    expect(flagged.get('run-test-bpd').dataset['state']).toBe('not-a-likelihood');
    expect(flagged.get('run-test-bpd').textContent).not.toContain('0.68');
    expect(flagged.get('run-likelihood-caveat').textContent).toContain('not a likelihood of this data');
    flagged.unmount();

    // Binary test pixels: a Bernoulli NLL is exact, its bits/dim shown.
    const binary = makeRun({ id: 8, status: 'finished', epochsDone: 1, lastStep: 4, config: { decoder: 'bernoulli' }, summary: { ...summary, test_data_binary: 1 } });
    const exact = await open(binary);
    expect(exact.get('run-test-bpd').textContent).toBe('0.680');
    exact.unmount();
  });

  it('a run whose settings cannot be read shows its figures but nothing drawn from the defaults standing in, and offers no model', async () => {
    const summary = { test_nll: 1724, test_bpd: 0.68, test_images: 52, test_images_total: 52, iwae_k: 100, test_nll_partial: 0, test_data_binary: 0 };
    const run = makeRun({ id: 9, status: 'finished', epochsDone: 1, lastStep: 8, config: { decoder: 'bernoulli', epochs: 10 }, configError: 'not JSON (Unterminated string)', summary });
    core(run);
    fakeBridge.answer('runs.checkpoints', [{ runId: 9, epoch: 1, step: 8, kind: 'last', bytes: 1024, createdAt: 'now' }]);
    const view = render(RunPanel, { runId: run.id, fullEvaluation: true, showConfig: true });
    await waitFor(() => expect(view.get('run-panel').dataset['status']).toBe('finished'));
    await settle();
    expect(view.get('run-settings-unreadable').title).toBe('not JSON (Unterminated string)');
    expect(view.get('run-panel').textContent).not.toContain('bernoulli');
    expect(view.get('run-epoch').textContent).toBe('1'); // not "1/10": the 10 is a default
    expect(view.query('run-test-bpd')).toBeNull();
    expect(view.query('run-likelihood-caveat')).toBeNull();
    expect(view.get('run-test-nll').textContent).toBe('1,724');
    expect(view.query('run-evaluate')).toBeNull();
    expect((view.get('run-explore') as HTMLButtonElement).disabled).toBe(true);
    expect(view.get('run-explore').title).toMatch(/settings cannot be read/);
    expect((view.get('run-inpaint') as HTMLButtonElement).disabled).toBe(true);
  });

  it('says what its test NLL covers, and follows a full evaluation from its start to its end', async () => {
    const finished = makeRun({
      id: 5,
      status: 'finished',
      epochsDone: 1,
      lastStep: 4,
      config: { iwaeSamples: 100 },
      summary: { test_nll: 93.25, test_bpd: 0.17, test_images: 120, test_images_total: 380, iwae_k: 5, test_nll_partial: 0 },
    });
    core(finished);
    const view = render(RunPanel, { runId: 5, fullEvaluation: true });
    await waitFor(() => expect(view.get('run-panel').dataset['status']).toBe('finished'));
    const note = view.get('run-test-nll-note');
    expect(note.textContent?.replace(/\s+/g, ' ')).toContain('Test NLL 93.25 nats on 120 of 380 test images, k = 5.');
    expect(note.textContent).toContain('Full evaluation reads all 380 with k = 100');

    fakeBridge.answer('runs.evaluate', { runId: 5, iwaeSamples: 100, images: 'all', checkpoint: { kind: 'best', epoch: 1, step: 4, bytes: 1, createdAt: '' } as never });
    await click(button(view, 'run-evaluate'));
    expect(fakeBridge.inputs('runs.evaluate')).toEqual([{ runId: 5, images: 'all' }]);
    fakeBridge.emit('run.evaluation', { runId: 5, state: 'started', iwaeSamples: 100, images: 'all' });
    // Before its process reports (seconds on a busy machine), the page already says what runs.
    await waitFor(() => expect(view.get('run-phase').textContent?.trim()).toBe('evaluating the test bound…'));
    fakeBridge.emit('run.progress', { runId: 5, phase: 'evaluating', epoch: 1, epochs: 1, step: 4, stepsPerEpoch: 0, imagesPerSec: 3, etaSeconds: 90, evaluated: { done: 95, total: 380, k: 100 } });
    await waitFor(() => expect(view.get('run-phase').textContent).toContain('evaluating the test bound · 25 %'));
    expect(view.get('run-evaluate-cancel').textContent).toContain('Cancel evaluation (25 %)');

    // Done: the run's new summary arrives with its status, and the action is back.
    const full = { ...finished, summary: { ...finished.summary, test_nll: 91.5, test_images: 380, iwae_k: 100 } };
    fakeBridge.emit('run.evaluation', { runId: 5, state: 'finished', summary: full.summary });
    fakeBridge.emit('run.status', { runId: 5, status: 'finished', run: full });
    await waitFor(() => expect(view.get('run-test-nll-note').textContent?.replace(/\s+/g, ' ')).toContain('Test NLL 91.50 nats on 380 of 380 test images, k = 100.'));
    expect(view.get('run-test-nll-note').textContent).not.toContain('Full evaluation reads');
    await waitFor(() => expect(view.get('run-evaluate').textContent).toContain('Full evaluation'));
  });
});

describe('RunPanel image slider, live', () => {
  const artifact = (epoch: number) => ({ id: epoch, runId: 3, kind: 'reconstructions', epoch, dataUrl: 'data:image/png;base64,', url: `artifacts/${epoch}` });

  it('offers every epoch with images, also when events for several epochs arrive in one batch, asking only for the new ones', async () => {
    const view = await open(running);
    await waitFor(() => expect(fakeBridge.inputs('runs.artifactEpochs')).toHaveLength(1));
    // Epochs 1 and 2 were stored while the page was busy; their events come in one batch.
    fakeBridge.answer('runs.artifactEpochs', ({ afterEpoch = 0 }) => ({ reconstructions: [1, 2].filter((e) => e > afterEpoch) }));
    fakeBridge.emit('run.artifact', { runId: 3, artifact: artifact(1) });
    fakeBridge.emit('run.artifact', { runId: 3, artifact: artifact(2) });
    await waitFor(() => expect((view.get('artifact-slider') as HTMLInputElement).max).toBe('1'));
    // The next epoch is appended without asking.
    const asked = fakeBridge.inputs('runs.artifactEpochs').length;
    fakeBridge.emit('run.artifact', { runId: 3, artifact: artifact(3) });
    await waitFor(() => expect((view.get('artifact-slider') as HTMLInputElement).max).toBe('2'));
    expect(fakeBridge.inputs('runs.artifactEpochs')).toHaveLength(asked);
    // A jump (5 after 3) asks only for what came after the last epoch known.
    fakeBridge.answer('runs.artifactEpochs', ({ afterEpoch = 0 }) => ({ reconstructions: [4, 5].filter((e) => e > afterEpoch) }));
    fakeBridge.emit('run.artifact', { runId: 3, artifact: artifact(5) });
    await waitFor(() => expect((view.get('artifact-slider') as HTMLInputElement).max).toBe('4'));
    expect(fakeBridge.inputs('runs.artifactEpochs').at(-1)).toEqual({ runId: 3, afterEpoch: 3 });
  });
});

describe('RunPanel figures', () => {
  it('labels every loss figure with its unit and says what it averages, so the tile and the legend never disagree unexplained', async () => {
    const done = makeRun({
      id: 5,
      status: 'finished',
      epochsDone: 3,
      lastStep: 30,
      config: { epochs: 3 },
      summary: { epochs: 3, loss: 260.2, val_loss: 250, test_nll: 240, test_bpd: 0.44, test_images: 10, test_images_total: 10, iwae_k: 5 },
    });
    const stored = [
      ...Array.from({ length: 30 }, (_, i) => ({ step: i + 1, epoch: Math.ceil((i + 1) / 10), name: 'loss', value: i === 29 ? 252.6 : 300 - i, t: i * 100 })),
      { step: 30, epoch: 3, name: 'val_loss', value: 250, t: 3000 },
    ];
    const view = await open(done, stored);
    await waitFor(() => expect(view.get('legend-loss').textContent).toContain('252.6')); // the last step's batch
    // The tile: the last epoch's mean, in nats, saying so.
    expect(view.get('run-loss').textContent).toBe('260.2');
    expect(view.get('run-loss').parentElement!.textContent).toBe('260.2nats');
    expect(view.get('run-loss-what').textContent).toBe('mean, epoch 3');
    expect(view.get('legend-note').textContent).toContain('step 30 batch · val loss epoch 3 mean · nats per image');
    expect(view.get('run-val-loss').parentElement!.textContent).toBe('250.0nats');
    expect(view.get('run-test-nll').parentElement!.textContent).toBe('240.0nats');
    // Bits/dim has its own tile (the decoder's likelihood on the 0–255 scale).
    expect(view.get('run-test-bpd').textContent).toBe('0.440');
  });

  it('shows the backend notes in a panel under the figures, not inside the narrow backend tile', async () => {
    const notes = ['webgpu: no adapter', 'wasm: SIMD off', 'cpu: chosen', 'threads: 2', 'memory: 1 GiB'];
    const view = await open(makeRun({ id: 6, status: 'finished', backendNotes: notes }));
    expect(view.query('backend-notes')).toBeNull();
    click(view.get('backend-notes-toggle'));
    await waitFor(() => expect(view.get('backend-notes').querySelectorAll('li')).toHaveLength(5));
    expect(view.get('backend-notes').closest('.stats')).toBeNull();
    expect(view.get('run-backend').closest('.stats')).not.toBeNull();
    click(view.get('backend-notes-close'));
    await waitFor(() => expect(view.query('backend-notes')).toBeNull());
  });
});

describe('an imported run', () => {
  it('calls its images held out when the run it came from had validation images, although its own dataset has none', async () => {
    studio.datasets = [{ id: 2, projectId: 1, splitCounts: { train: 0, validation: 0, test: 50 } } as Dataset];
    const card = { dataset: { splitCounts: { train: 800, validation: 100, test: 100 } } };
    const view = await open(makeRun({ id: 8, datasetId: 2, imported: { card } as unknown as NonNullable<Run['imported']> }));
    await waitFor(() => expect(view.target.textContent).toContain('Top: held-out images.'));
    expect(view.target.textContent).not.toContain('no validation images');
  });
});

describe('RunPanel: the loss chart and one diverging step', () => {
  /** A loss falling from 80 000 to 30 000 nats over 300 steps, with one step at 530 000. */
  const spiky = (): MetricPoint[] =>
    Array.from({ length: 300 }, (_, i) => ({ step: i + 1, epoch: 1, name: 'loss', value: i === 1 ? 530_000 : 30_000 + 50_000 * Math.exp(-i / 30), t: (i + 1) * 100 }));
  const canvas = (view: Rendered): HTMLElement => view.get('loss-chart');

  it('scales the y axis to the curve, says what it left above, and shows it on request', async () => {
    const view = await open(makeRun({ id: 3, status: 'finished' }), spiky());
    await waitFor(() => expect(canvas(view).dataset['points']).toBe('300'));
    await waitFor(() => expect(canvas(view).dataset['yTop']).not.toBe('auto'));
    // Just above the curve's own top (80 000 at step 1), far below the spike.
    expect(Number(canvas(view).dataset['yTop'])).toBeGreaterThan(80_000);
    expect(Number(canvas(view).dataset['yTop'])).toBeLessThanOrEqual(90_000);
    expect(view.get('chart-outliers').textContent).toMatch(/1 point above, up to 530[\s,.\u202f\u00a0]?000 · Show/);

    await click(view.get('chart-outliers'));
    await waitFor(() => expect(canvas(view).dataset['yTop']).toBe('auto'));
    expect(view.get('chart-outliers').textContent).toContain('Scale to the curve');
    await click(view.get('chart-outliers'));
    await waitFor(() => expect(canvas(view).dataset['yTop']).not.toBe('auto'));
  });

  it('on a log axis, and for a curve with no far-out point, the axis takes every point and no note is shown', async () => {
    const view = await open(makeRun({ id: 3, status: 'finished' }), spiky());
    await waitFor(() => expect(canvas(view).dataset['yTop']).not.toBe('auto'));
    await click(view.get('chart-log'));
    await waitFor(() => expect(canvas(view).dataset['yTop']).toBe('auto'));
    expect(view.query('chart-outliers')).toBeNull();
    view.unmount();

    const plain = await open(makeRun({ id: 3, status: 'finished' }), points('loss', 300));
    await waitFor(() => expect(plain.get('loss-chart').dataset['points']).toBe('300'));
    await settle();
    expect(plain.get('loss-chart').dataset['yTop']).toBe('auto');
    expect(plain.query('chart-outliers')).toBeNull();
  });
});
