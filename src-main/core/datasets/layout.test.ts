import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { decodePacked, SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import { INSPECT_SKIPPED_LISTED } from '@shared/types';
import { closeTestProject, openTestProject, tempDir, testCore } from '../testing';
import type { Core } from '../core';
import { splitOf } from './import-folder';
import { MAX_SIDECAR_BYTES, parseCsv } from './layout';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let projectId: number;
let serial = 0;

/** `count` distinct grayscale PNGs of `size` px in `folder` (a serial number in the pixels keeps them distinct). */
async function writeImages(folder: string, count: number, size = 16, prefix = 'img'): Promise<void> {
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < count; i++) {
    const n = ++serial;
    const pixels = Buffer.alloc(size * size, 30);
    pixels[0] = n & 255;
    pixels[1] = (n >> 8) & 255;
    pixels[(n * 7) % (size * size)] = 250;
    await sharp(pixels, { raw: { width: size, height: size, channels: 1 } }).png().toFile(join(folder, `${prefix}-${i}.png`));
  }
}

/** The published layout: train/<class>/…, test/<class>/… (here with a capitalised Test/). */
async function writeSplitFolder(root: string): Promise<void> {
  await writeImages(join(root, 'train', 'cat'), 20);
  await writeImages(join(root, 'train', 'dog'), 20);
  await writeImages(join(root, 'Test', 'cat'), 5);
  await writeImages(join(root, 'Test', 'dog'), 5);
}

const blobPath = (home: string, hash: string): string => join(home, 'blobs', hash.slice(0, 2), hash);

beforeEach(async () => ({ dir, core, projectId } = await openTestProject()));
afterEach(() => closeTestProject({ dir, core }));

