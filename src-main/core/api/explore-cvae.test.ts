// Explore on a conditional VAE through the core and the real built worker (`npm run
// build` first): the existing pictures decode with sensible labels, and the two ops
// that need a label (generate class k, swap class keep style) answer; a plain VAE
// refuses them by name. Inpainting imputes with the class it is given.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMask, makeMask } from '@shared/pixel-mask';
import { appPaths } from '../../paths';
import type { Core } from '../core';
import { pngSize, tempDir, testCore, writeImageFolder } from '../testing';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let cvaeRun = 0;
let plainRun = 0;
let vqRun = 0;

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir();
  core = testCore(join(dir.path, 'home'), { workerEntry: appPaths.workerEntry, maxConcurrentRuns: 2 });
  await writeImageFolder(join(dir.path, 'shapes'), ['a', 'b', 'c'], 20, { size: 8 });
  const project = await core.call('projects.create', { name: 'cvae' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'shapes'), size: 8, testFraction: 0.2 });
  const config = { architecture: 'mlp', hidden: 16, latent: 2, epochs: 1, batchSize: 16, backend: 'cpu', iwaeSamples: 5 } as const;
  const cvae = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { ...config, family: 'cvae', flow: 'planar', flowSteps: 2 } });
  const plain = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config });
  const vq = await core.call('runs.create', {
    projectId: project.id,
    datasetId: dataset.id,
    config: { ...config, family: 'vqvae', epochs: 2, priorEpochs: 1, codebookSize: 8, codeDim: 2 },
  });
  await Promise.all([core.runs.settled(cvae.id), core.runs.settled(plain.id), core.runs.settled(vq.id)]);
  const finished = await core.call('runs.get', { runId: cvae.id });
  expect(finished.status, JSON.stringify(finished.error)).toBe('finished');
  cvaeRun = cvae.id;
  plainRun = plain.id;
  vqRun = vq.id;
}, 180_000);
afterAll(async () => {
  await core?.close();
  dir?.cleanup();
});

