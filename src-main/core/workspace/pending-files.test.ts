import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../testing';
import { PendingFiles, siblingName } from './pending-files';

let dir: ReturnType<typeof tempDir>;
let pending: PendingFiles;
let folder: string;
beforeEach(() => {
  dir = tempDir();
  pending = new PendingFiles(join(dir.path, 'home', 'pending'));
  folder = join(dir.path, 'exports');
  mkdirSync(folder);
});
afterEach(() => dir.cleanup());

/** A record as a process that has died would have left it. */
function deadRecord(record: object): void {
  mkdirSync(pending.dir, { recursive: true });
  // pid 2^22 + 1 is above Linux's pid_max limit: no such process.
  writeFileSync(join(pending.dir, `${basename(String((record as { path: string }).path))}.json`), JSON.stringify({ pid: 4_194_305, started: 0, ...record }));
}

describe('pending files', () => {
  it('names hidden siblings and drops a record once its file is in place', () => {
    const target = join(folder, 'model.vaestudio');
    const temp = siblingName(target, 'tmp');
    expect(basename(temp)).toMatch(/^\.model\.vaestudio\.tmp-[0-9a-f]{8}$/);
    const drop = pending.record(temp, 'temp', target);
    expect(JSON.parse(readFileSync(join(pending.dir, readdirSync(pending.dir)[0]!), 'utf8'))).toMatchObject({ path: temp, pid: process.pid });
    writeFileSync(temp, 'x');
    // Its writer (this process) is alive: the sweep keeps both.
    expect(pending.sweep()).toEqual([]);
    expect(existsSync(temp)).toBe(true);
    drop();
    expect(readdirSync(pending.dir)).toEqual([]);
  });

  it("removes a dead writer's temp file, and puts a previous target back when nothing replaced it", () => {
    const temp = siblingName(join(folder, 'a.vaestudio'), 'tmp');
    writeFileSync(temp, 'torn');
    deadRecord({ path: temp, kind: 'temp', target: join(folder, 'a.vaestudio') });
    const target = join(folder, 'onnx-export');
    const old = siblingName(target, 'old');
    mkdirSync(old);
    writeFileSync(join(old, 'manifest.json'), '{}');
    deadRecord({ path: old, kind: 'previous', target });
    expect(pending.sweep().sort()).toEqual([target, temp].sort());
    expect(existsSync(temp)).toBe(false);
    expect(readFileSync(join(target, 'manifest.json'), 'utf8')).toBe('{}');
    expect(readdirSync(pending.dir)).toEqual([]);
  });

  it('never deletes a file the app did not name, whatever a record says', () => {
    const precious = join(folder, 'thesis.tex');
    writeFileSync(precious, 'chapter 1');
    deadRecord({ path: precious, kind: 'temp', target: precious });
    deadRecord({ path: 'relative/.x.tmp-00000000', kind: 'temp', target: 'x' });
    writeFileSync(join(pending.dir, 'torn.json'), '{"path": "/');
    pending.sweep();
    expect(readFileSync(precious, 'utf8')).toBe('chapter 1');
    expect(readdirSync(pending.dir)).toEqual([]);
  });
});
