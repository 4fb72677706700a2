// Explore through the core with the real built worker (`npm run build` first): a tiny
// model is trained, then questioned through a model session.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appPaths } from '../../paths';
import { forkWorker, type WorkerHandle } from '../jobs/spawn';
import type { Core } from '../core';
import { tempDir, testCore, writeImageFolder } from '../testing';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let runId = 0;
let wideRunId = 0;
const workers: WorkerHandle[] = [];

async function png(dataUrl: string): Promise<{ width: number; height: number; data: Buffer }> {
  expect(dataUrl).toMatch(/^data:image\/png;base64,/);
  const { data, info } = await sharp(Buffer.from(dataUrl.split(',')[1]!, 'base64')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(1);
  return { width: info.width, height: info.height, data };
}

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir();
  core = testCore(join(dir.path, 'home'), {
    workerEntry: appPaths.workerEntry,
    maxConcurrentRuns: 2,
    spawnWorker: <In, Out>(entry: string, options: { name: string }) => {
      const worker = forkWorker<In, Out>(entry, options);
      workers.push(worker as unknown as WorkerHandle);
      return worker;
    },
  });
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right', 'middle'], 30, { size: 8 });
  const project = await core.call('projects.create', { name: 'explore' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'shapes'), size: 8, testFraction: 0.2 });
  // Bernoulli named: runs.create would give these 8-bit images the logistic decoder (their default).
  const config = { architecture: 'mlp', hidden: 32, epochs: 2, batchSize: 16, backend: 'cpu', decoder: 'bernoulli' } as const;
  const flat = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { ...config, latent: 2 } });
  const wide = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { ...config, latent: 5 } });
  await Promise.all([core.runs.settled(flat.id), core.runs.settled(wide.id)]);
  expect((await core.call('runs.get', { runId: flat.id })).status).toBe('finished');
  runId = flat.id;
  wideRunId = wide.id;
}, 120_000);
afterAll(async () => {
  await core?.close();
  dir?.cleanup();
});

