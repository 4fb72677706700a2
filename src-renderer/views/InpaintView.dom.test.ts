import { describe, expect, it } from 'vitest';
import type { ExploreInfo } from '@shared/api';
import { ApiError } from '@shared/errors';
import type { ImputeFrame } from '@shared/inference';
import { encodeMask } from '@shared/pixel-mask';
import type { CheckpointInfo } from '@shared/types';
import InpaintView from './InpaintView.svelte';
import { presetMask } from '../lib/inpaint-mask';
import { studio } from '../lib/studio.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeExploreInfo, makeRun } from '../test/fixtures';
import { flushSync } from 'svelte';
import { check, choose, click, render, settle, waitFor, type Rendered } from '../test/render';

const W = 8;
const H = 8;
const run = makeRun({ id: 5, name: 'digits-vae' });
const saved = (kind: 'best' | 'last'): CheckpointInfo => ({ runId: 5, kind, epoch: 3, step: 30, bytes: 1000, createdAt: '2025-01-01T10:05:00.000Z' });

function modelInfo(patch: Partial<ExploreInfo> = {}): ExploreInfo {
  return makeExploreInfo({ checkpoint: saved('best'), labels: ['zero', 'one', 'two'], width: W, height: H, ...patch });
}

function frame(iteration: number, patch: Partial<ImputeFrame> = {}): ImputeFrame {
  return {
    method: 'importance',
    iteration,
    iterations: 60,
    done: iteration === 60,
    width: W,
    height: H,
    channels: 1,
    meanDataUrl: `data:image/png;base64,mean${iteration}`,
    sampleDataUrls: ['data:image/png;base64,s1', 'data:image/png;base64,s2'],
    uncertaintyDataUrl: `data:image/png;base64,std${iteration}`,
    maxStd: 0.25,
    missingFraction: 0.5,
    diagnostic: { name: 'ess', value: 3.5 },
    label: null,
    classProbabilities: null,
    refinementMs: 12,
    seconds: 1,
    ...patch,
  };
}

/** A project with run 5, its saved models, and 20 test images labelled 0, 1, 2, 0, 1… */
function core(info: ExploreInfo = modelInfo()): void {
  studio.projectId = 1;
  studio.runs = [run];
  fakeBridge.answer('runs.checkpoints', [saved('best'), saved('last')]);
  fakeBridge.answer('explore.info', ({ checkpoint }) => ({ ...info, checkpoint: saved(checkpoint ?? 'best') }));
  fakeBridge.answer('explore.images', ({ offset = 0, count = 64 }) => ({
    split: 'test',
    total: 20,
    images: Array.from({ length: Math.max(0, Math.min(count, 20 - offset)) }, (_, i) => ({ index: offset + i, label: (offset + i) % 3, dataUrl: `data:image/png;base64,img${offset + i}` })),
  }));
  fakeBridge.answer('inpaint.cancel', { cancelled: true });
}

async function open(info?: ExploreInfo): Promise<Rendered> {
  core(info);
  const view = render(InpaintView, { runId: 5 });
  await waitFor(() => expect(view.all('inpaint-pick').length).toBeGreaterThan(0));
  return view;
}

/** The mask the view would send, one entry per pixel (1 = missing), from the canvas's data-mask. */
function maskOf(view: Rendered): number[] {
  const bits = atob(view.get('inpaint-canvas').dataset['mask']!);
  return Array.from({ length: W * H }, (_, i) => (bits.charCodeAt(i >> 3) >> (i & 7)) & 1);
}
const missingPixels = (view: Rendered): [number, number][] =>
  maskOf(view).flatMap((v, i) => (v ? [[i % W, Math.floor(i / W)] as [number, number]] : []));

/** Pointer input on the mask canvas at image-pixel coordinates (the canvas is W·zoom px wide). */
function pointer(view: Rendered, type: 'pointerdown' | 'pointermove' | 'pointerup', x: number, y: number): void {
  const canvas = view.get('inpaint-canvas');
  const size = W * Number(canvas.dataset['zoom']);
  canvas.getBoundingClientRect = () => ({ left: 0, top: 0, right: size, bottom: size, width: size, height: size, x: 0, y: 0, toJSON: () => ({}) });
  canvas.dispatchEvent(new PointerEvent(type, { clientX: (x / W) * size, clientY: (y / H) * size, button: 0, pointerId: 1, bubbles: true }));
  flushSync();
}

