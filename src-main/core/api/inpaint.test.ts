// Inpainting through the core with the real built worker (`npm run build` first): a tiny
// model is trained, then asked to fill in masked pixels through its model session.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImputeFrame } from '@shared/inference';
import { encodeMask, makeMask } from '@shared/pixel-mask';
import { appPaths } from '../../paths';
import type { Core } from '../core';
import { tempDir, testCore, trainedRun, writeImageFolder } from '../testing';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let runId = 0;
const bottom = encodeMask(makeMask('bottom', 8, 8, Math.random));

async function grey(dataUrl: string): Promise<number[]> {
  const { data } = await sharp(Buffer.from(dataUrl.split(',')[1]!, 'base64')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return Array.from(data);
}

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir();
  core = testCore(join(dir.path, 'home'), { workerEntry: appPaths.workerEntry });
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right', 'middle'], 30, { size: 8 });
  ({ runId } = await trainedRun(core, {
    project: 'inpaint',
    folder: join(dir.path, 'shapes'),
    size: 8,
    config: { architecture: 'mlp', hidden: 32, latent: 3, epochs: 3, batchSize: 16, backend: 'cpu' },
  }));
}, 120_000);
afterAll(async () => {
  await core?.close();
  dir?.cleanup();
});

describe('Inpaint through the core', () => {
  it('streams frames as inpaint.progress and answers the final one; observed pixels come back unchanged', async () => {
    const { images } = await core.call('explore.images', { runId, count: 1 });
    const image = images[0]!;
    const frames: ImputeFrame[] = [];
    const off = core.subscribe((m) => {
      if (m.event === 'inpaint.progress' && m.payload.jobId === 'job-1') frames.push(m.payload.frame);
    });
    const result = await core.call('inpaint.run', { runId, jobId: 'job-1', image: { index: image.index }, mask: bottom, method: 'metropolis', iterations: 200, samples: 3 });
    off();
    expect(result).toMatchObject({ done: true, iteration: 200, iterations: 200, width: 8, height: 8, channels: 1, missingFraction: 0.5 });
    expect(result.sampleDataUrls).toHaveLength(3);
    expect(result.diagnostic?.name).toBe('acceptance');
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => !f.done && f.iteration < 200)).toBe(true);
    const original = await grey(image.dataUrl);
    const mean = await grey(result.meanDataUrl);
    for (let i = 0; i < 32; i++) expect(mean[i]).toBe(original[i]);
    const uncertainty = await sharp(Buffer.from(result.uncertaintyDataUrl.split(',')[1]!, 'base64')).metadata();
    expect([uncertainty.width, uncertainty.height, uncertainty.channels]).toEqual([8, 8, 3]);
  });

  it('answers a wrong-size mask or image at once, naming the field', async () => {
    const wrong = encodeMask(new Uint8Array(28 * 28));
    await expect(core.call('inpaint.run', { runId, jobId: 'bad', image: { index: 0 }, mask: wrong })).rejects.toMatchObject({
      code: 'invalid_input',
      details: { field: 'mask' },
      message: expect.stringMatching(/8×8 = 64 pixels/),
    });
    await expect(core.call('inpaint.run', { runId, jobId: 'bad', image: { pixels: 'AAAA' }, mask: bottom })).rejects.toMatchObject({
      details: { field: 'image.pixels' },
    });
  });

  it('a mask with nothing missing gives back the image', async () => {
    const { images } = await core.call('explore.images', { runId, count: 1 });
    const result = await core.call('inpaint.run', { runId, jobId: 'none', image: { index: images[0]!.index }, mask: encodeMask(new Uint8Array(64)), iterations: 50 });
    expect(await grey(result.meanDataUrl)).toEqual(await grey(images[0]!.dataUrl));
    expect(result.maxStd).toBe(0);
  });

  it('inpaint.cancel stops a running job, which then fails as cancelled', async () => {
    let started!: () => void;
    const firstFrame = new Promise<void>((resolve) => (started = resolve));
    const off = core.subscribe((m) => {
      if (m.event === 'inpaint.progress' && m.payload.jobId === 'long') started();
    });
    const running = core.call('inpaint.run', { runId, jobId: 'long', image: { index: 0 }, mask: bottom, method: 'importance', iterations: 2000 });
    await firstFrame;
    expect(await core.call('inpaint.cancel', { jobId: 'long' })).toEqual({ cancelled: true });
    await expect(running).rejects.toMatchObject({ code: 'cancelled' });
    off();
    expect(await core.call('inpaint.cancel', { jobId: 'long' })).toEqual({ cancelled: false });
  });

  it('prepares an opened file like the dataset, by path or by bytes, and says what is wrong with a bad one', async () => {
    const path = join(dir.path, 'big.png');
    const pixels = Buffer.alloc(64 * 64, 0);
    for (let y = 20; y < 44; y++) pixels.fill(255, y * 64 + 20, y * 64 + 44);
    const bytes = await sharp(pixels, { raw: { width: 64, height: 64, channels: 1 } }).png().toBuffer();
    writeFileSync(path, bytes);
    const byPath = await core.call('inpaint.prepareImage', { runId, path });
    const byData = await core.call('inpaint.prepareImage', { runId, data: bytes.toString('base64'), name: 'big.png' });
    expect(byPath).toEqual(byData);
    expect(byPath).toMatchObject({ width: 8, height: 8, channels: 1 });
    expect(Buffer.from(byPath.pixels, 'base64').length).toBe(64);
    const result = await core.call('inpaint.run', { runId, jobId: 'file', image: { pixels: byPath.pixels }, mask: bottom, iterations: 5 });
    expect(result.done).toBe(true);
    await expect(core.call('inpaint.prepareImage', { runId, data: Buffer.from('not an image').toString('base64'), name: 'x.png' })).rejects.toMatchObject({
      details: { field: 'data' },
      message: expect.stringMatching(/x\.png/),
    });
    await expect(core.call('inpaint.prepareImage', { runId, path: join(dir.path, 'missing.png') })).rejects.toMatchObject({ details: { field: 'path' } });
  });

  it('scores every method and the per-pixel mean on held-out images', async () => {
    const report = await core.call('inpaint.evaluate', { runId, mask: 'top', images: 10, iterations: 5, proposals: 8 });
    expect(report.split).toBe('test');
    expect(report.missingFraction).toBeCloseTo(0.5, 5);
    expect(report.scores.map((s) => s.method)).toEqual(['pixel-mean', 'pseudo-gibbs', 'metropolis', 'importance', 'optimize']);
    for (const s of report.scores) expect(s.mse).toBeGreaterThanOrEqual(0);
  });
});