describe('Explore', () => {
  it('opens a session that describes the model and orders its dimensions by KL', async () => {
    const info = await core.call('explore.info', { runId });
    expect(info).toMatchObject({ runId, latent: 2, width: 8, height: 8, channels: 1, decoder: 'bernoulli', labels: ['left', 'middle', 'right'] });
    expect(info.checkpoint.epoch).toBeGreaterThanOrEqual(1);
    expect(info.klPerDim).toHaveLength(2);
    expect(info.klPerDim.every((kl) => kl >= 0)).toBe(true);
    expect(info.klPerDim[info.dimsByKl[0]!]).toBeGreaterThanOrEqual(info.klPerDim[info.dimsByKl[1]!]!);
    expect(info.splitCounts.test).toBeGreaterThan(0);
  });

  it('lists test images and fetches exact ones by index', async () => {
    const page = await core.call('explore.images', { runId, count: 5 });
    expect(page.total).toBeGreaterThan(0);
    expect(page.images.length).toBe(Math.min(5, page.total));
    const first = page.images[0]!;
    expect(await png(first.dataUrl)).toMatchObject({ width: 8, height: 8 });
    const again = await core.call('explore.images', { runId, indices: [first.index] });
    expect(again.images[0]).toEqual(first);
  });

  it('traverses: one row per dimension, one column per step, and the base image changes the grid', async () => {
    const origin = await core.call('explore.traverse', { runId, steps: 5, range: 2 });
    expect(origin.dims).toHaveLength(2);
    expect(origin.values).toEqual([-2, -1, 0, 1, 2]);
    const grid = await png(origin.gridDataUrl);
    // 8-px tiles with 2-px gaps: 5 columns, 2 rows.
    expect(grid.width).toBe(5 * 8 + 6 * 2);
    expect(grid.height).toBe(2 * 8 + 3 * 2);
    const { images } = await core.call('explore.images', { runId, count: 1 });
    const based = await core.call('explore.traverse', { runId, steps: 5, range: 2, base: images[0]!.index });
    expect(based.gridDataUrl).not.toBe(origin.gridDataUrl);
    const wider = await core.call('explore.traverse', { runId, steps: 5, range: 4 });
    expect(wider.gridDataUrl).not.toBe(origin.gridDataUrl);
  });

  it('maps a 2-D latent as is, with the decoded plane', async () => {
    const map = await core.call('explore.latentMap', { runId, manifoldSteps: 6 });
    expect(map.projection).toBe('latent');
    expect(map.explained).toBeNull();
    expect(map.points.length).toBe((await core.call('explore.info', { runId })).splitCounts.test);
    expect(new Set(map.points.map((p) => p.label)).size).toBeGreaterThan(1);
    expect(map.manifold).not.toBeNull();
    expect((await png(map.manifold!.gridDataUrl)).width).toBe(6 * 8 + 7 * 2);
  });

  it('projects a wider latent on its principal components', async () => {
    const map = await core.call('explore.latentMap', { runId: wideRunId });
    expect(map.projection).toBe('pca');
    expect(map.manifold).toBeNull();
    const [first, second] = map.explained!;
    expect(first).toBeGreaterThanOrEqual(second);
    expect(first + second).toBeLessThanOrEqual(1 + 1e-6);
    expect(first + second).toBeGreaterThan(0);
  });

  it('interpolates between two images, ends included, linearly and spherically', async () => {
    const { images } = await core.call('explore.images', { runId, count: 2 });
    const [a, b] = images;
    const linear = await core.call('explore.interpolate', { runId, from: a!.index, to: b!.index, steps: 4 });
    const spherical = await core.call('explore.interpolate', { runId, from: a!.index, to: b!.index, steps: 4, mode: 'spherical' });
    expect((await png(linear.stripDataUrl)).width).toBe(4 * 8 + 5 * 2);
    expect(spherical.mode).toBe('spherical');
    // Same end points (the decoded means of the two images), different paths between them.
    const l = await png(linear.stripDataUrl);
    const s = await png(spherical.stripDataUrl);
    const tile = (img: { data: Buffer; width: number }, k: number): number[] =>
      Array.from({ length: 8 }, (_, y) => Array.from(img.data.subarray((2 + y) * img.width + 2 + k * 10, (2 + y) * img.width + 10 + k * 10))).flat();
    expect(tile(l, 0)).toEqual(tile(s, 0));
    expect(tile(l, 3)).toEqual(tile(s, 3));
  });

  it('samples at a temperature; temperature 0 decodes the origin every time', async () => {
    const cold = await core.call('explore.samples', { runId, count: 4, temperature: 0 });
    const img = await png(cold.gridDataUrl);
    expect(cold.cols).toBe(2);
    const tile = (k: number): number[] =>
      Array.from({ length: 8 }, (_, y) => {
        const row = 2 + Math.floor(k / 2) * 10 + y;
        const col = 2 + (k % 2) * 10;
        return Array.from(img.data.subarray(row * img.width + col, row * img.width + col + 8));
      }).flat();
    expect(tile(1)).toEqual(tile(0));
    const warm = await core.call('explore.samples', { runId, count: 4, temperature: 1, seed: 1 });
    const other = await core.call('explore.samples', { runId, count: 4, temperature: 1, seed: 2 });
    expect(warm.gridDataUrl).not.toBe(other.gridDataUrl);
    expect((await core.call('explore.samples', { runId, count: 4, temperature: 1, seed: 1 })).gridDataUrl).toBe(warm.gridDataUrl);
  });

  it('names the field of a bad index, and the session keeps answering', async () => {
    await expect(core.call('explore.traverse', { runId, base: 10_000 })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'base' } });
    await expect(core.call('explore.traverse', { runId, dims: [7] })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'dims' } });
    await expect(core.call('explore.interpolate', { runId, from: 0, to: 99_999 })).rejects.toMatchObject({ details: { field: 'to' } });
    expect((await core.call('explore.samples', { runId, count: 1 })).count).toBe(1);
  });

  it('closes on request, and a later request opens a fresh session', async () => {
    await core.call('explore.info', { runId });
    expect((await core.call('explore.close', { runId })).closed).toBe(1);
    const info = await core.call('explore.info', { runId });
    expect(info.latent).toBe(2);
  });

  it('a model process killed mid-request fails that request with a reason, and the next request starts a new one', async () => {
    await core.call('explore.info', { runId });
    const worker = workers.at(-1)!;
    const pending = core.call('explore.latentMap', { runId, max: 5000, manifoldSteps: 30 });
    process.kill(worker.pid!, 'SIGKILL');
    await expect(pending).rejects.toMatchObject({ code: 'worker_failed', message: expect.stringMatching(/signal SIGKILL/) });
    const samples = await core.call('explore.samples', { runId, count: 2 });
    expect(samples.count).toBe(2);
    expect(workers.at(-1)!.pid).not.toBe(worker.pid);
  });

  it('a saved model whose file is missing gets a clear error, not a crash', async () => {
    await core.call('explore.close', { runId: wideRunId });
    const row = core.workspace.db.prepare(`SELECT blob_hash FROM checkpoints WHERE run_id = ? AND kind = 'best'`).get(wideRunId) as { blob_hash: string };
    rmSync(core.workspace.blobs.pathOf(row.blob_hash));
    await expect(core.call('explore.info', { runId: wideRunId })).rejects.toMatchObject({ code: 'io_error', message: expect.stringMatching(/missing/) });
  });

  it('a run without a checkpoint says so', async () => {
    const project = (await core.call('projects.list', {}))[0]!;
    const dataset = (await core.call('datasets.list', { projectId: project.id }))[0]!;
    const run = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { architecture: 'mlp', epochs: 1, backend: 'cpu' } });
    await core.call('runs.cancel', { runId: run.id });
    await core.runs.settled(run.id);
    await expect(core.call('explore.info', { runId: run.id })).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/no saved model/) });
  });
});
