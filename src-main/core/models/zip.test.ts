import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../testing';
import { readExport } from './import-model';
import { handZip, sharedBytesZip } from './zip-testing';
import { crc32, readZip, unsafePathReason, writeZip, writeZipAsync, ZipError, ZipReader, type ZipEntry, type ZipLimits } from './zip';

const dir = tempDir();
afterAll(() => dir.cleanup());

/** One-entry zip with a hand-set header: name, method, declared size, mode. */
function oneEntry(path: string, data: Uint8Array, options: { method?: 0 | 8; declaredSize?: number; mode?: number } = {}): Buffer {
  const method = options.method ?? 0;
  return handZip([{ path, body: method === 8 ? deflateRawSync(data) : data, method, size: options.declaredSize ?? data.length, crc: crc32(data), mode: options.mode }]);
}

let files = 0;
/** Every entry through ZipReader, the core's streaming reader: the bytes written to a file first. */
async function readFileZip(bytes: Uint8Array, limits?: ZipLimits): Promise<ZipEntry[]> {
  const path = join(dir.path, `zip-${files++}.zip`);
  writeFileSync(path, bytes);
  const zip = await ZipReader.open(path, limits);
  try {
    const entries: ZipEntry[] = [];
    for (const e of zip.entries.values()) {
      const chunks: Uint8Array[] = [];
      await zip.stream(e.path, (chunk) => chunks.push(Buffer.from(chunk)));
      entries.push({ path: e.path, data: Buffer.concat(chunks) });
    }
    return entries;
  } finally {
    await zip.close();
  }
}

/** Both readers, made to answer the same way: the in-memory one (tests, small files) and the streaming one (the core). */
const readers: [string, (bytes: Uint8Array, limits?: ZipLimits) => Promise<ZipEntry[]>][] = [
  ['readZip', async (bytes, limits) => readZip(bytes, limits)],
  ['ZipReader', readFileZip],
];

describe('zip', () => {
  it('round-trips entries, deflating text and storing weights; the async writer writes the same bytes', async () => {
    const text = new TextEncoder().encode('hello '.repeat(1000));
    const weights = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256);
    const entries = [
      { path: 'a/readme.md', data: text },
      { path: 'tfjs/w.bin', data: weights },
      { path: 'empty.txt', data: new Uint8Array(0) },
    ];
    const zip = writeZip(entries);
    expect(Buffer.from(await writeZipAsync(entries)).equals(Buffer.from(zip))).toBe(true);
    expect(zip.length).toBeLessThan(text.length + weights.length);
    for (const [name, read] of readers) {
      const back = await read(zip);
      expect(back.map((e) => e.path), name).toEqual(['a/readme.md', 'tfjs/w.bin', 'empty.txt']);
      expect(Buffer.from(back[0]!.data).equals(Buffer.from(text))).toBe(true);
      expect(Buffer.from(back[1]!.data).equals(Buffer.from(weights))).toBe(true);
      expect(back[2]!.data.length).toBe(0);
    }
  });

  it('names every unsafe path', async () => {
    expect(unsafePathReason('ok/file.bin')).toBeNull();
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\b', 'a//b', './a', 'a\u0000b', '']) expect(unsafePathReason(bad), bad).not.toBeNull();
    expect(() => writeZip([{ path: '../x', data: new Uint8Array(1) }])).toThrow(ZipError);
    await expect(writeZipAsync([{ path: '../x', data: new Uint8Array(1) }])).rejects.toThrow(ZipError);
  });

  for (const [name, read] of readers) {
    it(`${name} refuses a zip bomb: the declared size is the limit and inflating stops there`, async () => {
      const big = new Uint8Array(10_000_000);
      await expect(read(oneEntry('bomb.bin', big, { method: 8, declaredSize: 1000 }))).rejects.toThrow(/does not inflate|unpacks to/);
      await expect(read(oneEntry('big.bin', big, { method: 8 }), { maxEntryBytes: 1_000_000, maxTotalBytes: 2_000_000, maxEntries: 10 })).rejects.toThrow(
        /"big\.bin" is 10000000 bytes unpacked \(limit 1000000\)/,
      );
    });

    it(`${name} refuses symlinks, devices, encrypted and unknown methods, duplicates and bad CRCs`, async () => {
      await expect(read(oneEntry('link', Buffer.from('/etc'), { mode: 0o120777 }))).rejects.toThrow(/not a regular file/);
      await expect(read(oneEntry('dev', Buffer.from('x'), { mode: 0o020644 }))).rejects.toThrow(/not a regular file/);
      const damaged = oneEntry('x.txt', Buffer.from('hello'));
      damaged[30 + 5] = damaged[30 + 5]! ^ 1;
      await expect(read(damaged)).rejects.toThrow(/CRC-32/);
      // The writer does not check duplicates; the reader must.
      await expect(read(writeZip([{ path: 'a', data: Buffer.from('1') }, { path: 'a', data: Buffer.from('2') }]))).rejects.toThrow(/appears twice/);
    });
  }

  it('refuses entries that share stored bytes before inflating any (200 names over one 10 MiB zero stream)', async () => {
    const size = 10 * 1024 * 1024;
    const zeros = new Uint8Array(size);
    const body = deflateRawSync(zeros);
    const crc = crc32(zeros);
    const bomb = sharedBytesZip(
      Array.from({ length: 200 }, (_, i) => `e${i}`),
      { body, method: 8, size, crc },
    );
    expect(bomb.length).toBeLessThan(25_000);
    for (const [name, read] of readers) {
      await expect(read(bomb), name).rejects.toThrow(/"e0" and entry "e1" overlap/);
    }
  });

  it('refuses a symlink inside an export folder', async () => {
    const folder = join(dir.path, 'export');
    mkdirSync(join(folder, 'app'), { recursive: true });
    writeFileSync(join(folder, 'manifest.json'), '{}');
    symlinkSync('/etc/passwd', join(folder, 'app', 'checkpoint.vaeckpt'));
    await expect(readExport(folder)).rejects.toThrow(/"app\/checkpoint\.vaeckpt" is a symbolic link/);
  });
});
