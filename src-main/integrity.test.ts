// Faults beyond kill -9, through the built CLI and worker and real files: a disk full to
// the last byte, stored files damaged on disk, a read-only remount mid-training, a
// damaged database, a power cut. Each test says what must survive. Needs `npm run
// build` first and root for the mounts (CI has both). Summarized in docs/RELIABILITY.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statfsSync, statSync, symlinkSync, truncateSync, watch, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Core } from './core/core';
import { listCheckpoints } from './core/store/checkpoints';
import { getRun } from './core/store/runs';
import { tempDir, testCore, until, writeImageFolder } from './core/testing';
import { RESERVE_FILE } from './core/workspace/workspace';
import { appPaths } from './paths';
import { cliBin, requireBuiltApp, runCli, type CliResult } from './cli/testing';

let dir: ReturnType<typeof tempDir>;

interface Line {
  type: string;
  epoch?: number;
  error?: { code: string; message: string; details?: Record<string, unknown> };
  run?: { id: number; status: string; epochsDone: number; error: { message: string } | null };
  runs?: { id: number; status: string; epochsDone: number; error: { message: string } | null }[];
  path?: string;
}

const cli = (home: string, args: string[]): CliResult<Line> => runCli<Line>(home, args);
const last = (result: CliResult<Line>): Line => result.lines.at(-1)!;

