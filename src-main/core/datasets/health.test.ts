// Dataset health at import (issue #22): near-duplicates by difference hash (and those that
// straddle splits), nearly blank images, class balance and the originals' sizes — on
// crafted packed datasets, through a real import of real PNG files, and at MNIST scale.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodePacked, SPLIT_TEST, SPLIT_TRAIN, type PackedDataset } from '@shared/dataset-format';
import { HEALTH_VERSION, MAX_HEALTH_PAIRS, SIZE_BINS, type HealthImage } from '@shared/health';
import { closeTestProject, openTestProject, tempDir } from '../testing';
import type { Core } from '../core';
import { computeHealth } from './health';

/** A textured image that depends on `seed` (a random-looking field, never near-blank). */
function texture(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size * size);
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  // Smooth it so an 8×9 thumbnail keeps its structure.
  const smooth = new Uint8Array(out.length);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    let sum = 0;
    let n = 0;
    for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy >= 0 && yy < size && xx >= 0 && xx < size) {
        sum += out[yy * size + xx]!;
        n++;
      }
    }
    smooth[y * size + x] = Math.min(255, Math.round(((sum / n - 128) * 4) + 128));
  }
  return smooth;
}

function pack(images: Uint8Array[], size: number, labels: number[], split: number[], labelNames: string[]): PackedDataset {
  const pixels = new Uint8Array(images.length * size * size);
  images.forEach((img, i) => pixels.set(img, i * size * size));
  return {
    header: { version: 2, count: images.length, width: size, height: size, channels: 1, labels: labelNames },
    pixels,
    labels: Int32Array.from(labels),
    split: Uint8Array.from(split),
  };
}

