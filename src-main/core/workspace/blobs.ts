import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, existsSync } from 'node:fs';
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
    const tmp = join(this.dir, 'tmp', `${hash}.${randomBytes(4).toString('hex')}`);
    const fd = openSync(tmp, 'w');
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    return hash;
  }

  read(hash: string): Buffer {
    return readFileSync(this.pathOf(hash));
  }

  remove(hash: string): void {
    rmSync(this.pathOf(hash), { force: true });
  }
}
