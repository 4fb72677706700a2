import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSampleDigits } from './digits';

describe('the bench reads the sample digits the app ships', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sample-digits-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('every file once, labelled by its folder, binarized, with the asked-for number held out', async () => {
    const split = await loadSampleDigits(resolve('resources/sample-digits'), 100);
    expect(split.images.count).toBe(1000);
    expect(split.train.length).toBe(900);
    expect(split.test.length).toBe(100);
    expect([...split.train, ...split.test].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const perLabel = new Array<number>(10).fill(0);
    for (const label of split.images.labels!) perLabel[label]!++;
    expect(perLabel).toEqual(new Array<number>(10).fill(100));
    expect(new Set(split.images.pixels)).toEqual(new Set([0, 255]));
    // The test part is a shuffle, not the last folder: most digits are in it.
    expect(new Set([...split.test].map((row) => split.images.labels![row])).size).toBeGreaterThanOrEqual(8);
    expect(split.source).toContain('sample digits');
  });

  it('refuses an image that is not a 28×28 digit, naming its file', async () => {
    mkdirSync(join(scratch, '0'));
    await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(join(scratch, '0', 'a.png'));
    await sharp({ create: { width: 32, height: 28, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(join(scratch, '0', 'b.png'));
    await expect(loadSampleDigits(scratch, 1)).rejects.toThrow(/b\.png is 32×28/);
  });
});
