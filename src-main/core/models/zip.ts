import { open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32 as zlibCrc32, createInflateRaw, deflateRaw, deflateRawSync, inflateRawSync, type ZlibOptions } from 'node:zlib';

/**
 * The zip subset model archives need, written and read by hand (node:zlib deflates):
 * stored or deflated entries, no zip64, no encryption. Reading is defensive — the
 * archive may come from anywhere: every entry name is checked before anything is
 * decompressed (no absolute paths, drive letters, backslashes, `..`, control
 * characters, duplicates), symlinks and folders-as-files are refused, entries that
 * share stored bytes are refused, and sizes are bounded before inflating, which also
 * stops at the declared size (zip bombs). Writing comes sync (small archives, tests)
 * and async (deflating on libuv's thread pool, a turn of the event loop between
 * entries, so the core — Electron's main process — keeps answering). Reading a file
 * (ZipReader) streams one entry at a time; readZip reads a zip in memory (tests).
 */
export interface ZipEntry {
  path: string;
  data: Uint8Array;
}

export interface ZipLimits {
  /** Largest single entry, uncompressed. */
  maxEntryBytes: number;
  /** All entries together, uncompressed. */
  maxTotalBytes: number;
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntryBytes: 1024 ** 3, maxTotalBytes: 2 * 1024 ** 3, maxEntries: 200 };

export class ZipError extends Error {}

/** CRC-32 of `bytes`, continuing from `value` (zlib's). */
export const crc32 = (bytes: Uint8Array, value = 0): number => zlibCrc32(bytes, value);

/**
 * Why a path may not be extracted, or null when it is a plain relative file path.
 * Shared by zip reading and folder imports.
 */
export function unsafePathReason(path: string): string | null {
  if (path.length === 0 || path.length > 255) return 'an empty or overlong name';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(path)) return 'control characters in its name';
  if (path.includes('\\')) return 'a backslash in its name';
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) return 'an absolute path';
  const parts = path.split('/');
  if (parts.some((p) => p === '..')) return 'a ".." path that would leave the target folder';
  if (parts.some((p) => p === '' || p === '.')) return 'an empty or "." path segment';
  return null;
}

const DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1;

const deflateRawAsync = promisify<Uint8Array, ZlibOptions, Buffer>(deflateRaw);

/** One turn of the event loop, between pieces of long synchronous work. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An entry as it goes into the archive: its bytes as stored (deflated or not) and the CRC of the original. */
interface Packed {
  body: Uint8Array;
  stored: boolean;
  crc: number;
}

/**
 * Whether an entry is deflated. Float weights shrink by a few per cent at most: not
 * worth the time; the rest is (the checkpoint too: its zeroed optimizer state is half of it).
 */
function deflates(entry: ZipEntry): boolean {
  const reason = unsafePathReason(entry.path);
  if (reason) throw new ZipError(`cannot store "${entry.path}": ${reason}`);
  return !/\.(bin|onnx|png)$/.test(entry.path);
}

const packed = (entry: ZipEntry, deflated: Uint8Array | null, crc: number): Packed =>
  deflated !== null && deflated.length < entry.data.length ? { body: deflated, stored: false, crc } : { body: entry.data, stored: true, crc };

/** A zip of the entries in order; text and packed images deflated, weights and PNGs stored. */
export function writeZip(entries: readonly ZipEntry[]): Uint8Array {
  return assembleZip(entries, entries.map((e) => packed(e, deflates(e) ? deflateRawSync(e.data, { level: 6 }) : null, crc32(e.data))));
}

/** writeZip, deflating on the thread pool (every entry at once) and yielding between CRCs. */
export async function writeZipAsync(entries: readonly ZipEntry[]): Promise<Uint8Array> {
  const compressing = entries.map((e) => (deflates(e) ? deflateRawAsync(e.data, { level: 6 }) : Promise.resolve(null)));
  const parts: Packed[] = [];
  for (const [i, entry] of entries.entries()) {
    await nextTurn();
    const crc = crc32(entry.data);
    parts.push(packed(entry, await compressing[i]!, crc));
  }
  return assembleZip(entries, parts);
}

function assembleZip(entries: readonly ZipEntry[], parts: readonly Packed[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [i, entry] of entries.entries()) {
    const { body, stored, crc } = parts[i]!;
    const name = new TextEncoder().encode(entry.path);
    if (body.length >= 0xffffffff || offset >= 0xffffffff) throw new ZipError('archive too large (zip64 is not written)');
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0x0800, true); // UTF-8 names
    lv.setUint16(8, stored ? 0 : 8, true);
    lv.setUint16(10, 0, true);
    lv.setUint16(12, DOS_DATE_1980, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, entry.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, (3 << 8) | 20, true); // made by Unix, so the mode below is read as one
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, stored ? 0 : 8, true);
    cv.setUint16(14, DOS_DATE_1980, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, entry.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(38, (0o100644 << 16) >>> 0, true); // regular file, rw-r--r--
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const centralSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + end.length);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** An entry as the central directory lists it: name, kind and sizes checked, not yet located. */
interface Listed {
  path: string;
  where: string;
  deflated: boolean;
  compressedSize: number;
  size: number;
  crc: number;
  localOffset: number;
}

