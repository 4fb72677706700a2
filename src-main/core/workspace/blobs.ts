import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';

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
    if (existsSync(target)) return hash;
    mkdirSync(join(this.dir, hash.slice(0, 2)), { recursive: true });
    const tmp = this.writeTemp(bytes);
    renameSync(tmp, target);
    return hash;
  }

  /** A fresh path in the temp folder (same file system, so a later rename is atomic). */
  tempPath(suffix = ''): string {
    return join(this.dir, 'tmp', `${Date.now()}-${randomBytes(6).toString('hex')}${suffix}`);
  }

  /** Writes and fsyncs a temp file; the caller moves it in with putFile or deletes it. */
  writeTemp(bytes: Uint8Array, suffix = ''): string {
    const path = this.tempPath(suffix);
    const fd = openSync(path, 'w');
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } catch (error) {
      // Disk full or I/O error: a half-written temp file is of no use to anyone.
      closeSync(fd);
      rmSync(path, { force: true });
      throw error;
    }
    closeSync(fd);
    return path;
  }

  /** Moves a finished temp file into the store under its content hash. */
  async putFile(path: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const digest = hash.digest('hex');
    const target = this.pathOf(digest);
    if (existsSync(target)) {
      rmSync(path, { force: true });
      return digest;
    }
    mkdirSync(join(this.dir, digest.slice(0, 2)), { recursive: true });
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(path, target);
    return digest;
  }

  /** Moves a whole file whose content hash the caller has computed into the store. */
  moveIn(path: string, hash: string): void {
    const target = this.pathOf(hash);
    if (existsSync(target)) {
      rmSync(path, { force: true });
      return;
    }
    mkdirSync(join(this.dir, hash.slice(0, 2)), { recursive: true });
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(path, target);
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

  read(hash: string): Buffer {
    return readFileSync(this.pathOf(hash));
  }

  remove(hash: string): void {
    rmSync(this.pathOf(hash), { force: true });
  }
}
