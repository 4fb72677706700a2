import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { importSettingsSchema } from '@shared/config';
import { decodePacked, SPLIT_TEST } from '@shared/dataset-format';
import { suggestDecoder } from '@shared/likelihood';
import { closeTestProject, openTestProject, pngBomb, tempDir } from '../testing';
import type { Core } from '../core';
import { decodeImage } from './decode-image';
import { decodePlainPng, inflatePngData, pngDataBytes, readPngLayout } from './png-fast';
import { MAX_SKIPPED_LISTED, splitOf, summariseSkipped } from './import-folder';
import { scanFolder } from './scan-folder';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let projectId: number;

const settings = (over: Partial<ReturnType<typeof importSettingsSchema.parse>> = {}) => importSettingsSchema.parse(over);

async function gradient(size: number, channels: 1 | 3 | 4): Promise<Sharp> {
  const pixels = Buffer.alloc(size * size * channels);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < channels; c++) pixels[i * channels + c] = c === 3 ? (i * 7) % 256 : (i * (c + 3)) % 256;
  }
  return sharp(pixels, { raw: { width: size, height: size, channels } });
}

function bmp24(width: number, height: number, rgb: [number, number, number]): Buffer {
  const rowBytes = Math.ceil((width * 3) / 4) * 4;
  const out = Buffer.alloc(54 + rowBytes * height);
  out.write('BM', 0, 'ascii');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const o = 54 + y * rowBytes + x * 3;
    [out[o], out[o + 1], out[o + 2]] = [rgb[2], rgb[1], rgb[0]];
  }
  return out;
}

beforeEach(async () => ({ dir, core, projectId } = await openTestProject()));
afterEach(() => closeTestProject({ dir, core }));