function cliAsync(home: string, args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [cliBin, ...args, '--home', home, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

// Small and quick: many short epochs, so a fault lands mid-run.
const SMALL = ['--architecture', 'mlp', '--hidden', '32', '--latent', '4', '--batch', '16', '--seed', '5'];

function mountTmpfs(path: string, size: string): () => void {
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  return () => execFileSync('umount', ['-l', path]);
}

/** Fills the file system to the very last byte (until even a 1-byte write is refused). */
function fillToLastByte(filler: string): void {
  const fd = openSync(filler, 'a');
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

function storedRun(home: string, runId: number): { status: string; error: { message: string } | null; epochs: number[] } {
  const db = new Database(join(home, 'studio.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT status, error_json FROM runs WHERE id = ?').get(runId) as { status: string; error_json: string | null };
    const epochs = db.prepare(`SELECT epoch FROM metrics WHERE run_id = ? AND name = 'val_loss' ORDER BY step`).pluck().all(runId) as number[];
    return { status: row.status, error: row.error_json ? (JSON.parse(row.error_json) as { message: string }) : null, epochs };
  } finally {
    db.close();
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir('vae-integrity-');
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 40, { size: 16 });
});
afterAll(() => dir.cleanup());

function importShapes(home: string, name = 'shapes'): void {
  const imported = cli(home, ['import', join(dir.path, 'shapes'), '--size', '16', '--name', name]);
  expect(imported.status, imported.stderr).toBe(0);
}

describe('a disk full to the last byte', () => {
  it('through the CLI: the run ends failed, saying the disk is full, before and after a restart; Resume finishes it once there is space', async () => {
    const unmount = mountTmpfs(join(dir.path, 'full-cli'), '24m');
    try {
      const home = join(dir.path, 'full-cli', 'home');
      importShapes(home);
      const train = cliAsync(home, ['train', '--dataset', 'shapes', '--epochs', '15', ...SMALL]);
      await until(() => /"type":"epoch","runId":1,"epoch":2/.test(train.out()), 60_000, 'two epochs');
      const filler = join(dir.path, 'full-cli', 'filler');
      fillToLastByte(filler);
      expect(statfsSync(join(dir.path, 'full-cli')).bavail).toBe(0);
      expect(await train.exited).toBe(1);

      // Recorded on the full disk itself (the workspace's space reserve was given up for it).
      const stored = storedRun(home, 1);
      expect(stored.status).toBe('failed');
      expect(stored.error?.message).toMatch(/disk is full/);
      // After space is freed, a restart says the same, not "VAE Studio stopped".
      rmSync(filler);
      const listed = cli(home, ['runs']);
      expect(listed.status, listed.stderr).toBe(0);
      expect(last(listed).runs![0]).toMatchObject({ id: 1, status: 'failed' });
      expect(last(listed).runs![0]!.error!.message).toMatch(/disk is full/);
      expect(last(listed).runs![0]!.error!.message).not.toMatch(/VAE Studio stopped/);

      const resumed = cli(home, ['resume', '1']);
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(last(resumed).run).toMatchObject({ status: 'finished', epochsDone: 15 });
      expect(storedRun(home, 1).epochs).toEqual(range(1, 15));
      // The reserve is made again at the next start.
      expect(existsSync(join(home, RESERVE_FILE))).toBe(true);
    } finally {
      unmount();
    }
  });

  it('with no reserve left: the ending is kept in memory and shown, cancel and resume refuse honestly, and it is saved once space returns', async () => {
    const mount = join(dir.path, 'full-core');
    const unmount = mountTmpfs(mount, '24m');
    let core: Core | undefined;
    try {
      const home = join(mount, 'home');
      importShapes(home);
      core = testCore(home, { workerEntry: appPaths.workerEntry, maxConcurrentRuns: 1 });
      // As when the disk was already full when the app started: no reserve to give up.
      rmSync(join(home, RESERVE_FILE));
      const run = await core.call('runs.create', { projectId: 1, datasetId: 1, config: { epochs: 15, hidden: 32, latent: 4, batchSize: 16, seed: 5 } });
      await until(() => getRun(core!.workspace.db, run.id)!.epochsDone >= 2, 60_000, 'two epochs');
      const filler = join(mount, 'filler');
      fillToLastByte(filler);
      await core.runs.settled(run.id);

      // The database could not take the ending; the app shows it anyway.
      expect(getRun(core.workspace.db, run.id)!.status).toBe('running');
      const shown = await core.call('runs.get', { runId: run.id });
      expect(shown.status).toBe('failed');
      expect(shown.error?.message).toMatch(/disk is full/);
      expect((await core.call('runs.list', {}))[0]!.status).toBe('failed');
      // Cancel does not pretend; resume says why not yet.
      const cancel = await core.handle('runs.cancel', { runId: run.id });
      expect(cancel).toMatchObject({ ok: false, error: { code: 'conflict' } });
      expect(JSON.stringify(cancel)).toMatch(/already stopped \(failed\).*could not save how it ended.*disk is full.*Free some space/);
      const resume = await core.handle('runs.resume', { runId: run.id });
      expect(resume).toMatchObject({ ok: false, error: { code: 'io_error' } });
      expect(JSON.stringify(resume)).toMatch(/Run \d+ cannot be changed yet.*disk is full/);

      rmSync(filler);
      await until(() => getRun(core!.workspace.db, run.id)!.status === 'failed', 10_000, 'the ending saved once space returned');
      expect(getRun(core.workspace.db, run.id)!.error?.message).toMatch(/disk is full/);
      await core.close();
      core = testCore(home, { workerEntry: appPaths.workerEntry, maxConcurrentRuns: 1 });
      expect((await core.call('runs.get', { runId: run.id })).error?.message).toMatch(/disk is full/);
      await core.call('runs.resume', { runId: run.id });
      await until(() => getRun(core!.workspace.db, run.id)!.status === 'finished', 60_000, 'finished after resume');
      expect(storedRun(home, run.id).epochs).toEqual(range(1, 15));
    } finally {
      await core?.close();
      unmount();
    }
  });
});

/** Flips `count` bytes in the middle of a file (what a failing disk or a stray write does). */
function flipBytes(path: string, count = 64): void {
  const bytes = readFileSync(path);
  const at = Math.floor(bytes.length / 2);
  for (let i = 0; i < count; i++) bytes[at + i]! ^= 0xa5;
  writeFileSync(path, bytes);
}

function blobPath(home: string, sql: string): string {
  const db = new Database(join(home, 'studio.db'), { readonly: true });
  try {
    const hash = db.prepare(sql).pluck().get() as string;
    return join(home, 'blobs', hash.slice(0, 2), hash);
  } finally {
    db.close();
  }
}

describe('a stored file damaged on disk', () => {
  it('a dataset with 64 flipped bytes is never trained on or exported; the message names the dataset and says to re-import it', () => {
    const home = join(dir.path, 'flipped');
    importShapes(home);
    const trained = cli(home, ['train', '--dataset', 'shapes', '--epochs', '2', ...SMALL]);
    expect(trained.status, trained.stderr).toBe(0);
    flipBytes(blobPath(home, 'SELECT blob_hash FROM datasets WHERE id = 1'));

    const again = cli(home, ['train', '--dataset', 'shapes', '--epochs', '2', ...SMALL]);
    expect(again.status).toBe(1);
    const refused = last(again).run!;
    expect(refused).toMatchObject({ id: 2, status: 'failed', epochsDone: 0 });
    expect(refused.error!.message).toMatch(
      new RegExp(`Run 2 did not train: The dataset "shapes" \\(#1\\) is damaged: .*Re-import it from ${join(dir.path, 'shapes').replace(/[/]/g, '\\/')}`),
    );
    expect(storedRun(home, 2).epochs).toEqual([]);

    // Export reads the held-out images from the same file.
    const exported = cli(home, ['export', '1', join(dir.path, 'flipped-model')]);
    expect(exported.status).toBe(1);
    expect(last(exported).error!.message).toMatch(/The dataset "shapes" \(#1\) is damaged.*Re-import it/);
    expect(existsSync(join(dir.path, 'flipped-model.vaestudio'))).toBe(false);

    // Re-importing brings a good copy; training on it works, run 1 kept its results.
    importShapes(home, 'shapes again');
    const fresh = cli(home, ['train', '--dataset', 'shapes again', '--epochs', '1', ...SMALL]);
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(storedRun(home, 1).epochs).toEqual([1, 2]);
  });

  it('a damaged checkpoint is refused on resume and export, naming the run', () => {
    const home = join(dir.path, 'flipped-ckpt');
    importShapes(home);
    const train = cliAsync(home, ['train', '--dataset', 'shapes', '--epochs', '200', ...SMALL]);
    return (async () => {
      await until(() => /"type":"epoch","runId":1,"epoch":3/.test(train.out()), 60_000, 'three epochs');
      train.child.kill('SIGINT');
      await train.exited;
      expect(storedRun(home, 1).status).toBe('cancelled');
      const checkpoint = blobPath(home, `SELECT blob_hash FROM checkpoints WHERE run_id = 1 AND kind = 'last'`);
      flipBytes(checkpoint);

      const resumed = cli(home, ['resume', '1']);
      expect(resumed.status).toBe(1);
      expect(last(resumed).run!.error!.message).toMatch(/Run 1 could not resume: its last saved checkpoint could not be used \(.*hash.*\)\. Its metrics, images and other checkpoints are kept/);
      const exported = cli(home, ['export', '1', join(dir.path, 'ckpt-model'), '--checkpoint', 'last']);
      expect(exported.status).toBe(1);
      expect(last(exported).error!.message).toMatch(/The saved model of run 1 \(its (best and last|last) checkpoint, epoch \d+\) is damaged.*train the run again/);
    })();
  });
});

describe('a damaged database', () => {
  it('a truncated studio.db is refused naming the newest good backup; restore-db puts it back and keeps the damaged file', async () => {
    const home = join(dir.path, 'truncated');
    importShapes(home);
    // The first session's end makes the daily backup; it holds the dataset.
    const backups = readdirSync(join(home, 'backups'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^studio-.*-daily\.db$/);
    const trained = cli(home, ['train', '--dataset', 'shapes', '--epochs', '1', ...SMALL]);
    expect(trained.status, trained.stderr).toBe(0);

    const file = join(home, 'studio.db');
    const size = statSync(file).size;
    truncateSync(file, Math.floor(size / 2));
    const refused = cli(home, ['runs']);
    expect(refused.status).toBe(1);
    const error = last(refused).error!;
    expect(error.code).toBe('io_error');
    expect(error.message).toMatch(new RegExp(`The workspace database ${file.replace(/[/.]/g, '\\$&')} is damaged \\(.+\\)\\. Nothing was changed\\.`));
    expect(error.message).toMatch(/Restore the latest good backup, .*backups\/studio-.*-daily\.db \(taken .*\), with: vae-studio restore-db --home/);
    // Refusing changed nothing: the damaged file is as it was.
    expect(statSync(file).size).toBe(Math.floor(size / 2));

    const restored = cli(home, ['restore-db']);
    expect(restored.status, restored.stderr).toBe(0);
    expect(last(restored)).toMatchObject({ type: 'result', command: 'restore-db' });
    const aside = readdirSync(home).filter((name) => name.startsWith('studio.db.damaged-'));
    expect(aside.length).toBeGreaterThanOrEqual(1);
    expect(statSync(join(home, aside.find((n) => !/-(wal|shm)\./.test(n)) ?? aside[0]!)).size).toBe(Math.floor(size / 2));

    // The backup was taken before the run: the dataset is back, the workspace works again.
    const listed = cli(home, ['runs']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(last(listed).runs).toEqual([]);
    const again = cli(home, ['train', '--dataset', 'shapes', '--epochs', '1', ...SMALL]);
    expect(again.status, JSON.stringify(again.lines.at(-1)) + again.stderr).toBe(0);

    // A file that is not a database is refused as a source.
    const bogus = join(dir.path, 'bogus.db');
    writeFileSync(bogus, 'not a database');
    const wrong = cli(home, ['restore-db', '--from', bogus]);
    expect(wrong.status).toBe(1);
    expect(last(wrong).error!.message).toMatch(/bogus\.db is not a whole VAE Studio database .*nothing was changed/);
  });
});

/** `mount -o remount,<mode>`, retried while a file on it is open for writing (EBUSY). */
async function remount(path: string, mode: 'ro' | 'rw'): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      execFileSync('mount', ['-o', `remount,${mode}`, path], { stdio: 'pipe' });
      return;
    } catch (error) {
      if (Date.now() - started > 10_000) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

describe('the workspace turns read-only mid-training', () => {
  it('the run fails saying so, finished epochs and checkpoints stay, and Resume finishes it once the disk is writable again', async () => {
    // Linux refuses to remount a file system read-only while a file on it is open for
    // writing, which the database always is: it lives on another disk, linked in.
    const mount = join(dir.path, 'ro-disk');
    const unmount = mountTmpfs(mount, '64m');
    const dbDir = join(dir.path, 'ro-db');
    mkdirSync(dbDir);
    let core: Core | undefined;
    try {
      const home = join(mount, 'home');
      mkdirSync(home);
      symlinkSync(join(dbDir, 'studio.db'), join(home, 'studio.db'));
      importShapes(home);
      core = testCore(home, { workerEntry: appPaths.workerEntry, maxConcurrentRuns: 1 });
      const run = await core.call('runs.create', { projectId: 1, datasetId: 1, config: { epochs: 15, hidden: 32, latent: 4, batchSize: 16, seed: 5 } });
      await until(() => listCheckpoints(core!.workspace.db, run.id).some((c) => c.epoch >= 2), 60_000, 'a checkpoint of epoch 2');
      await remount(mount, 'ro');
      await core.runs.settled(run.id);

      const failed = getRun(core.workspace.db, run.id)!;
      expect(failed.status).toBe('failed');
      expect(failed.error?.code, failed.error?.message).toBe('io_error');
      expect(failed.error?.message).toMatch(/read-only|cannot be written/);
      expect(failed.error?.message).toMatch(/resume/);
      const kept = listCheckpoints(core.workspace.db, run.id).find((c) => c.kind === 'last')!;
      expect(kept.epoch).toBeGreaterThanOrEqual(2);
      expect(core.workspace.blobs.read(kept.blob_hash).length).toBe(kept.bytes);
      expect(storedRun(home, run.id).epochs.length).toBeGreaterThanOrEqual(kept.epoch);

      await remount(mount, 'rw');
      await core.call('runs.resume', { runId: run.id });
      await until(() => getRun(core!.workspace.db, run.id)!.status === 'finished', 60_000, 'finished after resume');
      expect(storedRun(home, run.id).epochs).toEqual(range(1, 15));
    } finally {
      await core?.close();
      try {
        execFileSync('mount', ['-o', 'remount,rw', mount], { stdio: 'pipe' });
      } catch {
        // already writable
      }
      unmount();
    }
  });
});

describe('a power cut', () => {
  it('while a checkpoint is between write and rename: app and worker die at once, the unsynced file is torn; the restart keeps every finished epoch and Resume completes the run', async () => {
    const home = join(dir.path, 'power-cut');
    importShapes(home);
    // Its own process group: one SIGKILL takes the app and its worker at the same instant.
    const app = spawn(process.execPath, [cliBin, 'train', '--dataset', 'shapes', '--epochs', '4', '--architecture', 'mlp', '--hidden', '512', '--latent', '4', '--batch', '16', '--seed', '5', '--home', home, '--json'], {
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise((resolve) => app.on('exit', resolve));
    const runDir = join(home, 'runs', '1');
    await until(() => existsSync(runDir), 60_000, 'the run folder');
    let torn = '';
    const watcher = watch(runDir, (_event, name) => {
      if (torn || !name || !/^epoch-2\.vaeckpt\.tmp-\d+$/.test(name)) return;
      process.kill(-app.pid!, 'SIGKILL');
      torn = name;
    });
    try {
      await exited;
    } finally {
      watcher.close();
    }
    expect(torn, 'the power was cut while epoch 2 was written').toMatch(/^epoch-2/);
    // What the page cache held and the disk did not: the unsynced file is cut short.
    if (existsSync(join(runDir, torn))) truncateSync(join(runDir, torn), Math.floor(statSync(join(runDir, torn)).size / 3));

    const listed = cli(home, ['runs']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(last(listed).runs![0]).toMatchObject({ id: 1, status: 'interrupted' });
    expect(existsSync(runDir)).toBe(false);
    const db = new Database(join(home, 'studio.db'), { readonly: true });
    const lastCheckpoint = db.prepare(`SELECT epoch FROM checkpoints WHERE run_id = 1 AND kind = 'last'`).pluck().get() as number;
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    expect(lastCheckpoint).toBe(1);

    const resumed = cli(home, ['resume', '1']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(last(resumed).run).toMatchObject({ status: 'finished', epochsDone: 4 });
    expect(storedRun(home, 1).epochs).toEqual(range(1, 4));
  });
});
