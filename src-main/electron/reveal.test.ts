// "Show in folder" in the desktop app: the renderer names an image by dataset and index,
// the core resolves the file the user imported, and Electron's shell reveals it. Checked
// with a real core and real files, the shell replaced by a recorder.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../core/core';
import { datasetIndexHash } from '../core/store/datasets';
import { tempDir, testCore, writeImageFolder } from '../core/testing';
import { revealImage } from './reveal';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let datasetId: number;

beforeAll(async () => {
  dir = tempDir();
  await writeImageFolder(join(dir.path, 'set'), ['a', 'b'], 4, { size: 8 });
  core = testCore(join(dir.path, 'home'));
  const project = await core.call('projects.create', { name: 'p' });
  datasetId = (await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'set'), size: 8 })).id;
});
afterAll(async () => {
  await core.close();
  dir.cleanup();
});

describe('Show in folder (Electron adapter)', () => {
  it('reveals the imported file itself, by dataset and index', () => {
    const shown: string[] = [];
    expect(revealImage(core, { showItemInFolder: (p) => shown.push(p) }, datasetId, 0)).toEqual({ ok: true });
    expect(shown).toHaveLength(1);
    expect(shown[0]!.startsWith(join(dir.path, 'set'))).toBe(true);
    expect(shown[0]).toMatch(/\.png$/);
  });

  it('refuses bad arguments, an index past the end, a file gone, and a recorded path outside the folder, revealing nothing', () => {
    const shown: string[] = [];
    const shell = { showItemInFolder: (p: string) => shown.push(p) };
    expect(revealImage(core, shell, datasetId, '../../etc/passwd')).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(revealImage(core, shell, datasetId, 99)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/has no image 99 \(it has 8\)/) } });
    const path = core.importedImagePath(datasetId, 1);
    rmSync(path);
    expect(revealImage(core, shell, datasetId, 1)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/is no longer there/) } });
    // A tampered index pointing outside the dataset's folder (a file that does exist).
    const { db, blobs } = core.workspace;
    mkdirSync(join(dir.path, 'secret'), { recursive: true });
    writeFileSync(join(dir.path, 'secret', 'key.png'), 'x');
    const hash = blobs.put(Buffer.from(JSON.stringify([{ path: '../secret/key.png', size: 1, mtimeMs: 0, hash: 'x' }])));
    const before = datasetIndexHash(db, datasetId);
    db.prepare('UPDATE datasets SET index_hash = ? WHERE id = ?').run(hash, datasetId);
    expect(revealImage(core, shell, datasetId, 0)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/outside the dataset's folder/) } });
    db.prepare('UPDATE datasets SET index_hash = ? WHERE id = ?').run(before, datasetId);
    expect(shown).toEqual([]);
  });
});