describe('computeHealth', () => {
  it('pairs a near-copy with its original, flags the pair that straddles splits, and flags blank images', async () => {
    const size = 28;
    const images = Array.from({ length: 40 }, (_, i) => texture(size, i + 1));
    // Image 40: image 3 with faint noise; image 41: image 7 brightened by 2 levels.
    const noisy = Uint8Array.from(images[3]!, (v, k) => Math.max(0, Math.min(255, v + ((k * 7) % 5) - 2)));
    const brighter = Uint8Array.from(images[7]!, (v) => Math.min(255, v + 2));
    // Image 42: flat grey; image 43: flat grey with one speck (still nearly blank).
    const flat = new Uint8Array(size * size).fill(120);
    const speck = new Uint8Array(size * size).fill(10);
    speck[100] = 60;
    images.push(noisy, brighter, flat, speck);
    const split = images.map(() => SPLIT_TRAIN);
    split[40] = SPLIT_TEST; // the copy of image 3 sits in test: leakage
    const labels = images.map((_, i) => i % 2);
    const report = await computeHealth({
      dataset: pack(images, size, labels, split, ['a', 'b']),
      originals: images.map((_, i) => (i === 0 ? {} : { width: 100 + i, height: 50 })),
      exactDuplicates: 2,
    });
    const pairs = report.nearDuplicates.pairs.map((p) => [p.a, p.b, p.leak]);
    expect(pairs).toEqual([
      [3, 40, true],
      [7, 41, false],
    ]);
    expect(report.nearDuplicates).toMatchObject({ total: 2, leaking: 1, truncated: false });
    expect(report.blanks.items.map((b) => b.index).sort()).toEqual([42, 43]);
    expect(report.blanks.items.find((b) => b.index === 42)).toMatchObject({ std: 0, mean: 120 });
    expect(report.exactDuplicates).toBe(2);
    expect(report.classBalance).toEqual([
      { label: 'a', train: 21, validation: 0, test: 1 },
      { label: 'b', train: 22, validation: 0, test: 0 },
    ]);
    expect(report.sizes.unknown).toBe(1);
    expect(report.sizes.bins[SIZE_BINS.indexOf('128–255')]).toBe(images.length - 1 - 27);
    expect(report.aspects.bins.reduce((a, b) => a + b, 0)).toBe(images.length - 1);
  });

  it('in RGB, one shape in two colours of the same brightness is not a pair; a faint copy in the same colour is', async () => {
    // Twemoji's purple and orange hearts are one drawing in colours whose grey values
    // agree to a level (0.299 R + 0.587 G + 0.114 B ≈ 158.7): their grey thumbnails match.
    const size = 32;
    const purple = [170, 142, 214];
    const orange = [244, 144, 12];
    const paint = (mask: Uint8Array, rgb: number[], noise = 0): Uint8Array =>
      Uint8Array.from({ length: mask.length * 3 }, (_, k) => {
        const on = mask[Math.floor(k / 3)]! > 128;
        return on ? Math.max(0, Math.min(255, rgb[k % 3]! + (noise ? ((k * 7) % 5) - 2 : 0))) : 0;
      });
    const shape = texture(size, 5);
    const others = Array.from({ length: 12 }, (_, i) => paint(texture(size, 100 + i), [200, 60 + 10 * i, 90]));
    const images = [paint(shape, purple), paint(shape, orange), paint(shape, purple, 1), ...others];
    const pixels = new Uint8Array(images.length * size * size * 3);
    images.forEach((img, i) => pixels.set(img, i * size * size * 3));
    const report = await computeHealth({
      dataset: {
        header: { version: 2, count: images.length, width: size, height: size, channels: 3, labels: ['a'] },
        pixels,
        labels: new Int32Array(images.length),
        split: Uint8Array.from(images, (_, i) => (i === 1 ? SPLIT_TEST : SPLIT_TRAIN)),
      },
      originals: null,
      exactDuplicates: 0,
    });
    // Only the faint copy pairs with the purple original; the orange one (in test) would
    // otherwise be reported as leakage of both.
    expect(report.nearDuplicates.pairs.map((p) => [p.a, p.b, p.leak])).toEqual([[0, 2, false]]);
    expect(report.nearDuplicates).toMatchObject({ total: 1, leaking: 0 });
  });

  it('at MNIST scale (60 000 images of 28×28, one cluster of 5 000 near-identical ones) finishes in seconds and keeps a bounded report', async () => {
    const size = 28;
    const count = 60_000;
    const per = size * size;
    const pixels = new Uint8Array(count * per);
    const base = texture(size, 99);
    for (let i = 0; i < count; i++) {
      // The first 5 000 differ from one texture by a pixel or two: 12.5 million pairs in truth.
      if (i < 5_000) {
        pixels.set(base, i * per);
        pixels[i * per + (i % per)]! ^= 1;
      } else {
        let s = (i * 2654435761) >>> 0;
        for (let k = 0; k < per; k++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          pixels[i * per + k] = s >>> 24;
        }
      }
    }
    const dataset: PackedDataset = {
      header: { version: 2, count, width: size, height: size, channels: 1, labels: [] },
      pixels,
      labels: new Int32Array(count).fill(-1),
      split: Uint8Array.from({ length: count }, (_, i) => (i % 10 === 0 ? SPLIT_TEST : SPLIT_TRAIN)),
    };
    const started = performance.now();
    const report = await computeHealth({ dataset, originals: null, exactDuplicates: 0 });
    const seconds = (performance.now() - started) / 1000;
    console.log(`health of 60 000 × 28×28: ${seconds.toFixed(2)} s, ${report.nearDuplicates.total} pairs found, approximate ${report.approximate}`);
    expect(seconds).toBeLessThan(30);
    expect(report.approximate).toBe(true);
    expect(report.nearDuplicates.pairs.length).toBe(MAX_HEALTH_PAIRS);
    expect(report.nearDuplicates.truncated).toBe(true);
    expect(report.nearDuplicates.total).toBeGreaterThan(MAX_HEALTH_PAIRS);
    // Leaking pairs come first in what is kept.
    expect(report.nearDuplicates.pairs[0]!.leak).toBe(true);
    expect(report.nearDuplicates.pairs.every((p) => p.a < 5_000 && p.b < 5_000)).toBe(true);
    expect(JSON.stringify(report).length).toBeLessThan(4_000_000);
  }, 60_000);
});

