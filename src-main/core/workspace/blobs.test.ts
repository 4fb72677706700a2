import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing';
import { BlobStore } from './blobs';

let dir: ReturnType<typeof tempDir>;
let store: BlobStore;
beforeEach(() => {
  dir = tempDir();
  store = new BlobStore(join(dir.path, 'blobs'));
});
afterEach(() => dir.cleanup());

const bytes = new TextEncoder().encode('pixels of a checkpoint');
const hash = BlobStore.hash(bytes);
const temps = (): string[] => readdirSync(join(store.dir, 'tmp'));

describe('moving finished files into the blob store', () => {
  it('putFile stores a temp file under its content hash, and a second copy of the same content only removes its temp', async () => {
    expect(await store.putFile(store.writeTemp(bytes))).toBe(hash);
    expect(readFileSync(store.pathOf(hash))).toEqual(Buffer.from(bytes));
    expect(await store.putFile(store.writeTemp(bytes))).toBe(hash);
    expect(temps()).toEqual([]);
    expect(readdirSync(join(store.dir, hash.slice(0, 2)))).toEqual([hash]);
  });

  it('putFile and moveIn replace a damaged copy under the hash with the intact one', async () => {
    store.put(bytes);
    writeFileSync(store.pathOf(hash), 'damaged on disk');
    expect(await store.putFile(store.writeTemp(bytes))).toBe(hash);
    expect(readFileSync(store.pathOf(hash))).toEqual(Buffer.from(bytes));
    writeFileSync(store.pathOf(hash), 'damaged again');
    const temp = store.writeTemp(bytes);
    store.moveIn(temp, hash);
    expect(readFileSync(store.pathOf(hash))).toEqual(Buffer.from(bytes));
    expect(existsSync(temp)).toBe(false);
    expect(temps()).toEqual([]);
  });
});