describe('hostile and broken files', () => {
  it('reports each bad file with its reason and imports the rest', async () => {
    const folder = join(dir.path, 'hostile');
    mkdirSync(join(folder, 'ok'), { recursive: true });
    mkdirSync(join(folder, 'bad'), { recursive: true });
    for (let i = 0; i < 5; i++) await (await gradient(20 + i, 1)).png().toFile(join(folder, 'ok', `g${i}.png`));
    const png = readFileSync(join(folder, 'ok', 'g0.png'));
    const jpeg = await (await gradient(64, 3)).jpeg().toBuffer();
    writeFileSync(join(folder, 'bad', 'truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
    writeFileSync(join(folder, 'bad', 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 3)));
    writeFileSync(join(folder, 'bad', 'bomb.png'), pngBomb(50_000, 50_000));
    writeFileSync(join(folder, 'bad', 'text.png'), 'I am a text file with a .png name\n');
    writeFileSync(join(folder, 'bad', 'empty.jpg'), '');
    writeFileSync(join(folder, 'bad', 'readme.md'), '# not an image');
    // libvips would render it (librsvg), whatever the name: only the raster formats we scan for are read.
    writeFileSync(join(folder, 'bad', 'vector.png'), '<svg xmlns="http://www.w3.org/2000/svg" width="30000" height="30000"><rect width="30000" height="30000"/></svg>');
    symlinkSync(folder, join(folder, 'bad', 'loop'));
    symlinkSync(join(folder, 'nowhere'), join(folder, 'bad', 'dangling.png'));

    const dataset = await core.call('datasets.import', { projectId, folder, size: 16 });
    expect(dataset.count).toBe(5);
    const reason = (path: string) => dataset.skipped.find((s) => s.path === path)?.reason ?? '(not reported)';
    expect(reason('bad/truncated.png')).toMatch(/corrupt or truncated/);
    expect(reason('bad/truncated.jpg')).toMatch(/corrupt or truncated/);
    expect(reason('bad/bomb.png')).toMatch(/larger than 100,000,000 pixels/);
    expect(reason('bad/text.png')).toMatch(/not a readable image/);
    expect(reason('bad/empty.jpg')).toMatch(/empty file/);
    expect(reason('bad/readme.md')).toMatch(/not an image file type/);
    expect(reason('bad/vector.png')).toMatch(/not a readable image/);
    expect(reason('bad/loop')).toMatch(/symlink loop/);
    expect(reason('bad/dangling.png')).toMatch(/does not exist/);
    expect(dataset.stats).toMatchObject({ scanned: 11, decoded: 5, skipped: dataset.skipped.length });
  });

  it('reports an unreadable file (permissions) when the process cannot read it', async () => {
    const folder = join(dir.path, 'perm');
    mkdirSync(folder);
    await (await gradient(8, 1)).png().toFile(join(folder, 'a.png'));
    await (await gradient(9, 1)).png().toFile(join(folder, 'locked.png'));
    chmodSync(join(folder, 'locked.png'), 0o000);
    const dataset = await core.call('datasets.import', { projectId, folder, size: 8 });
    // root reads anything: then the file simply imports; otherwise it is reported, never fatal.
    const isRoot = process.getuid?.() === 0;
    expect(dataset.count).toBe(isRoot ? 2 : 1);
    if (!isRoot) expect(dataset.skipped).toEqual([{ path: 'locked.png', reason: 'permission denied' }]);
    chmodSync(join(folder, 'locked.png'), 0o644);
  });
});

describe('decompression bombs', () => {
  const s16 = { size: 16, channels: 1 as const, fit: 'resize' as const, background: '#000000', binarize: false };
  const gib = 2 ** 30;

  it('refuses PNG data that inflates past its declared size on every path, without inflating it all', async () => {
    const cases: [string, Buffer][] = [
      // 1×1 at a 16×16 target: libvips would accept it after inflating 2 GiB (issue 17, part 3).
      ['1×1 grey, other size than the target', pngBomb(1, 1, { inflatedBytes: 2 * gib })],
      ['16×16 grey at the target size (the JS path)', pngBomb(16, 16, { inflatedBytes: 2 * gib })],
      ['16-bit RGBA', pngBomb(16, 16, { inflatedBytes: 256 * 2 ** 20, bitDepth: 16, colorType: 6 })],
      ['interlaced', pngBomb(16, 16, { inflatedBytes: 256 * 2 ** 20, interlace: 1 })],
      ['palette, 1 bit', pngBomb(3, 3, { inflatedBytes: 256 * 2 ** 20, bitDepth: 1, colorType: 3 })],
    ];
    const rssBefore = process.memoryUsage().rss;
    for (const [what, bytes] of cases) {
      expect(bytes.length, what).toBeLessThan(3 * 2 ** 20);
      await expect(decodeImage(bytes, s16), what).rejects.toThrow(/inflates to more than the [\d,]+ bytes its \d+×\d+ pixels need \(decompression bomb\?\)/);
    }
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 2 ** 20);
  });

  it('knows exactly how much data each kind of PNG holds (a miscount would refuse good images)', async () => {
    const variants: [string, Buffer][] = [];
    for (const [w, h] of [[1, 1], [3, 5], [13, 7], [33, 20]] as const) {
      const base = await gradient(Math.max(w, h), 4);
      const img = base.resize(w, h, { fit: 'fill' });
      variants.push([`${w}×${h} RGBA`, await img.clone().png().toBuffer()]);
      variants.push([`${w}×${h} interlaced`, await img.clone().png({ progressive: true }).toBuffer()]);
      variants.push([`${w}×${h} 16-bit`, await img.clone().toColourspace('rgb16').png().toBuffer()]);
      variants.push([`${w}×${h} palette`, await img.clone().png({ palette: true, colours: 2 }).toBuffer()]);
      variants.push([`${w}×${h} grey interlaced palette`, await img.clone().grayscale().png({ palette: true, colours: 4, progressive: true }).toBuffer()]);
    }
    for (const [what, bytes] of variants) {
      const layout = readPngLayout(bytes)!;
      expect(layout, what).not.toBeNull();
      expect(inflatePngData(layout)?.length, what).toBe(pngDataBytes(layout));
      await expect(decodeImage(bytes, s16), what).resolves.toHaveLength(16 * 16);
    }
  });
});