describe('health through the API', () => {
  let dir: ReturnType<typeof tempDir>;
  let core: Core;
  let projectId: number;
  beforeEach(async () => ({ dir, core, projectId } = await openTestProject()));
  afterEach(() => closeTestProject({ dir, core }));

  async function writeSplitFolder(): Promise<string> {
    const folder = join(dir.path, 'digits');
    const put = async (rel: string, pixels: Uint8Array, width = 28, height = 28): Promise<void> => {
      mkdirSync(join(folder, rel, '..'), { recursive: true });
      writeFileSync(join(folder, rel), await sharp(pixels, { raw: { width, height, channels: 1 } }).png().toBuffer());
    };
    for (let i = 0; i < 12; i++) await put(`train/${i % 2 ? 'odd' : 'even'}/t${i}.png`, texture(28, i + 1));
    for (let i = 0; i < 4; i++) await put(`test/${i % 2 ? 'odd' : 'even'}/s${i}.png`, texture(28, 100 + i));
    // A near-copy of train/even/t2.png in test (a re-saved, slightly brightened file): leakage.
    await put('test/even/copy-of-t2.png', Uint8Array.from(texture(28, 3), (v) => Math.min(255, v + 1)));
    await put('train/odd/blank.png', new Uint8Array(28 * 28).fill(200));
    return folder;
  }

  it('an import answers its leaking near-duplicates by path and split, in pages, with thumbnails', async () => {
    const dataset = await core.call('datasets.import', { projectId, folder: await writeSplitFolder(), size: 28, channels: 1, validationFraction: 0 });
    const leakage = await core.call('datasets.health', { datasetId: dataset.id, kind: 'leakage', thumbnails: true });
    if (!leakage.computed) throw new Error('health not computed at import');
    expect(leakage.total).toBe(1);
    const [a, b] = leakage.items[0]!.images as [HealthImage, HealthImage];
    expect(new Set([a.path, b.path])).toEqual(new Set(['train/even/t2.png', 'test/even/copy-of-t2.png']));
    expect(new Set([a.split, b.split])).toEqual(new Set(['train', 'test']));
    expect(a.label).toBe('even');
    expect(a.thumb).toMatch(/^data:image\/png;base64,/);
    expect(leakage.summary.nearDuplicates).toMatchObject({ total: 1, leaking: 1 });
    expect(leakage.summary.classBalance).toEqual([
      { label: 'even', train: 6, validation: 0, test: 3 },
      { label: 'odd', train: 7, validation: 0, test: 2 },
    ]);

    const blank = await core.call('datasets.health', { datasetId: dataset.id, kind: 'blank' });
    expect(blank.computed && blank.items.map((item) => item.images[0].path)).toEqual(['train/odd/blank.png']);
    const { filename, csv } = await core.call('datasets.healthCsv', { datasetId: dataset.id });
    expect(filename).toBe('digits-health.csv');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('path,split,label,finding,score,reason');
    expect(lines.slice(1).sort()).toEqual(
      [
        expect.stringMatching(/^test\/even\/copy-of-t2\.png,test,even,leakage,\d,"near-duplicate of train\/even\/t2\.png \(train\)/),
        expect.stringMatching(/^train\/even\/t2\.png,train,even,leakage,\d,"near-duplicate of test\/even\/copy-of-t2\.png \(test\)/),
        'train/odd/blank.png,train,odd,blank,0,"nearly blank: grey spread 0, mean 200"',
      ],
    );
    // Filters and paging: nothing blank in test; a page past the end is empty.
    const none = await core.call('datasets.health', { datasetId: dataset.id, kind: 'blank', split: 'test' });
    expect(none.computed && none.total).toBe(0);
    const past = await core.call('datasets.health', { datasetId: dataset.id, kind: 'pairs', offset: 5, limit: 1 });
    expect(past.computed && past.items).toEqual([]);
    await expect(core.call('datasets.health', { datasetId: dataset.id, label: 'nine' })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'label' } });
    await expect(core.call('datasets.health', { datasetId: dataset.id, limit: 100_000 })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('a dataset stored before health reports answers "not computed" until asked to compute one', async () => {
    const dataset = await core.call('datasets.import', { projectId, folder: await writeSplitFolder(), size: 28, channels: 1, validationFraction: 0 });
    core.workspace.db.prepare('UPDATE datasets SET health_hash = NULL WHERE id = ?').run(dataset.id);
    expect(await core.call('datasets.health', { datasetId: dataset.id })).toEqual({ datasetId: dataset.id, computed: false });
    const computed = await core.call('datasets.computeHealth', { datasetId: dataset.id });
    expect(computed.summary.nearDuplicates).toMatchObject({ total: 1, leaking: 1 });
    expect(computed.summary.sizes.bins[0]).toBe(dataset.count);
    const after = await core.call('datasets.health', { datasetId: dataset.id, kind: 'leakage' });
    expect(after.computed && after.total).toBe(1);
    // Deleting the dataset leaves no health blob behind.
    const hash = core.workspace.db.prepare('SELECT health_hash FROM datasets WHERE id = ?').pluck().get(dataset.id) as string;
    expect(core.workspace.blobs.has(hash)).toBe(true);
    await core.call('datasets.delete', { datasetId: dataset.id });
    expect(core.workspace.blobs.has(hash)).toBe(false);
  });

  it('a report of an earlier check reads as not computed, and computing it again gives the current one', async () => {
    const dataset = await core.call('datasets.import', { projectId, folder: await writeSplitFolder(), size: 28, channels: 1, validationFraction: 0 });
    const stored = core.workspace.db.prepare('SELECT health_hash FROM datasets WHERE id = ?').pluck().get(dataset.id) as string;
    const report = JSON.parse(core.workspace.blobs.read(stored).toString('utf8')) as { version: number };
    expect(report.version).toBe(HEALTH_VERSION);
    const older = core.workspace.blobs.put(Buffer.from(JSON.stringify({ ...report, version: HEALTH_VERSION - 1 })));
    core.workspace.db.prepare('UPDATE datasets SET health_hash = ? WHERE id = ?').run(older, dataset.id);
    expect(await core.call('datasets.health', { datasetId: dataset.id })).toEqual({ datasetId: dataset.id, computed: false });
    await core.call('datasets.computeHealth', { datasetId: dataset.id });
    const after = await core.call('datasets.health', { datasetId: dataset.id, kind: 'leakage' });
    expect(after.computed && after.total).toBe(1);
  });

  it('excluding the leaking copy and the blank image makes a new version; the old one keeps every image', async () => {
    const dataset = await core.call('datasets.import', { projectId, folder: await writeSplitFolder(), size: 28, channels: 1, validationFraction: 0 });
    const leak = await core.call('datasets.health', { datasetId: dataset.id, kind: 'leakage' });
    const blank = await core.call('datasets.health', { datasetId: dataset.id, kind: 'blank' });
    if (!leak.computed || !blank.computed) throw new Error('health not computed at import');
    const copy = leak.items[0]!.images.find((i) => i.split === 'test')!;
    const drop = [copy.index, blank.items[0]!.images[0].index];

    const next = await core.call('datasets.exclude', { datasetId: dataset.id, indices: drop });
    expect(next).toMatchObject({ name: `${dataset.name} (v2)`, count: dataset.count - 2, previousId: dataset.id, stats: { excluded: 2 } });
    expect(next.splitCounts).toEqual({ train: dataset.splitCounts.train - 1, validation: 0, test: dataset.splitCounts.test - 1 });
    const after = await core.call('datasets.health', { datasetId: next.id, kind: 'pairs', limit: 200 });
    expect(after.computed && after.summary.nearDuplicates.total).toBe(0);
    expect(after.computed && after.summary.blanks.total).toBe(0);
    const nextPack = decodePacked(core.workspace.blobs.read(next.contentHash));
    expect(nextPack.header.count).toBe(dataset.count - 2);

    // The old version is untouched: same row, same packed file, same findings.
    const old = (await core.call('datasets.list', { projectId })).find((d) => d.id === dataset.id)!;
    expect(old.count).toBe(dataset.count);
    expect(decodePacked(core.workspace.blobs.read(old.contentHash)).header.count).toBe(dataset.count);
    const oldLeak = await core.call('datasets.health', { datasetId: dataset.id, kind: 'leakage' });
    expect(oldLeak.computed && oldLeak.total).toBe(1);

    await expect(core.call('datasets.exclude', { datasetId: dataset.id, indices: [dataset.count] })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'indices' } });
    const everyTrain = Array.from({ length: dataset.count }, (_, i) => i);
    await expect(core.call('datasets.exclude', { datasetId: dataset.id, indices: everyTrain })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('no training image'),
    });
    expect((await core.call('datasets.list', { projectId })).length).toBe(2);
  });
});
