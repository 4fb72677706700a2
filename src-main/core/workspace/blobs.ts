import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncFolder, writeFileDurably } from './durable';
import { ApiError } from '@shared/errors';

/** Why a stored file was refused; the core names the dataset or run that owns it. */
export const DAMAGED_BLOB = 'damaged_blob';

/** A blob whose content no longer has the hash it is stored under (bit rot, a bad disk, an edit). */
export class DamagedBlobError extends ApiError {
  constructor(
    readonly hash: string,
    readonly path: string,
    actual: string,
  ) {
    super('io_error', `The stored file ${path} is damaged: its content no longer has the hash it was saved under (sha256 ${actual.slice(0, 12)}…). It was not used.`, {
      reason: DAMAGED_BLOB,
      hash,
      path,
    });
  }
}

/**
 * Content-addressed files beside the database. Writes go to a temporary name, are
 * fsynced and renamed into place, so a crash never leaves a half file under a hash.
 */
export class BlobStore {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'tmp'), { recursive: true });
  }

  static hash(bytes: Uint8Array): string {
    return createHash('sha256').update(bytes).digest('hex');
  }

  pathOf(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not a blob hash: ${hash}`);
    return join(this.dir, hash.slice(0, 2), hash);
  }

  has(hash: string): boolean {
    return existsSync(this.pathOf(hash));
  }

  put(bytes: Uint8Array): string {
    const hash = BlobStore.hash(bytes);
    const target = this.pathOf(hash);
    if (this.holdsIntact(hash)) return hash;
    this.shardFolder(hash);
    const tmp = this.writeTemp(bytes);
    renameSync(tmp, target);
    syncFolder(join(this.dir, hash.slice(0, 2)));
    return hash;
  }

  /**
   * The folder of a hash's first two digits. Made one level deep, not recursively: on a
   * read-only disk Node's recursive mkdir says ENOENT, which would hide the real cause.
   */
  private shardFolder(hash: string): void {
    try {
      mkdirSync(join(this.dir, hash.slice(0, 2)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }

  /**
   * Whether the store already has this content. A file under the hash that no longer
   * has it (damaged on disk) does not count: the new copy replaces it, so re-importing
   * is how a damaged dataset is repaired.
   */
  private holdsIntact(hash: string): boolean {
    const target = this.pathOf(hash);
    if (!existsSync(target)) return false;
    const digest = createHash('sha256');
    const fd = openSync(target, 'r');
    try {
      const chunk = Buffer.allocUnsafe(1024 * 1024);
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) digest.update(chunk.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    return digest.digest('hex') === hash;
  }

  /** A fresh path in the temp folder (same file system, so a later rename is atomic). */
  tempPath(suffix = ''): string {
    return join(this.dir, 'tmp', `${Date.now()}-${randomBytes(6).toString('hex')}${suffix}`);
  }

  /** Writes and fsyncs a temp file; the caller moves it in with putFile or deletes it. */
  writeTemp(bytes: Uint8Array, suffix = ''): string {
    const path = this.tempPath(suffix);
    // Disk full or I/O error: no half-written temp file is left behind.
    writeFileDurably(path, bytes);
    return path;
  }

  /** Moves a finished temp file into the store under its content hash. */
  async putFile(path: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const digest = hash.digest('hex');
    this.moveIn(path, digest);
    return digest;
  }

  /** Moves a whole file whose content hash the caller has computed into the store. */
  moveIn(path: string, hash: string): void {
    const target = this.pathOf(hash);
    if (this.holdsIntact(hash)) {
      rmSync(path, { force: true });
      return;
    }
    this.shardFolder(hash);
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(path, target);
    syncFolder(join(this.dir, hash.slice(0, 2)));
  }

  /**
   * Deletes what a crashed writer left in the temp folder (a killed import child's half
   * file, a temp blob never renamed). Only the instance holding the workspace lock calls
   * this, at start, when no write of its own is under way.
   */
  clearTemp(): number {
    const dir = join(this.dir, 'tmp');
    const names = readdirSync(dir);
    for (const name of names) rmSync(join(dir, name), { recursive: true, force: true });
    return names.length;
  }

  /**
   * The blob's bytes, checked against the hash they are stored under (one pass, about
   * 1 ms per MB): a damaged file is refused rather than exported or shown.
   */
  read(hash: string): Buffer {
    const path = this.pathOf(hash);
    const bytes = readFileSync(path);
    const actual = BlobStore.hash(bytes);
    if (actual !== hash) throw new DamagedBlobError(hash, path, actual);
    return bytes;
  }

  remove(hash: string): void {
    rmSync(this.pathOf(hash), { force: true });
  }
}

/**
 * Makes a rename into a folder durable (a power cut after it could otherwise lose the
 * name while the database already points at it). Not every platform opens folders.
 */
function syncFolder(dir: string): void {
  try {
    fsyncFolder(dir);
  } catch {
    // Best effort: the rename itself has happened.
  }
}