describe('split folders', () => {
  it('reads train/ and test/ as the split, with the classes from the level below', async () => {
    const folder = join(dir.path, 'pets');
    await writeSplitFolder(folder);
    const dataset = await core.call('datasets.import', { projectId, folder, size: 16, validationFraction: 0.25 });

    expect(dataset.labels).toEqual(['cat', 'dog']);
    expect(dataset.labelCounts).toEqual([25, 25]);
    expect(dataset.count).toBe(50);
    // Every test/ image is a test image, and nothing else is; validation is drawn from train/.
    expect(dataset.splitCounts.test).toBe(10);
    expect(dataset.splitCounts.train + dataset.splitCounts.validation).toBe(40);
    expect(dataset.splitCounts.validation).toBeGreaterThan(3);
    expect(dataset.splitCounts.validation).toBeLessThan(18);
    expect(dataset.stats.layout).toMatchObject({
      kind: 'split',
      detected: true,
      splitFolders: { train: ['train'], validation: [], test: ['Test'] },
      drawn: ['validation'],
      labelSource: 'folders',
      outside: 0,
    });
    expect(dataset.warnings.map((w) => w.code)).toEqual(['tiny']);

    // The packed file the worker reads: test codes exactly on the Test/ files.
    const packed = decodePacked(readFileSync(blobPath(join(dir.path, 'home'), dataset.contentHash)));
    const rows = (await core.call('datasets.preview', { datasetId: dataset.id, count: 1, perClass: 3 })).classes!;
    expect(rows.map((r) => r.label)).toEqual(['cat', 'dog']);
    const codes = [...packed.split!];
    expect(codes.filter((c) => c === SPLIT_TEST)).toHaveLength(10);
    expect(codes.filter((c) => c === SPLIT_VALIDATION).length + codes.filter((c) => c === SPLIT_TRAIN).length).toBe(40);
  });

  it('keeps the old reading under layout "classes", and refuses "split" where there are no split folders', async () => {
    const folder = join(dir.path, 'pets');
    await writeSplitFolder(folder);
    const asClasses = await core.call('datasets.import', { projectId, folder, size: 16, layout: 'classes', name: 'classes' });
    expect(asClasses.labels).toEqual(['Test', 'train']);
    expect(asClasses.stats.layout).toMatchObject({ kind: 'classes', detected: false, drawn: ['train', 'validation', 'test'] });

    const classes = join(dir.path, 'shapes');
    await writeImages(join(classes, 'bars'), 6);
    const error = await core.call('datasets.import', { projectId, folder: classes, size: 16, layout: 'split' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details?.['field']).toBe('layout');
    expect((error as ApiError).message).toMatch(/no train, test or val folder .* Choose another layout/);
  });

  it('reads split folders beside other folders as classes, and says so', async () => {
    const folder = join(dir.path, 'mixed');
    await writeImages(join(folder, 'train'), 6);
    await writeImages(join(folder, 'cats'), 6);
    const dataset = await core.call('datasets.import', { projectId, folder, size: 16 });
    expect(dataset.labels).toEqual(['cats', 'train']);
    expect(dataset.stats.layout?.mixed).toEqual(['cats', 'train']);
    expect(dataset.warnings.find((w) => w.code === 'mixed-layout')?.message).toMatch(/\(cats\/, train\/\)/);
  });

  it('leaves images outside the split folders out under layout "split", each listed with why', async () => {
    const folder = join(dir.path, 'partial');
    await writeImages(join(folder, 'train'), 6);
    await writeImages(join(folder, 'valid'), 3);
    await writeImages(join(folder, 'extra'), 2);
    await writeImages(folder, 1, 16, 'loose');
    const dataset = await core.call('datasets.import', { projectId, folder, size: 16, layout: 'split', testFraction: 0 });
    expect(dataset.count).toBe(9);
    expect(dataset.splitCounts).toEqual({ train: 6, validation: 3, test: 0 });
    expect(dataset.labels).toEqual([]);
    expect(dataset.skipped.filter((s) => /outside the split folders \(train\/, valid\/\)/.test(s.reason)).map((s) => s.path)).toEqual([
      'extra/img-0.png',
      'extra/img-1.png',
      'loose-0.png',
    ]);
    expect(dataset.warnings.map((w) => w.code)).toEqual(['tiny', 'no-test']);
  });

  it('answers what an import would read before it runs (datasets.inspect), for the detected and an asked layout', async () => {
    const folder = join(dir.path, 'pets');
    await writeSplitFolder(folder);
    const seen = await core.call('datasets.inspect', { folder });
    expect(seen.layout.kind).toBe('split');
    expect(seen.images).toBe(50);
    expect(seen.splitFiles).toEqual({ train: 0, validation: 0, test: 10, drawn: 40 });
    expect(seen.classes).toEqual([
      { label: 'cat', files: 25 },
      { label: 'dog', files: 25 },
    ]);
    expect(seen).toMatchObject({ skipped: 0, skippedFiles: [] });
    const flat = await core.call('datasets.inspect', { folder, layout: 'flat' });
    expect(flat.layout).toMatchObject({ kind: 'flat', detected: false, labelSource: 'none' });
    expect(flat.classes).toEqual([]);
    const missing = await core.call('datasets.inspect', { folder: join(dir.path, 'nope') }).catch((e: unknown) => e);
    expect((missing as ApiError).details?.['field']).toBe('folder');
  });

  it('names the files an import would skip, with why, before it runs; a long list is cut and counted', async () => {
    const folder = join(dir.path, 'notes');
    await writeSplitFolder(folder);
    writeFileSync(join(folder, 'README.txt'), 'not an image\n');
    for (let i = 0; i < INSPECT_SKIPPED_LISTED + 5; i++) writeFileSync(join(folder, `note-${String(i).padStart(2, '0')}.md`), 'x');
    const seen = await core.call('datasets.inspect', { folder });
    expect(seen.skipped).toBe(INSPECT_SKIPPED_LISTED + 6);
    expect(seen.skippedFiles).toHaveLength(INSPECT_SKIPPED_LISTED);
    expect(seen.skippedFiles).toContainEqual({ path: 'README.txt', reason: 'not an image file type (.txt)' });
    expect(seen.skippedFiles.every((f) => !f.path.startsWith('/'))).toBe(true);
  });
});

describe('labels sidecar', () => {
  it('takes labels from labels.csv (header, quotes, names with or without folders), and counts the images it does not name', async () => {
    const folder = join(dir.path, 'flat');
    await writeImages(folder, 5);
    writeFileSync(join(folder, 'labels.csv'), 'file,label\nimg-0.png,cat\n./img-1.png,"dog, big"\nimg-2,cat\r\nimg-3.png,dog\n');
    const dataset = await core.call('datasets.import', { projectId, folder, size: 16 });
    expect(dataset.labels).toEqual(['cat', 'dog', 'dog, big']);
    expect(dataset.labelCounts).toEqual([2, 1, 1]);
    expect(dataset.stats.layout).toMatchObject({ labelSource: 'sidecar', sidecar: 'labels.csv', unlabelled: 1 });
    expect(dataset.skipped).toEqual([]);
    expect(dataset.warnings.find((w) => w.code === 'unlabelled')?.message).toBe('1 image is not named in labels.csv: imported unlabelled.');
  });

  it('takes labels.json inside a split layout, by path within the split folder', async () => {
    const folder = join(dir.path, 'split');
    await writeImages(join(folder, 'train'), 4);
    await writeImages(join(folder, 'test'), 2, 16, 'held');
    writeFileSync(join(folder, 'labels.json'), JSON.stringify({ 'img-0.png': 'a', 'train/img-1.png': 'b', 'img-2.png': 'a', 'img-3.png': 'b', 'test/held-0.png': 'a', 'held-1.png': 7 }));
    const seen = await core.call('datasets.inspect', { folder });
    expect(seen.layout).toMatchObject({ kind: 'split', labelSource: 'sidecar', unlabelled: 0 });
    expect(seen.classes).toEqual([
      { label: '7', files: 1 },
      { label: 'a', files: 3 },
      { label: 'b', files: 2 },
    ]);
  });

  it('refuses a broken, oversized or special labels file by name, and imports nothing', async () => {
    const folder = join(dir.path, 'flat');
    await writeImages(folder, 2);
    const refusal = async (): Promise<string> => {
      const error = await core.call('datasets.import', { projectId, folder, size: 16 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).details?.['field']).toBe('labels');
      return (error as ApiError).message;
    };
    writeFileSync(join(folder, 'labels.csv'), 'img-0.png,cat\nimg-1.png\n');
    expect(await refusal()).toMatch(/^labels\.csv: line 2 has no label .* turn labels off/);
    writeFileSync(join(folder, 'labels.csv'), 'img-0.png,cat\nimg-0.png,dog\n');
    expect(await refusal()).toMatch(/line 2 labels "img-0.png" "dog", an earlier line "cat"/);
    writeFileSync(join(folder, 'labels.csv'), `img-0.png,${'x'.repeat(201)}\n`);
    expect(await refusal()).toMatch(/longer than 200 characters/);
    // Sparse: 33 MiB on paper, nothing on disk; refused from its size, never read.
    truncateSync(join(folder, 'labels.csv'), MAX_SIDECAR_BYTES + 1024 * 1024);
    expect(await refusal()).toMatch(/larger than 32 MiB/);
    execFileSync('rm', [join(folder, 'labels.csv')]);
    execFileSync('mkfifo', [join(folder, 'labels.csv')]);
    expect(await refusal()).toMatch(/labels\.csv: is not a regular file/);
    execFileSync('rm', [join(folder, 'labels.csv')]);
    writeFileSync(join(folder, 'labels.json'), '{"img-0.png": ');
    expect(await refusal()).toMatch(/labels\.json: is not valid JSON/);
    expect(await core.call('datasets.list', { projectId })).toEqual([]);
    // Labels off: the file is not read at all.
    const plain = await core.call('datasets.import', { projectId, folder, size: 16, labels: false });
    expect(plain.count).toBe(2);
  });

  it('parses CSV with semicolons, tabs, quoted newlines and blank lines', () => {
    expect([...parseCsv('a.png;x\n\nb.png;"y;z"\n')].map((r) => r.cells)).toEqual([
      ['a.png', 'x'],
      ['b.png', 'y;z'],
    ]);
    expect([...parseCsv('a.png\tx\r\n"b\nc.png"\ty\r\nd.png\tz')].map((r) => [r.line, ...r.cells])).toEqual([
      [1, 'a.png', 'x'],
      [2, 'b\nc.png', 'y'],
      [4, 'd.png', 'z'],
    ]);
  });
});

describe('tiny and awkward datasets', () => {
  it('imports a single small image with every warning that applies, refusing nothing', async () => {
    const folder = join(dir.path, 'one');
    await writeImages(folder, 1, 8);
    const dataset = await core.call('datasets.import', { projectId, folder, size: 28 });
    expect(dataset.count).toBe(1);
    expect(dataset.splitCounts).toEqual({ train: 1, validation: 0, test: 0 });
    expect(dataset.stats).toMatchObject({ measured: 1, upscaled: 1 });
    expect(dataset.warnings.map((w) => w.code)).toEqual(['tiny', 'no-validation', 'no-test', 'upscaled']);
    expect(dataset.warnings[0]!.message).toMatch(/^Only 1 training image, fewer than one batch of 64/);
    expect(dataset.warnings[3]!.message).toBe('1 of 1 originals are smaller than 28 px and were enlarged, which blurs them. Choose a smaller size, or larger images.');
  });

  it('trains a one-image folder even where its draw says test', async () => {
    const folder = join(dir.path, 'one');
    await writeImages(folder, 1, 16);
    const hash = createHash('sha256').update(readFileSync(join(folder, 'img-0.png'))).digest('hex');
    const shares = { validationFraction: 0.1, testFraction: 0.5 };
    const splitSeed = Array.from({ length: 64 }, (_, seed) => seed).find((seed) => splitOf(hash, { ...shares, splitSeed: seed }) === SPLIT_TEST)!;
    expect(splitSeed).toBeDefined();
    const dataset = await core.call('datasets.import', { projectId, folder, size: 16, ...shares, splitSeed });
    expect(dataset.splitCounts).toEqual({ train: 1, validation: 0, test: 0 });
    expect(dataset.warnings.map((w) => w.code)).toEqual(['tiny', 'no-validation', 'no-test']);
  });

  it('warns about classes under 5 images and a strong imbalance', async () => {
    const folder = join(dir.path, 'skewed');
    await writeImages(join(folder, 'many'), 40);
    await writeImages(join(folder, 'few'), 3);
    const dataset = await core.call('datasets.import', { projectId, folder, size: 16 });
    const messages = Object.fromEntries(dataset.warnings.map((w) => [w.code, w.message]));
    expect(messages['small-classes']).toBe('One class has fewer than 5 images: "few" (3).');
    expect(messages['imbalance']).toMatch(/^Classes are strongly imbalanced: "many" has 40 images, "few" 3 \(13×\)/);
    expect(messages['upscaled']).toBeUndefined();
  });

  it('loads a dataset stored before layouts as classes, and re-imports it that way', async () => {
    const folder = join(dir.path, 'pets');
    await writeSplitFolder(folder);
    const old = await core.call('datasets.import', { projectId, folder, size: 16, layout: 'classes' });
    await core.close();
    const db = new Database(join(dir.path, 'home', 'studio.db'));
    db.prepare("UPDATE datasets SET settings_json = json_remove(settings_json, '$.layout'), stats_json = json_remove(stats_json, '$.layout', '$.measured', '$.upscaled')").run();
    db.close();
    core = testCore(join(dir.path, 'home'));
    const [loaded] = await core.call('datasets.list', { projectId });
    expect(loaded!.settings.layout).toBe('classes');
    expect(loaded!.stats.layout).toBeUndefined();
    expect(loaded!.warnings.map((w) => w.code)).toEqual(['tiny']);
    const again = await core.call('datasets.refresh', { datasetId: old.id });
    expect(again.labels).toEqual(['Test', 'train']);
  });
});
