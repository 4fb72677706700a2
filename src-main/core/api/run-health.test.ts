// Dataset health with a trained run (#22), through the core and the real built worker:
// a tiny two-class folder with a planted noise image and a mislabelled one is scored, and
// the pages, filters, neighbours, CSV and storage behave as a user relies on. Needs `npm run build`.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEventMessage } from '@shared/api';
import type { RunHealthEvent } from '@shared/run-health';
import { appPaths } from '../../paths';
import type { Core } from '../core';
import { getRunHealth } from '../store/run-health';
import { tempDir, testCore, trainedRun } from '../testing';

const SIZE = 12;
let dir: ReturnType<typeof tempDir>;
let core: Core;
let runId: number;
let datasetCount: number;
const events: RunHealthEvent[] = [];

/** A bright bar on the left or right half, at a varying height; every file distinct. */
function bar(side: 'left' | 'right', i: number): Buffer {
  const px = Buffer.alloc(SIZE * SIZE);
  const x0 = side === 'left' ? 1 : SIZE - 4;
  const y0 = 1 + (i % (SIZE - 6));
  for (let y = y0; y < y0 + 4; y++) for (let x = x0; x < x0 + 3; x++) px[y * SIZE + x] = 255;
  px[(SIZE - 1) * SIZE + 6] = 1 + i;
  return px;
}

async function png(path: string, pixels: Buffer): Promise<void> {
  writeFileSync(path, await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } }).png().toBuffer());
}

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir();
  const folder = join(dir.path, 'bars');
  for (const side of ['left', 'right'] as const) {
    mkdirSync(join(folder, side), { recursive: true });
    for (let i = 0; i < 40; i++) await png(join(folder, side, `${side}-${i}.png`), bar(side, i));
  }
  // Planted: uniform noise, and a right bar filed under left.
  let s = 7;
  await png(join(folder, 'left', 'noise.png'), Buffer.from(Array.from({ length: SIZE * SIZE }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24))));
  await png(join(folder, 'left', 'misfiled.png'), bar('right', 41));
  core = testCore(join(dir.path, 'home'), { workerEntry: appPaths.workerEntry });
  core.subscribe((m: AnyEventMessage) => {
    if (m.event === 'run.health') events.push(m.payload);
  });
  const trained = await trainedRun(core, {
    project: 'health',
    folder,
    size: SIZE,
    config: { architecture: 'mlp', latent: 4, hidden: 32, epochs: 6, batchSize: 16, backend: 'cpu', decoder: 'logistic', iwaeSamples: 2 },
  });
  datasetCount = trained.dataset.count;
  runId = trained.runId;
}, 120_000);
afterAll(async () => {
  await core?.close();
  dir?.cleanup();
});

