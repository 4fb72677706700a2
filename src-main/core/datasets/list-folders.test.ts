import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ApiError } from '@shared/errors';
import { tempDir } from '../testing';
import { listFolders } from './list-folders';

let dir: ReturnType<typeof tempDir>;

beforeEach(() => {
  dir = tempDir();
  const root = dir.path;
  for (const [folder, images] of [['cats', 3], ['dogs', 2], ['empty', 0]] as const) {
    mkdirSync(join(root, 'pets', folder), { recursive: true });
    for (let i = 0; i < images; i++) writeFileSync(join(root, 'pets', folder, `secret-name-${i}.png`), 'never read');
  }
  mkdirSync(join(root, 'pets', 'dogs', 'puppies'));
  writeFileSync(join(root, 'pets', 'dogs', 'notes.txt'), 'not an image');
  mkdirSync(join(root, 'pets', '.git'));
  writeFileSync(join(root, 'pets', 'top.JPG'), 'x');
});
afterEach(() => dir.cleanup());

describe('web folder browser listing', () => {
  it('lists subfolders by name with their image and folder counts, never a file name, hidden folders left out', async () => {
    const pets = join(dir.path, 'pets');
    const listing = await listFolders(pets);
    expect(listing).toEqual({
      path: pets,
      parent: dir.path,
      images: 1,
      truncated: false,
      folders: [
        { name: 'cats', path: join(pets, 'cats'), images: 3, folders: 0, partial: false },
        { name: 'dogs', path: join(pets, 'dogs'), images: 2, folders: 1, partial: false },
        { name: 'empty', path: join(pets, 'empty'), images: 0, folders: 0, partial: false },
      ],
    });
    expect(JSON.stringify(listing)).not.toMatch(/secret-name|notes\.txt|top\.JPG|never read/);
  });

  it('shows a link to a folder as a folder, and a FIFO is never opened (the listing does not block on it)', async () => {
    const pets = join(dir.path, 'pets');
    symlinkSync(join(pets, 'cats'), join(pets, 'kittens'));
    execFileSync('mkfifo', [join(pets, 'cats', 'pipe.png')]);
    const listing = await listFolders(pets);
    expect(listing.folders.map((f) => [f.name, f.images])).toEqual([
      ['cats', 3],
      ['dogs', 2],
      ['empty', 0],
      ['kittens', 3],
    ]);
  });

  it('reads a bounded number of entries: past the budget, folders are named without counts', async () => {
    const big = join(dir.path, 'big');
    mkdirSync(big);
    for (let i = 0; i < 30; i++) {
      mkdirSync(join(big, `f${String(i).padStart(2, '0')}`));
      for (let j = 0; j < 20; j++) writeFileSync(join(big, `f${String(i).padStart(2, '0')}`, `${j}.png`), '');
    }
    // 30 entries for the folder itself, then 20 per subfolder: the budget covers three and a half.
    const listing = await listFolders(big, 30 + 70);
    expect(listing.folders).toHaveLength(30);
    expect(listing.folders.slice(0, 3).map((f) => f.images)).toEqual([20, 20, 20]);
    expect(listing.folders[3]).toMatchObject({ images: 10, partial: true });
    expect(listing.folders.slice(4).every((f) => f.images === null && f.partial)).toBe(true);
    // And a cap on how many folders are listed.
    const capped = await listFolders(big, 10_000, 5);
    expect(capped.folders.map((f) => f.name)).toEqual(['f00', 'f01', 'f02', 'f03', 'f04']);
    expect(capped.truncated).toBe(true);
  });

  it('refuses a relative path, a file and a missing folder by name; the root has no parent', async () => {
    const refusal = async (path: string) => listFolders(path).then(() => null, (e: unknown) => e as ApiError);
    expect(await refusal('pets')).toMatchObject({ code: 'invalid_input', details: { field: 'path' } });
    expect((await refusal('pets'))?.message).toMatch(/absolute path/);
    expect(await refusal(join(dir.path, 'pets', 'top.JPG'))).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/^Not a folder/) });
    expect(await refusal(join(dir.path, 'nope'))).toMatchObject({ code: 'not_found' });
    expect((await listFolders('/', 2_000)).parent).toBeNull();
    // `..` is resolved, not trusted.
    expect((await listFolders(join(dir.path, 'pets', 'cats', '..'))).path).toBe(join(dir.path, 'pets'));
  });
});
