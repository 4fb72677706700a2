// `vae-studio import` on split folders and a one-image folder, through the built CLI and
// its real import child process. Needs `npm run build` first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Dataset } from '@shared/types';
import { tempDir, writeImageFolder } from '../core/testing';
import { cliBin, requireBuiltApp, runCli } from './testing';

let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  // train/left, train/right and test/left, test/right; the test images use other label
  // codes in their pixels (writeImageFolder's), so none duplicates a training image.
  await writeImageFolder(join(dir.path, 'split', 'train'), ['left', 'right'], 12, { size: 16 });
  await writeImageFolder(join(dir.path, 'split', 'TEST'), ['x', 'y', 'left', 'right'], 3, { size: 16 });
  spawnSync('rm', ['-r', join(dir.path, 'split', 'TEST', 'x'), join(dir.path, 'split', 'TEST', 'y')]);
  await writeImageFolder(join(dir.path, 'one'), ['only'], 1, { size: 8 });
});
afterAll(() => dir.cleanup());

describe('vae-studio import: layouts and warnings', () => {
  it('detects split folders, prints the layout and the warnings, and obeys --layout', () => {
    const home = join(dir.path, 'home');
    const json = runCli<{ type: string; dataset?: Dataset }>(home, ['import', join(dir.path, 'split'), '--size', '16', '--name', 'split']);
    expect(json.status, json.stderr).toBe(0);
    const dataset = json.lines.at(-1)!.dataset!;
    expect(dataset.labels).toEqual(['left', 'right']);
    expect(dataset.splitCounts.test).toBe(6);
    expect(dataset.splitCounts.train + dataset.splitCounts.validation).toBe(24);
    expect(dataset.stats.layout).toMatchObject({ kind: 'split', detected: true, splitFolders: { test: ['TEST'], train: ['train'] } });

    const human = spawnSync(process.execPath, [cliBin, 'import', join(dir.path, 'split'), '--size', '16', '--name', 'as-classes', '--layout', 'classes', '--home', home], { encoding: 'utf8' });
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/2 labels/);
    expect(human.stdout).toContain('Class folders (chosen): labels from the subfolders, split drawn at random (10 % validation, 10 % test).');

    const bad = runCli(home, ['import', join(dir.path, 'split'), '--layout', 'nested']);
    expect(bad.status).toBe(1);
    expect(bad.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'layout' } } });
  });

  it('imports a one-image folder with its warnings printed, not refused', () => {
    const out = spawnSync(process.execPath, [cliBin, 'import', join(dir.path, 'one'), '--size', '28', '--home', join(dir.path, 'home-one')], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain('Imported 1 images');
    expect(out.stdout).toContain('Class folders (detected): labels from the subfolders, split drawn at random (10 % validation, 10 % test).');
    expect(out.stdout).toMatch(/warning: Only 1 training image, fewer than one batch of 64/);
    expect(out.stdout).toContain('warning: No validation images');
    expect(out.stdout).toContain('warning: No test images');
    expect(out.stdout).toContain('warning: 1 of 1 originals are smaller than 28 px');
    expect(out.stdout).toContain('warning: One class has fewer than 5 images: "only" (1).');
  });
});