/** A listed entry with the bounds of its stored bytes in the file. */
export interface ZipDirectoryEntry extends Listed {
  dataStart: number;
  dataEnd: number;
}

/** The end-of-archive record: where the central directory is and how many entries it lists. */
interface End {
  count: number;
  centralSize: number;
  centralOffset: number;
}

/** The central directory may not be larger than this (200 entries with 255-byte names need 60 KB). */
const MAX_CENTRAL_BYTES = 4 * 1024 * 1024;
/** The end record sits within the last 22 + 65 535 (comment) bytes. */
const END_SEARCH = 22 + 0xffff;

/** The end record in `tail`, the last bytes of a file of `fileSize` bytes. */
function findEnd(tail: Uint8Array, fileSize: number, limits: ZipLimits): End {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError('not a zip archive (no end-of-archive record)');
  const eocd = fileSize - tail.length + at;
  const count = view.getUint16(at + 10, true);
  const centralSize = view.getUint32(at + 12, true);
  const centralOffset = view.getUint32(at + 16, true);
  if (count === 0xffff || centralOffset === 0xffffffff) throw new ZipError('zip64 archives are not supported');
  if (count > limits.maxEntries) throw new ZipError(`the archive has ${count} entries (at most ${limits.maxEntries})`);
  if (centralOffset + centralSize > eocd) throw new ZipError('the central directory runs past its end (a truncated archive)');
  if (centralSize > MAX_CENTRAL_BYTES) throw new ZipError(`the central directory is ${centralSize} bytes (at most ${MAX_CENTRAL_BYTES})`);
  return { count, centralSize, centralOffset };
}

/** Every entry of the central directory, checked before anything is read or inflated. */
function parseDirectory(central: Uint8Array, count: number, limits: ZipLimits): Listed[] {
  const view = new DataView(central.buffer, central.byteOffset, central.byteLength);
  const entries: Listed[] = [];
  const seen = new Set<string>();
  let total = 0;
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > central.length || view.getUint32(at, true) !== 0x02014b50) throw new ZipError(`damaged central directory at entry ${n + 1}`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const madeBy = view.getUint16(at + 4, true) >> 8;
    const external = view.getUint32(at + 38, true);
    const localOffset = view.getUint32(at + 42, true);
    if (at + 46 + nameLength > central.length) throw new ZipError(`damaged central directory at entry ${n + 1}`);
    const path = new TextDecoder().decode(central.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;

    const where = `entry "${path}"`;
    if (path.endsWith('/')) throw new ZipError(`${where} is a folder entry; model archives hold files only`);
    const reason = unsafePathReason(path);
    if (reason) throw new ZipError(`${where} has ${reason}`);
    if (seen.has(path)) throw new ZipError(`${where} appears twice`);
    seen.add(path);
    const mode = external >>> 16;
    if (madeBy === 3 && mode !== 0 && (mode & 0o170000) !== 0o100000) {
      throw new ZipError(`${where} is not a regular file (a symlink or device; mode ${mode.toString(8)})`);
    }
    if (flags & 0x1) throw new ZipError(`${where} is encrypted`);
    if (method !== 0 && method !== 8) throw new ZipError(`${where} uses compression method ${method} (only stored and deflate are read)`);
    if (method === 0 && compressedSize !== size) throw new ZipError(`${where} is stored with ${compressedSize} bytes but says it holds ${size}`);
    if (size > limits.maxEntryBytes) throw new ZipError(`${where} is ${size} bytes unpacked (limit ${limits.maxEntryBytes})`);
    total += size;
    if (total > limits.maxTotalBytes) throw new ZipError(`the archive unpacks to more than ${limits.maxTotalBytes} bytes`);
    entries.push({ path, where, deflated: method === 8, compressedSize, size, crc, localOffset });
  }
  return entries;
}

/** Where an entry's bytes start, from its local header (the 30 bytes at its offset and what follows). */
function locate(entry: Listed, local: Uint8Array, fileSize: number): ZipDirectoryEntry {
  const view = new DataView(local.buffer, local.byteOffset, local.byteLength);
  if (local.length < 30 || view.getUint32(0, true) !== 0x04034b50) throw new ZipError(`${entry.where}: damaged local header`);
  const dataStart = entry.localOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > fileSize) throw new ZipError(`${entry.where} runs past the end of the archive (truncated)`);
  return { ...entry, dataStart, dataEnd };
}

/**
 * Entries may not share bytes: a few kilobytes of deflate stream that many entries
 * point at would otherwise unpack to the limit many times over. Each entry's local
 * header and data must lie apart from every other's, and before the central directory.
 */
function checkLayout(entries: readonly ZipDirectoryEntry[], centralOffset: number): void {
  const sorted = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  for (const [i, e] of sorted.entries()) {
    if (e.dataEnd > centralOffset) throw new ZipError(`${e.where} overlaps the central directory`);
    const next = sorted[i + 1];
    if (next && next.localOffset < e.dataEnd) throw new ZipError(`${e.where} and ${next.where} overlap (they share stored bytes)`);
  }
}