describe('dataset health with a run', () => {
  it('answers computed: false before scoring, then scores every image of every split with progress', async () => {
    expect(await core.call('runs.health', { runId })).toEqual({ runId, computed: false, computing: false });
    const started = await core.call('runs.scoreHealth', { runId, iwaeSamples: 4 });
    expect(started.iwaeSamples).toBe(4);
    await expect(core.call('runs.scoreHealth', { runId })).rejects.toThrow(/already scoring/);
    await core.runs.healthSettled(runId);
    expect(events.map((e) => e.state)).toContain('progress');
    expect(events.at(-1)!.state).toBe('finished');
    const page = await core.call('runs.health', { runId, limit: 200 });
    if (!page.computed) throw new Error('not computed');
    expect(page.total).toBe(datasetCount);
    expect(new Set(page.items.map((i) => i.split))).toEqual(new Set(['train', 'validation', 'test']));
    expect(page.summary.iwaeSamples).toBe(4);
    expect(page.summary.labelSource).toBe('latent-classifier');
  }, 60_000);

  it('ranks the planted noise first by input complexity and the misfiled image first by the label check', async () => {
    const outliers = await core.call('runs.health', { runId, score: 'complexity', limit: 3, thumbnails: true });
    if (!outliers.computed) throw new Error('not computed');
    expect(outliers.items[0]!.path).toBe('left/noise.png');
    expect(outliers.items[0]!.reason).toMatch(/input complexity .* bits\/dim: the model needs .* a lossless compressor/);
    // The worst images carry their picture, reconstruction and error map.
    expect(outliers.items[0]!.thumb).toMatch(/^data:image\/png;base64,/);
    expect(outliers.items[0]!.reconstruction).toMatch(/^data:image\/png;base64,/);
    expect(outliers.items[0]!.errorMap).toMatch(/^data:image\/png;base64,/);
    const labels = await core.call('runs.health', { runId, score: 'label', limit: 3 });
    if (!labels.computed) throw new Error('not computed');
    expect(labels.items.slice(0, 2).map((i) => i.path)).toContain('left/misfiled.png');
    const misfiled = labels.items.find((i) => i.path === 'left/misfiled.png')!;
    expect(misfiled.predicted?.label).toBe('right');
    expect(misfiled.score).toBeLessThan(0.5);
  });

  it('pages without overlap, filters by split, and turns round for the best', async () => {
    const first = await core.call('runs.health', { runId, score: 'elbo', limit: 10 });
    const second = await core.call('runs.health', { runId, score: 'elbo', offset: 10, limit: 10 });
    const best = await core.call('runs.health', { runId, score: 'elbo', order: 'best', limit: 1 });
    const all = await core.call('runs.health', { runId, score: 'elbo', limit: 200 });
    if (!first.computed || !second.computed || !best.computed || !all.computed) throw new Error('not computed');
    expect([...first.items, ...second.items].map((i) => i.index)).toEqual(all.items.slice(0, 20).map((i) => i.index));
    expect(best.items[0]!.index).toBe(all.items.at(-1)!.index);
    for (let i = 1; i < all.items.length; i++) expect(all.items[i]!.score).toBeLessThanOrEqual(all.items[i - 1]!.score);
    const test = await core.call('runs.health', { runId, split: 'test', limit: 200 });
    if (!test.computed) throw new Error('not computed');
    expect(test.total).toBeGreaterThan(0);
    expect(test.total).toBeLessThan(datasetCount);
    expect(test.items.every((i) => i.split === 'test')).toBe(true);
    await expect(core.call('runs.health', { runId, label: 'nope' })).rejects.toThrow(/no label "nope"/);
  });

  it('finds latent neighbours of an image, nearest first, mostly of its own class', async () => {
    const page = await core.call('runs.health', { runId, score: 'elbo', order: 'best', limit: 1 });
    if (!page.computed) throw new Error('not computed');
    const query = page.items[0]!;
    const { neighbours } = await core.call('runs.healthNeighbours', { runId, index: query.index, k: 6 });
    expect(neighbours).toHaveLength(6);
    expect(neighbours.map((n) => n.index)).not.toContain(query.index);
    for (let i = 1; i < neighbours.length; i++) expect(neighbours[i]!.distance).toBeGreaterThanOrEqual(neighbours[i - 1]!.distance);
    expect(neighbours.filter((n) => n.label === query.label).length).toBeGreaterThanOrEqual(4);
    await expect(core.call('runs.healthNeighbours', { runId, index: 10_000 })).rejects.toThrow(/not in run .* 0 to/);
  });

  it('exports the whole ranking as CSV: path, split, label, score, reason, worst first', async () => {
    const { filename, csv } = await core.call('runs.healthCsv', { runId, score: 'complexity' });
    expect(filename).toMatch(/-complexity\.csv$/);
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('path,split,label,score,reason');
    expect(lines).toHaveLength(datasetCount + 1);
    expect(lines[1]).toMatch(/^left\/noise\.png,(train|validation|test),left,/);
  });

  it('refuses at once to score with a VQ-VAE, saying which families can', async () => {
    const run = await core.call('runs.create', { projectId: 1, datasetId: 1, config: { family: 'vqvae', architecture: 'mlp', epochs: 2, priorEpochs: 1, backend: 'cpu' } });
    await expect(core.call('runs.scoreHealth', { runId: run.id })).rejects.toThrow(/is a vqvae: scoring a dataset needs a model with a Gaussian latent/);
    await core.call('runs.cancel', { runId: run.id });
    await core.runs.settled(run.id);
  }, 60_000);

  it('scoring again replaces the stored scores and removes the old blob; deleting the run removes them', async () => {
    const blobs = (): number => readdirSync(core.workspace.blobs.dir, { recursive: true }).filter((f) => /[0-9a-f]{64}$/.test(String(f))).length;
    const before = getRunHealth(core.workspace.db, runId)!.hash;
    const count = blobs();
    await core.call('runs.scoreHealth', { runId, iwaeSamples: 0 });
    await core.runs.healthSettled(runId);
    const after = getRunHealth(core.workspace.db, runId)!.hash;
    expect(after).not.toBe(before);
    expect(core.workspace.blobs.has(before)).toBe(false);
    expect(blobs()).toBe(count);
    await expect(core.call('runs.health', { runId, score: 'iwae' })).rejects.toThrow(/no IWAE bound/);
  }, 60_000);

  it('a cancelled scoring stores nothing and keeps the scores the run had', async () => {
    const before = getRunHealth(core.workspace.db, runId)!.hash;
    events.length = 0;
    await core.call('runs.scoreHealth', { runId, iwaeSamples: 50 });
    expect((await core.call('runs.cancelHealth', { runId })).cancelled).toBe(true);
    await core.runs.healthSettled(runId);
    expect(events.at(-1)!.state).toBe('cancelled');
    expect(getRunHealth(core.workspace.db, runId)!.hash).toBe(before);
    expect(core.workspace.blobs.has(before)).toBe(true);
    expect((await core.call('runs.cancelHealth', { runId })).cancelled).toBe(false);
  }, 60_000);

  it('a damaged score blob is refused by name with what to do, not served', async () => {
    const { hash } = getRunHealth(core.workspace.db, runId)!;
    const path = core.workspace.blobs.pathOf(hash);
    writeFileSync(path, 'VSRH garbage');
    // A fresh core: the one that scored still holds the report it read.
    await core.close();
    core = testCore(join(dir.path, 'home'), { workerEntry: appPaths.workerEntry });
    await expect(core.call('runs.health', { runId })).rejects.toThrow(/health scores of run \d+ cannot be read .*Score the dataset again/);
    await core.call('runs.delete', { runId });
    expect(existsSync(path)).toBe(false);
  });
});