describe('Explore on a conditional VAE', () => {
  it('describes the family and its classes', async () => {
    expect(await core.call('explore.info', { runId: cvaeRun })).toMatchObject({ family: 'cvae', classes: 3, flow: 'planar', labels: ['a', 'b', 'c'] });
    expect(await core.call('explore.info', { runId: plainRun })).toMatchObject({ family: 'vae', classes: 0, flow: 'none' });
  });

  it('generates one class: the same seed draws the same z, so other classes give other pictures', async () => {
    const a = await core.call('explore.generateClass', { runId: cvaeRun, label: 0, count: 4, seed: 3 });
    const b = await core.call('explore.generateClass', { runId: cvaeRun, label: 1, count: 4, seed: 3 });
    expect(a).toMatchObject({ label: 0, count: 4, cols: 2 });
    expect(await pngSize(a.gridDataUrl)).toEqual([2 * 10 + 2, 2 * 10 + 2]);
    expect(b.gridDataUrl).not.toBe(a.gridDataUrl);
    expect((await core.call('explore.generateClass', { runId: cvaeRun, label: 0, count: 4, seed: 3 })).gridDataUrl).toBe(a.gridDataUrl);
    await expect(core.call('explore.generateClass', { runId: cvaeRun, label: 3 })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'label' } });
  });

  it('swaps the class of one image, keeping its z: the original then one decode per class', async () => {
    const result = await core.call('explore.swapClass', { runId: cvaeRun, index: 0 });
    expect(result).toMatchObject({ index: 0, label: 0, labels: [0, 1, 2] });
    expect(await pngSize(result.stripDataUrl)).toEqual([4 * 10 + 2, 10 + 2]);
    const some = await core.call('explore.swapClass', { runId: cvaeRun, index: 0, labels: [2] });
    expect(some.labels).toEqual([2]);
  });

  it('answers the existing pictures with labels (traversal, map, interpolation, samples)', async () => {
    await expect(core.call('explore.traverse', { runId: cvaeRun, base: 1, count: 2, steps: 3 })).resolves.toBeDefined();
    await expect(core.call('explore.traverse', { runId: cvaeRun, base: null, count: 2, steps: 3 })).resolves.toBeDefined();
    const map = await core.call('explore.latentMap', { runId: cvaeRun, max: 20, manifoldSteps: 5 });
    expect(map.manifold?.steps).toBe(5);
    await expect(core.call('explore.interpolate', { runId: cvaeRun, from: 0, to: 30, steps: 3 })).resolves.toBeDefined();
    await expect(core.call('explore.samples', { runId: cvaeRun, count: 6 })).resolves.toBeDefined();
  });

  it('inpaints with the class it is given, and refuses to guess one, naming the label', async () => {
    const mask = encodeMask(makeMask('top', 8, 8, Math.random));
    const request = { runId: cvaeRun, image: { index: 0 }, mask, method: 'importance', iterations: 3, samples: 2, proposals: 8 } as const;
    const frame = await core.call('inpaint.run', { ...request, jobId: 'cvae-1', label: 1 });
    expect(frame).toMatchObject({ done: true, label: 1, classProbabilities: null });
    expect(frame.sampleDataUrls).toHaveLength(2);
    const other = await core.call('inpaint.run', { ...request, jobId: 'cvae-2', label: 2 });
    expect(other.meanDataUrl).not.toBe(frame.meanDataUrl);
    const refusal = { code: 'invalid_input', details: { field: 'label' } };
    await expect(core.call('inpaint.run', { ...request, jobId: 'cvae-3' })).rejects.toMatchObject(refusal);
    await expect(core.call('inpaint.run', { ...request, jobId: 'cvae-4', label: 3 })).rejects.toMatchObject(refusal);
    await expect(core.call('inpaint.run', { ...request, runId: plainRun, jobId: 'plain-1', label: 0 })).rejects.toMatchObject(refusal);
  });

  it("scores imputation of a conditional VAE given each held-out image's true label", async () => {
    const result = await core.call('inpaint.evaluate', { runId: cvaeRun, mask: 'top', images: 4, iterations: 2, methods: ['importance', 'optimize'] });
    expect(result.labels).toBe('given');
    expect(result.scores.map((s) => s.method)).toEqual(['pixel-mean', 'importance', 'optimize']);
    for (const s of result.scores) expect(Number.isFinite(s.mse)).toBe(true);
  });

  it('inpainting refuses a VQ-VAE, saying why', async () => {
    await expect(core.call('inpaint.evaluate', { runId: vqRun, mask: 'top', images: 4, iterations: 2 })).rejects.toThrow(/VQ-VAE: .*works on continuous latents/);
  });

  it('a plain VAE refuses the class ops, saying why', async () => {
    await expect(core.call('explore.generateClass', { runId: plainRun, label: 0 })).rejects.toThrow(/needs a conditional VAE \(family 'cvae'\)/);
    await expect(core.call('explore.swapClass', { runId: plainRun, index: 0 })).rejects.toThrow(/needs a conditional VAE/);
    // And the code grid op, which only a VQ-VAE answers.
    await expect(core.call('explore.codes', { runId: plainRun, index: 0 })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'op' } });
  });
});

describe('a VQ-VAE run through the worker and the store', () => {
  it('finishes with its codebook figures, a codebook chart beside reconstructions and prior samples, and a test bound', async () => {
    const run = await core.call('runs.get', { runId: vqRun });
    expect(run.status, JSON.stringify(run.error)).toBe('finished');
    expect(run.summary['val_perplexity']).toBeGreaterThanOrEqual(1);
    expect(run.summary['val_codes_used']).toBeGreaterThanOrEqual(1);
    expect(Number.isFinite(run.summary['test_nll'])).toBe(true);
    const kinds = (await core.call('runs.artifacts', { runId: vqRun, latest: true })).map((a) => a.kind).sort();
    expect(kinds).toEqual(['codebook', 'reconstructions', 'samples']);
  });

  it('opens in Explore with its code grid (explore-vq.test.ts questions it)', async () => {
    expect(await core.call('explore.info', { runId: vqRun })).toMatchObject({ family: 'vqvae', vq: { codebookSize: 8, priorTrained: true } });
  });
});