/** The unpacked bytes of an entry, if they have the size and CRC-32 its header says. */
function checked(e: ZipDirectoryEntry, data: Uint8Array): ZipEntry {
  if (data.length !== e.size) throw new ZipError(`${e.where} unpacks to ${data.length} bytes, its header says ${e.size}`);
  if (crc32(data) !== e.crc) throw new ZipError(`${e.where} fails its CRC-32 check (damaged)`);
  return { path: e.path, data };
}

/** The checked directory of a zip in memory. */
function scanZip(bytes: Uint8Array, limits: ZipLimits): ZipDirectoryEntry[] {
  const end = findEnd(bytes.subarray(Math.max(0, bytes.length - END_SEARCH)), bytes.length, limits);
  const listed = parseDirectory(bytes.subarray(end.centralOffset, end.centralOffset + end.centralSize), end.count, limits);
  const entries = listed.map((e) => locate(e, bytes.subarray(e.localOffset, Math.min(bytes.length, e.localOffset + 30)), bytes.length));
  checkLayout(entries, end.centralOffset);
  return entries;
}

/** Every entry of a zip in memory, checked; throws ZipError saying which entry and why. For small archives and tests. */
export function readZip(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipEntry[] {
  return scanZip(bytes, limits).map((e) => {
    const body = bytes.subarray(e.dataStart, e.dataEnd);
    if (!e.deflated) return checked(e, body);
    try {
      return checked(e, inflateRawSync(body, { maxOutputLength: Math.max(1, e.size) }));
    } catch (error) {
      if (error instanceof ZipError) throw error;
      throw new ZipError(`${e.where} does not inflate (${(error as Error).message})`);
    }
  });
}

/** Bytes read from the file per step, and the size of inflated chunks. */
const READ_CHUNK = 64 * 1024;

/**
 * A zip file on disk, read without loading it: the directory (checked as above, and no
 * two entries sharing bytes) first, then one entry at a time on request, streamed and
 * inflated chunk by chunk. An entry's output stops at its declared size — a deflate
 * stream that would unpack to more is cut off there and refused — so memory holds a
 * chunk at a time plus what the caller keeps, whatever the archive claims.
 */
export class ZipReader {
  private constructor(
    private readonly file: FileHandle,
    readonly where: string,
    readonly entries: ReadonlyMap<string, ZipDirectoryEntry>,
  ) {}

  static async open(path: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipReader> {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const tailLength = Math.min(size, END_SEARCH);
      const tail = await readAt(file, size - tailLength, tailLength);
      const end = findEnd(tail, size, limits);
      const listed = parseDirectory(await readAt(file, end.centralOffset, end.centralSize), end.count, limits);
      const entries: ZipDirectoryEntry[] = [];
      for (const e of listed) entries.push(locate(e, await readAt(file, e.localOffset, Math.min(30, Math.max(0, size - e.localOffset))), size));
      checkLayout(entries, end.centralOffset);
      return new ZipReader(file, path, new Map(entries.map((e) => [e.path, e])));
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /**
   * Streams one entry's unpacked bytes to `onChunk`, never more than its declared size,
   * and checks the total and the CRC-32 at the end; throws ZipError naming the entry.
   */
  async stream(path: string, onChunk: (chunk: Uint8Array) => void): Promise<void> {
    const e = this.entries.get(path);
    if (!e) throw new ZipError(`entry "${path}" is not in the archive`);
    let produced = 0;
    let crc = 0;
    const take = (chunk: Uint8Array): void => {
      produced += chunk.length;
      if (produced > e.size) throw new ZipError(`${e.where} unpacks to more than the ${e.size} bytes its header says (a zip bomb?)`);
      crc = crc32(chunk, crc);
      onChunk(chunk);
    };
    const raw = this.chunks(e);
    if (e.deflated) {
      const inflater = createInflateRaw({ chunkSize: READ_CHUNK });
      try {
        await pipeline(raw, inflater, async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) take(chunk);
        });
      } catch (error) {
        if (error instanceof ZipError) throw error;
        throw new ZipError(`${e.where} does not inflate (${(error as Error).message})`);
      }
    } else {
      for await (const chunk of raw) take(chunk);
    }
    if (produced !== e.size) throw new ZipError(`${e.where} unpacks to ${produced} bytes, its header says ${e.size}`);
    if (crc !== e.crc) throw new ZipError(`${e.where} fails its CRC-32 check (damaged)`);
  }

  /** An entry's stored bytes, a slice at a time. */
  private async *chunks(e: ZipDirectoryEntry): AsyncGenerator<Uint8Array> {
    for (let at = e.dataStart; at < e.dataEnd; at += READ_CHUNK) {
      const chunk = await readAt(this.file, at, Math.min(READ_CHUNK, e.dataEnd - at));
      if (chunk.length === 0) throw new ZipError(`${e.where} runs past the end of the archive (truncated)`);
      yield chunk;
    }
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}