describe('dataset folders', () => {
  it('lists FIFOs, device nodes and links out of the folder as skipped, and does not follow links out', async () => {
    const folder = join(dir.path, 'special');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    await (await gradient(8, 1)).png().toFile(join(folder, 'a.png'));
    await (await gradient(9, 1)).png().toFile(join(folder, 'sub', 'b.png'));
    execFileSync('mkfifo', [join(folder, 'pipe.png')]);
    execFileSync('mknod', [join(folder, 'null.png'), 'c', '1', '3']); // as /dev/null: needs root, as CI has
    symlinkSync('/dev/zero', join(folder, 'zero.png'));
    symlinkSync('/etc', join(folder, 'etc'));
    symlinkSync(join(folder, 'sub', 'b.png'), join(folder, 'inside.png')); // inside: followed

    const dataset = await core.call('datasets.import', { projectId, folder, size: 8 });
    expect(dataset.count).toBe(2);
    expect(dataset.skipped).toEqual([
      { path: 'etc', reason: 'link to /etc, outside the chosen folder: not followed (copy what it points to into the folder to import it)' },
      { path: 'null.png', reason: 'not a regular file: a character device' },
      { path: 'pipe.png', reason: 'not a regular file: a named pipe (FIFO)' },
      { path: 'sub/b.png', reason: 'duplicate of inside.png' },
      { path: 'zero.png', reason: 'link to /dev/zero, outside the chosen folder: not followed (copy what it points to into the folder to import it)' },
    ]);
  });

  it('bounds the scan: a folder with more entries than allowed is refused, naming it', async () => {
    const folder = join(dir.path, 'many');
    mkdirSync(join(folder, 'deep'), { recursive: true });
    for (let i = 0; i < 6; i++) writeFileSync(join(folder, 'deep', `${i}.txt`), 'x');
    await expect(scanFolder(folder, undefined, 5)).rejects.toThrow(`${folder} holds more than 5 files and folders; nothing was imported. Choose the folder that holds just the images.`);
    await expect(scanFolder(folder, undefined, 7)).resolves.toMatchObject({ files: [], skipped: { length: 6 } });
  });

  it('summarises a long skipped list: the first ones by path, then a count per reason', () => {
    const skipped = [
      ...Array.from({ length: MAX_SKIPPED_LISTED + 30 }, (_, i) => ({ path: `t/${String(i).padStart(6, '0')}.txt`, reason: 'not an image file type (.txt)' })),
      ...Array.from({ length: 5 }, (_, i) => ({ path: `z/${i}.png`, reason: 'empty file (0 bytes)' })),
    ];
    const listed = summariseSkipped(skipped.reverse());
    expect(listed).toHaveLength(MAX_SKIPPED_LISTED + 2);
    expect(listed[0]).toEqual({ path: 't/000000.txt', reason: 'not an image file type (.txt)' });
    expect(listed.slice(-2)).toEqual([
      { path: '… 30 more', reason: 'not an image file type (.txt)' },
      { path: '… 5 more', reason: 'empty file (0 bytes)' },
    ]);
  });
});

