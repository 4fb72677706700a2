// Zips written by hand for tests, without the writer's checks: every header field as
// given, so hostile archives (lying sizes, symlinks, shared bytes) can be made.
import { crc32 } from './zip';

/** One entry exactly as stored: `body` is the stored bytes; `size` and `crc` are what the headers declare. */
export interface HandEntry {
  path: string;
  body: Uint8Array;
  /** 0 stored (the default), 8 deflated. */
  method?: 0 | 8;
  /** Declared unpacked size; default the body's length. */
  size?: number;
  /** Declared CRC-32; default the body's own. */
  crc?: number;
  /** Unix mode in the central record; default a regular file. */
  mode?: number;
}

function localHeader(e: HandEntry, name: Buffer): Buffer {
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(e.method ?? 0, 8);
  local.writeUInt32LE(e.crc ?? crc32(e.body), 14);
  local.writeUInt32LE(e.body.length, 18);
  local.writeUInt32LE(e.size ?? e.body.length, 22);
  local.writeUInt16LE(name.length, 26);
  return local;
}

function centralRecord(e: HandEntry, name: Buffer, offset: number): Buffer {
  const c = Buffer.alloc(46);
  c.writeUInt32LE(0x02014b50, 0);
  c.writeUInt16LE((3 << 8) | 20, 4);
  c.writeUInt16LE(e.method ?? 0, 10);
  c.writeUInt32LE(e.crc ?? crc32(e.body), 16);
  c.writeUInt32LE(e.body.length, 20);
  c.writeUInt32LE(e.size ?? e.body.length, 24);
  c.writeUInt16LE(name.length, 28);
  c.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
  c.writeUInt32LE(offset, 42);
  return Buffer.concat([c, name]);
}

function endRecord(entries: number, centralBytes: number, centralAt: number): Buffer {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries, 8);
  end.writeUInt16LE(entries, 10);
  end.writeUInt32LE(centralBytes, 12);
  end.writeUInt32LE(centralAt, 16);
  return end;
}

/** A zip of `entries` exactly as given (sizes, CRCs and modes too): what an attacker can write. */
export function handZip(entries: HandEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.path);
    parts.push(localHeader(e, name), name, Buffer.from(e.body));
    central.push(centralRecord(e, name, offset));
    offset += 30 + name.length + e.body.length;
  }
  const centralBytes = Buffer.concat(central);
  return Buffer.concat([...parts, centralBytes, endRecord(entries.length, centralBytes.length, offset)]);
}

/**
 * One stored stream (written once, under `names[0]`) that the central directory lists
 * under every name in `names`: entries that share their stored bytes, the overlap bomb.
 */
export function sharedBytesZip(names: string[], stream: Omit<HandEntry, 'path'>): Buffer {
  const first = Buffer.from(names[0]!);
  const centralAt = 30 + first.length + stream.body.length;
  const central = Buffer.concat(names.map((n) => centralRecord({ ...stream, path: n }, Buffer.from(n), 0)));
  return Buffer.concat([localHeader({ ...stream, path: names[0]! }, first), first, Buffer.from(stream.body), central, endRecord(names.length, central.length, centralAt)]);
}