const missingText = (view: Rendered) => view.get('inpaint-missing').textContent!;

describe('Inpaint', () => {
  it('starts on the first test image with its bottom half masked', async () => {
    const view = await open();
    expect(view.get('inpaint-pick').classList.contains('chosen')).toBe(true);
    expect(missingText(view)).toMatch(/^50 % of the pixels missing/);
    expect(maskOf(view)).toEqual([...presetMask('bottom', W, H, 1)]);
    expect((view.get('inpaint-run') as HTMLButtonElement).disabled).toBe(false);
  });

  it('paints exactly the pixels under the brush, the rectangle and the eraser, with undo and redo', async () => {
    const view = await open();
    click(view.get('inpaint-clear'));
    expect(missingText(view)).toMatch(/^0 %/);
    expect((view.get('inpaint-run') as HTMLButtonElement).disabled).toBe(true); // nothing to impute

    check(view.get('inpaint-tool-rect'), true);
    pointer(view, 'pointerdown', 1.5, 1.5);
    pointer(view, 'pointermove', 3.5, 2.5);
    pointer(view, 'pointerup', 3.5, 2.5);
    expect(missingPixels(view)).toEqual([[1, 1], [2, 1], [3, 1], [1, 2], [2, 2], [3, 2]]);
    expect(missingText(view)).toMatch(/^9 %/); // 6 of 64
    expect((view.get('inpaint-run') as HTMLButtonElement).disabled).toBe(false);

    check(view.get('inpaint-tool-brush'), true);
    choose(view.get('inpaint-size'), '0.5');
    pointer(view, 'pointerdown', 6.5, 6.5);
    pointer(view, 'pointerup', 6.5, 6.5);
    expect(missingPixels(view)).toContainEqual([6, 6]);
    expect(missingPixels(view)).toHaveLength(7);

    check(view.get('inpaint-tool-eraser'), true);
    pointer(view, 'pointerdown', 1.5, 1.5);
    pointer(view, 'pointerup', 1.5, 1.5);
    expect(missingPixels(view)).toEqual([[2, 1], [3, 1], [1, 2], [2, 2], [3, 2], [6, 6]]);

    click(view.get('inpaint-undo'));
    expect(missingPixels(view)).toHaveLength(7);
    // Ctrl+Z anywhere but in a field undoes too; Ctrl+Shift+Z redoes.
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'z', ctrlKey: true, bubbles: true }));
    await settle();
    expect(missingPixels(view)).toHaveLength(6);
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Z', ctrlKey: true, shiftKey: true, bubbles: true }));
    await settle();
    expect(missingPixels(view)).toHaveLength(7);

    const before = maskOf(view);
    click(view.get('inpaint-invert'));
    expect(maskOf(view)).toEqual(before.map((v) => 1 - v));
    click(view.get('inpaint-top'));
    expect(maskOf(view)).toEqual([...presetMask('top', W, H, 1)]);
    click(view.get('inpaint-undo'));
    click(view.get('inpaint-undo'));
    expect(maskOf(view)).toEqual(before);
    expect((view.get('inpaint-redo') as HTMLButtonElement).disabled).toBe(false);
  });

  it('sends the chosen image, mask, method and settings, and the settings only that method uses', async () => {
    const view = await open();
    fakeBridge.answer('inpaint.run', () => frame(60));
    expect(view.query('inpaint-proposals')).not.toBeNull();
    choose(view.get('inpaint-method'), 'metropolis');
    expect(view.target.textContent).toContain('Mattei & Frellsen 2018');
    expect(view.query('inpaint-proposals')).toBeNull(); // only importance sampling has proposals
    click(view.all('inpaint-pick')[2]!);
    click(view.get('inpaint-top'));
    choose(view.get('inpaint-iterations'), '20');
    choose(view.get('inpaint-seed'), '7');
    click(view.get('inpaint-run'));
    await waitFor(() => expect(view.get('inpaint-results').dataset['done']).toBe('true'));
    const [sent] = fakeBridge.inputs('inpaint.run');
    expect(sent).toMatchObject({
      runId: 5,
      checkpoint: 'best',
      image: { index: Number(view.all('inpaint-pick')[2]!.dataset['index']) },
      mask: encodeMask(presetMask('top', W, H, 1)),
      method: 'metropolis',
      iterations: 20,
      samples: 6,
      seed: 7,
    });
    expect(sent).not.toHaveProperty('label'); // a plain VAE takes no class

    // The other saved model: the session is opened for it, and it imputes.
    check(view.get('inpaint-checkpoint-last'), true);
    await waitFor(() => expect(fakeBridge.inputs('explore.info').at(-1)).toEqual({ runId: 5, checkpoint: 'last' }));
    await waitFor(() => expect(view.query('inpaint-run')).not.toBeNull());
    click(view.get('inpaint-run'));
    await waitFor(() => expect(fakeBridge.inputs('inpaint.run')).toHaveLength(2));
    expect(fakeBridge.inputs('inpaint.run')[1]!.checkpoint).toBe('last');
  });

  it('shows frames of its own job as they stream, cancels at once, and keeps the final answer', async () => {
    const view = await open();
    const listening = fakeBridge.listenerCount;
    const runs = fakeBridge.hold('inpaint.run');
    click(view.get('inpaint-run'));
    await waitFor(() => expect(runs.pending).toHaveLength(1));
    const job = runs.next();
    const jobId = job.input.jobId;
    expect(view.query('inpaint-run')).toBeNull();
    expect(view.get('inpaint-cancel')).toBeTruthy();
    expect(view.get('inpaint-results').textContent).toContain('Starting…');

    fakeBridge.emit('inpaint.progress', { jobId, runId: 5, frame: frame(10) });
    await waitFor(() => expect(view.get('inpaint-results').dataset['iteration']).toBe('10'));
    expect(view.get('inpaint-status').textContent).toMatch(/Importance-weighted · iteration 10 of 60\s*· ESS 3.5/);
    expect(view.get('inpaint-mean').getAttribute('src')).toBe('data:image/png;base64,mean10');
    // Another job's frame, and a frame that trails a newer one, change nothing.
    fakeBridge.emit('inpaint.progress', { jobId: 'someone-else', runId: 5, frame: frame(50) });
    fakeBridge.emit('inpaint.progress', { jobId, runId: 5, frame: frame(5) });
    await settle();
    expect(view.get('inpaint-results').dataset['iteration']).toBe('10');

    click(view.get('inpaint-cancel'));
    await waitFor(() => expect(fakeBridge.inputs('inpaint.cancel')).toEqual([{ jobId }]));
    job.reject(new ApiError('cancelled', 'Inpainting was cancelled'));
    await waitFor(() => expect(view.get('inpaint-cancelled').textContent).toBe('Cancelled after 10 iterations.'));
    expect(view.query('inpaint-cancel')).toBeNull();
    expect(view.query('inpaint-save')).toBeNull();

    // Again, to the end: the answer is the final frame; a late frame does not replace it.
    click(view.get('inpaint-run'));
    await waitFor(() => expect(runs.pending).toHaveLength(1));
    const second = runs.next();
    expect(second.input.jobId).not.toBe(jobId);
    expect(view.query('inpaint-cancelled')).toBeNull();
    fakeBridge.emit('inpaint.progress', { jobId: second.input.jobId, runId: 5, frame: frame(30) });
    second.resolve(frame(60));
    await waitFor(() => expect(view.get('inpaint-results').dataset['done']).toBe('true'));
    fakeBridge.emit('inpaint.progress', { jobId: second.input.jobId, runId: 5, frame: frame(40) });
    await settle();
    expect(view.get('inpaint-results').dataset['iteration']).toBe('60');
    const save = view.get('inpaint-save');
    expect(save.getAttribute('href')).toBe('data:image/png;base64,mean60');
    expect(save.getAttribute('download')).toBe('digits-vae-image-0-importance.png');
    expect(view.get('inpaint-samples-row').querySelectorAll('img')).toHaveLength(2);
    expect(view.get('inpaint-run')).toBeTruthy();
    expect(fakeBridge.listenerCount).toBe(listening); // each job stopped following its frames
  });

  it('names the field the core refused', async () => {
    const view = await open();
    fakeBridge.fail('inpaint.run', 'invalid_input', 'Too many iterations for this image', { field: 'iterations' });
    click(view.get('inpaint-run'));
    await waitFor(() => expect(view.get('inpaint-run-error').textContent).toBe('iterations: Too many iterations for this image'));
    expect(view.get('inpaint-run')).toBeTruthy();
  });

  it('imputes a conditional model given the image’s class, or lets M2 infer it', async () => {
    const view = await open(modelInfo({ family: 'm2', classes: 3 }));
    fakeBridge.answer('inpaint.run', () => frame(60, { label: 2, classProbabilities: [0.1, 0.2, 0.7] }));
    expect(view.all('inpaint-pick')[0]!.dataset['label']).toBe('0');
    click(view.all('inpaint-pick').find((pick) => pick.dataset['label'] === '1')!);
    expect((view.get('inpaint-label') as HTMLSelectElement).value).toBe('1');
    click(view.get('inpaint-run'));
    await waitFor(() => expect(fakeBridge.inputs('inpaint.run')).toHaveLength(1));
    expect(fakeBridge.inputs('inpaint.run')[0]!.label).toBe(1);
    await waitFor(() => expect(view.query('inpaint-run')).not.toBeNull());

    choose(view.get('inpaint-label'), '-1'); // Unknown: let the model infer it
    click(view.get('inpaint-run'));
    await waitFor(() => expect(fakeBridge.inputs('inpaint.run')).toHaveLength(2));
    expect(fakeBridge.inputs('inpaint.run')[1]).not.toHaveProperty('label');
    await waitFor(() => expect(view.get('inpaint-predicted').textContent).toMatch(/Predicted class two\s*\(two: 70 % · one: 20 % · zero: 10 %/));
  });

  it('explains a run with no saved model yet, and retries a model that failed to open', async () => {
    core();
    fakeBridge.answer('runs.checkpoints', []);
    const empty = render(InpaintView, { runId: 5 });
    await waitFor(() => expect(empty.get('inpaint-empty').textContent).toContain('Inpainting opens after the first epoch'));
    expect(fakeBridge.inputs('explore.info')).toEqual([]);
    empty.unmount();

    core();
    fakeBridge.fail('explore.info', 'worker_failed', 'The model session could not start');
    const view = render(InpaintView, { runId: 5 });
    await waitFor(() => expect(view.get('inpaint-error').textContent).toContain('The model session could not start'));
    core();
    click([...view.get('inpaint-error').querySelectorAll('button')].find((b) => b.textContent!.includes('Try again'))!);
    await waitFor(() => expect(view.all('inpaint-pick').length).toBeGreaterThan(0));
    expect(fakeBridge.inputs('explore.info')).toHaveLength(2);
  });

  it('shows the model of the checkpoint chosen last, even when an earlier choice answers later', async () => {
    core();
    const opens = fakeBridge.hold('explore.info');
    const view = render(InpaintView, { runId: 5 });
    await waitFor(() => expect(opens.pending).toHaveLength(1));
    expect(view.get('inpaint-opening')).toBeTruthy();
    check(view.get('inpaint-checkpoint-last'), true);
    await waitFor(() => expect(opens.pending).toHaveLength(2));
    const [best, last] = [opens.next(), opens.next()];
    expect([best.input.checkpoint, last.input.checkpoint]).toEqual(['best', 'last']);
    last.resolve(modelInfo({ checkpoint: saved('last') }));
    await waitFor(() => expect(view.all('inpaint-pick').length).toBeGreaterThan(0));
    best.resolve(modelInfo({ width: 16, height: 16 })); // the slow, stale answer
    await settle();
    expect(view.target.textContent).toContain(`resized like the dataset: ${W}×${H}`);
    expect(maskOf(view)).toHaveLength(W * H);
  });
});