describe('formats and preprocessing', () => {
  it('reads PNG, JPEG, WebP, GIF (first frame), BMP and TIFF', async () => {
    const folder = join(dir.path, 'formats');
    mkdirSync(folder);
    const base = await gradient(32, 3);
    await base.clone().png().toFile(join(folder, 'a.png'));
    await base.clone().jpeg().toFile(join(folder, 'b.jpg'));
    await base.clone().webp().toFile(join(folder, 'c.webp'));
    await base.clone().gif().toFile(join(folder, 'd.gif'));
    await base.clone().tiff().toFile(join(folder, 'e.tiff'));
    writeFileSync(join(folder, 'f.bmp'), bmp24(10, 6, [200, 100, 50]));
    const dataset = await core.call('datasets.import', { projectId, folder, size: 16, channels: 3, labels: false });
    expect(dataset.skipped).toEqual([]);
    expect(dataset.count).toBe(6);
    const { pixels } = decodePacked(core.workspace.blobs.read(dataset.contentHash));
    const bmpPixel = Array.from(pixels.subarray(5 * 16 * 16 * 3, 5 * 16 * 16 * 3 + 3));
    expect(bmpPixel).toEqual([200, 100, 50]);
  });

  it('applies EXIF orientation', async () => {
    // 4 wide × 2 tall, left half white; orientation 6 means "rotate 90° clockwise to view".
    const raw = Buffer.from([255, 255, 0, 0, 255, 255, 0, 0]);
    const bytes = await sharp(raw, { raw: { width: 4, height: 2, channels: 1 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    const out = await decodeImage(bytes, { size: 4, channels: 1, fit: 'resize', background: '#000000', binarize: true });
    // After rotation the white half is on top.
    expect(Array.from(out.subarray(0, 4))).toEqual([255, 255, 255, 255]);
    expect(Array.from(out.subarray(12, 16))).toEqual([0, 0, 0, 0]);
  });

  it('fits by resize, crop and pad, padding and compositing on the chosen background', async () => {
    // A wide 8×4 white image with a transparent right half.
    const rgba = Buffer.alloc(8 * 4 * 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) {
      const o = (y * 8 + x) * 4;
      rgba.set([255, 255, 255, x < 4 ? 255 : 0], o);
    }
    const bytes = await sharp(rgba, { raw: { width: 8, height: 4, channels: 4 } }).png().toBuffer();
    const base = { size: 8, channels: 1 as const, background: '#000000', binarize: false };
    const pad = await decodeImage(bytes, { ...base, fit: 'pad' });
    expect(pad[0]).toBe(0); // top rows are padding
    expect(pad[3 * 8 + 1]).toBe(255); // opaque white, left
    expect(pad[3 * 8 + 6]).toBe(0); // transparent → black background
    const grey = await decodeImage(bytes, { ...base, fit: 'pad', background: '#808080' });
    expect(grey[0]).toBeGreaterThan(120);
    expect(grey[0]).toBeLessThan(136);
    const crop = await decodeImage(bytes, { ...base, fit: 'crop' });
    expect(crop[0]).toBeGreaterThan(200); // cropped to the centre: no padding rows
    const resize = await decodeImage(bytes, { ...base, fit: 'resize' });
    expect(resize[0]).toBeGreaterThan(200);
    expect(resize[7]).toBeLessThan(50);
  });

  it('binarizes to exactly 0 and 255', async () => {
    const bytes = await (await gradient(16, 1)).png().toBuffer();
    const out = await decodeImage(bytes, { size: 16, channels: 1, fit: 'resize', background: '#000000', binarize: true });
    expect(new Set(out)).toEqual(new Set([0, 255]));
  });

  it('decodes plain PNGs in JavaScript exactly as libvips does', async () => {
    for (const channels of [1, 3, 4] as const) {
      const bytes = await (await gradient(28, channels)).png({ adaptiveFiltering: true }).toBuffer();
      expect(decodePlainPng(bytes, 1e8)).not.toBeNull();
      const target = channels === 1 ? 1 : 3;
      const s = { size: 28, channels: target as 1 | 3, fit: 'resize' as const, background: '#000000', binarize: false };
      const fast = await decodeImage(bytes, s);
      const slow = await sharp(bytes).flatten({ background: '#000000' }).toColourspace(target === 1 ? 'b-w' : 'srgb').raw().toBuffer();
      const maxDiff = Math.max(...fast.map((v, i) => Math.abs(v - slow[i]!)));
      expect(maxDiff, `channels ${channels}`).toBeLessThanOrEqual(1);
    }
    // Grey pictures stored as RGB take the fast path too and still match libvips' grey.
    const grey = Buffer.alloc(28 * 28 * 3);
    for (let i = 0; i < 28 * 28; i++) grey.fill((i * 5) % 256, i * 3, i * 3 + 3);
    const greyPng = await sharp(grey, { raw: { width: 28, height: 28, channels: 3 } }).png().toBuffer();
    const fastGrey = await decodeImage(greyPng, { size: 28, channels: 1, fit: 'resize', background: '#000000', binarize: false });
    const vipsGrey = await sharp(greyPng).grayscale().raw().toBuffer();
    expect(Math.max(...fastGrey.map((v, i) => Math.abs(v - vipsGrey[i]!)))).toBeLessThanOrEqual(1);
    const palette = await (await gradient(28, 3)).png({ palette: true }).toBuffer();
    const viaJs = decodePlainPng(palette, 1e8)!;
    const viaVips = await sharp(palette).removeAlpha().raw().toBuffer();
    expect(Buffer.from(viaJs.data)).toEqual(viaVips);
  });
});

describe('re-import, duplicates and splits', () => {
  it('records whether the pixels are binary or 8-bit, and the decoder the form then suggests', async () => {
    const folder = join(dir.path, 'levels');
    mkdirSync(join(folder, 'bw'), { recursive: true });
    mkdirSync(join(folder, 'grey'), { recursive: true });
    // Black and white squares: every stored value 0 or 255 (nearest-neighbour keeps them so).
    for (let i = 0; i < 3; i++) {
      const pixels = Buffer.alloc(8 * 8, 0);
      for (let p = 0; p < 8 * 8; p += 2 + i) pixels[p] = 255;
      await sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(folder, 'bw', `${i}.png`));
    }
    for (let i = 0; i < 3; i++) await (await gradient(16 + i, 3)).png().toFile(join(folder, 'grey', `${i}.png`));
    const binary = await core.call('datasets.import', { projectId, folder: join(folder, 'bw'), size: 8, name: 'bw' });
    expect(binary.stats.pixelLevels).toBe('binary');
    expect(suggestDecoder(binary).decoder).toBe('bernoulli');
    const rgb = await core.call('datasets.import', { projectId, folder: join(folder, 'grey'), size: 12, channels: 3, name: 'rgb' });
    expect(rgb.stats.pixelLevels).toBe('8-bit');
    expect(suggestDecoder(rgb)).toMatchObject({ decoder: 'logistic', reason: expect.stringMatching(/8-bit RGB/) });
    // Binarized at import: binary, whatever the originals were.
    const thresholded = await core.call('datasets.import', { projectId, folder: join(folder, 'grey'), size: 12, binarize: true, name: 'thresholded' });
    expect(thresholded.stats.pixelLevels).toBe('binary');
    // Read back from the store as saved.
    const listed = await core.call('datasets.list', { projectId });
    expect(listed.map((d) => [d.name, d.stats.pixelLevels])).toEqual([['bw', 'binary'], ['rgb', '8-bit'], ['thresholded', 'binary']]);
  });

  it('reports duplicates, reuses unchanged files, picks up added and removed ones', async () => {
    const folder = join(dir.path, 'set');
    mkdirSync(join(folder, 'a'), { recursive: true });
    for (let i = 0; i < 6; i++) await (await gradient(10 + i, 1)).png().toFile(join(folder, 'a', `${i}.png`));
    writeFileSync(join(folder, 'a', 'copy-of-0.png'), readFileSync(join(folder, 'a', '0.png')));
    const first = await core.call('datasets.import', { projectId, folder, size: 12, name: 'set' });
    expect(first.count).toBe(6);
    expect(first.stats.duplicates).toBe(1);
    expect(first.skipped).toContainEqual({ path: 'a/copy-of-0.png', reason: 'duplicate of a/0.png' });

    rmSync(join(folder, 'a', '5.png'));
    await (await gradient(30, 1)).png().toFile(join(folder, 'a', 'new.png'));
    await (await gradient(31, 1)).png().toFile(join(folder, 'a', '1.png')); // changed content
    utimesSync(join(folder, 'a', '1.png'), new Date(), new Date(Date.now() + 5000));
    const second = await core.call('datasets.refresh', { datasetId: first.id });
    expect(second.name).toBe('set (v2)');
    expect(second.previousId).toBe(first.id);
    expect(second.count).toBe(6);
    // 0, 2, 3, 4 are unchanged; 1 changed, new.png appeared, the duplicate is decoded to be recognised.
    expect(second.stats).toMatchObject({ reused: 4, decoded: 3, added: 1, removed: 1, duplicates: 1 });
    // The first version is untouched: its runs stay reproducible.
    expect((await core.call('datasets.list', { projectId })).map((d) => d.name)).toEqual(['set', 'set (v2)']);
    expect(decodePacked(core.workspace.blobs.read(first.contentHash)).header.count).toBe(6);

    // Reused pixels are identical to decoding again from scratch.
    const fresh = await core.call('datasets.import', { projectId, folder, size: 12, name: 'fresh' });
    expect(fresh.contentHash).toBe(second.contentHash);
  });

  it('assigns splits from content, seeded and stable across re-imports', async () => {
    const s = settings({ validationFraction: 0.2, testFraction: 0.2, splitSeed: 7 });
    const hashes = Array.from({ length: 2000 }, (_, i) => i.toString(16).padStart(64, '0'));
    const codes = hashes.map((h) => splitOf(h, s));
    const testShare = codes.filter((c) => c === SPLIT_TEST).length / codes.length;
    expect(testShare).toBeGreaterThan(0.17);
    expect(testShare).toBeLessThan(0.23);
    expect(hashes.map((h) => splitOf(h, s))).toEqual(codes);
    expect(hashes.map((h) => splitOf(h, { ...s, splitSeed: 8 }))).not.toEqual(codes);
  });

  it('exports the skipped-file report as CSV, quoting awkward names', async () => {
    const folder = join(dir.path, 'csv');
    mkdirSync(folder);
    await (await gradient(8, 1)).png().toFile(join(folder, 'fine.png'));
    writeFileSync(join(folder, 'bad, "quoted".png'), 'nope');
    writeFileSync(join(folder, '=cmd.png'), 'nope');
    const dataset = await core.call('datasets.import', { projectId, folder, size: 8 });
    const { csv, filename } = await core.call('datasets.skippedCsv', { datasetId: dataset.id });
    expect(filename).toBe('csv-skipped.csv');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('path,reason');
    expect(lines).toContain(`'=cmd.png,not a readable image (unknown format or not an image at all)`);
    expect(lines).toContain(`"bad, ""quoted"".png",not a readable image (unknown format or not an image at all)`);
  });

  it('cancels an import, saving nothing', async () => {
    const folder = join(dir.path, 'big');
    mkdirSync(folder);
    for (let i = 0; i < 300; i++) await (await gradient(40 + (i % 20), 3)).jpeg().toFile(join(folder, `${i}.jpg`));
    let cancelled = false;
    core.subscribe((m) => {
      if (m.event === 'dataset.progress' && m.payload.phase === 'decoding' && m.payload.done > 5 && !cancelled) {
        cancelled = true;
        void core.call('datasets.cancelImport', { jobId: 'big-job' });
      }
    });
    const result = await core.handle('datasets.import', { projectId, folder, size: 16, jobId: 'big-job' });
    expect(result).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(await core.call('datasets.list', { projectId })).toEqual([]);
  });

  it('deletes a dataset no run uses, with its files', async () => {
    const folder = join(dir.path, 'del');
    mkdirSync(folder);
    await (await gradient(8, 1)).png().toFile(join(folder, 'x.png'));
    const dataset = await core.call('datasets.import', { projectId, folder, size: 8 });
    expect(await core.call('datasets.delete', { datasetId: dataset.id })).toEqual({ deleted: dataset.id, runsDeleted: 0 });
    expect(core.workspace.blobs.has(dataset.contentHash)).toBe(false);
  });
});
