import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync, inflateRaw, inflateRawSync, type ZlibOptions } from 'node:zlib';

/**
 * The zip subset model archives need, written and read by hand (node:zlib deflates):
 * stored or deflated entries, no zip64, no encryption. Reading is defensive — the
 * archive may come from anywhere: every entry name is checked before anything is
 * decompressed (no absolute paths, drive letters, backslashes, `..`, control
 * characters, duplicates), symlinks and folders-as-files are refused, and sizes are
 * bounded before inflating, which also stops at the declared size (zip bombs).
 * Each direction comes sync (small archives, tests) and async: the async one deflates
 * and inflates on libuv's thread pool and gives the event loop a turn between entries,
 * so the core (Electron's main process) keeps answering while a model archive is
 * written or read.
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

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

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
const inflateRawAsync = promisify<Uint8Array, ZlibOptions, Buffer>(inflateRaw);

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

/** An entry found by scanZip: checked name and sizes, its bytes still as stored. */
interface Scanned {
  path: string;
  where: string;
  deflated: boolean;
  body: Uint8Array;
  size: number;
  crc: number;
}

/** Every entry of a zip, checked; throws ZipError saying which entry and why. */
export function readZip(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipEntry[] {
  return scanZip(bytes, limits).map((e) => checked(e, e.deflated ? inflated(e, () => inflateRawSync(e.body, { maxOutputLength: Math.max(1, e.size) })) : e.body));
}

/** readZip, inflating on the thread pool and yielding between entries. */
export async function readZipAsync(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  for (const e of scanZip(bytes, limits)) {
    await nextTurn();
    let data = e.body;
    if (e.deflated) {
      try {
        data = await inflateRawAsync(e.body, { maxOutputLength: Math.max(1, e.size) });
      } catch (error) {
        throw new ZipError(`${e.where} does not inflate (${(error as Error).message})`);
      }
    }
    entries.push(checked(e, data));
  }
  return entries;
}

function inflated(e: Scanned, inflate: () => Uint8Array): Uint8Array {
  try {
    return inflate();
  } catch (error) {
    throw new ZipError(`${e.where} does not inflate (${(error as Error).message})`);
  }
}

/** The unpacked bytes of an entry, if they have the size and CRC-32 its header says. */
function checked(e: Scanned, data: Uint8Array): ZipEntry {
  if (data.length !== e.size) throw new ZipError(`${e.where} unpacks to ${data.length} bytes, its header says ${e.size}`);
  if (crc32(data) !== e.crc) throw new ZipError(`${e.where} fails its CRC-32 check (damaged)`);
  return { path: e.path, data };
}

/** The central directory: every entry's name, kind, sizes and bounds checked before anything is inflated. */
function scanZip(bytes: Uint8Array, limits: ZipLimits): Scanned[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a zip archive (no end-of-archive record)');
  const count = view.getUint16(eocd + 10, true);
  const centralSize = view.getUint32(eocd + 12, true);
  const centralOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || centralOffset === 0xffffffff) throw new ZipError('zip64 archives are not supported');
  if (count > limits.maxEntries) throw new ZipError(`the archive has ${count} entries (at most ${limits.maxEntries})`);
  if (centralOffset + centralSize > eocd) throw new ZipError('the central directory runs past its end (a truncated archive)');

  const entries: Scanned[] = [];
  const seen = new Set<string>();
  let total = 0;
  let at = centralOffset;
  for (let n = 0; n < count; n++) {
    if (at + 46 > eocd || view.getUint32(at, true) !== 0x02014b50) throw new ZipError(`damaged central directory at entry ${n + 1}`);
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
    const path = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
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
    if (size > limits.maxEntryBytes) throw new ZipError(`${where} is ${size} bytes unpacked (limit ${limits.maxEntryBytes})`);
    total += size;
    if (total > limits.maxTotalBytes) throw new ZipError(`the archive unpacks to more than ${limits.maxTotalBytes} bytes`);

    if (localOffset + 30 > bytes.length || view.getUint32(localOffset, true) !== 0x04034b50) throw new ZipError(`${where}: damaged local header`);
    const dataStart = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (dataStart + compressedSize > bytes.length) throw new ZipError(`${where} runs past the end of the archive (truncated)`);
    entries.push({ path, where, deflated: method === 8, body: bytes.subarray(dataStart, dataStart + compressedSize), size, crc });
  }
  return entries;
}
