// End-to-end through the real CLI, the built worker and a real SQLite file.
// Needs `npm run build` first (the test script runs it before the unit tests).
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir, until, writeImageFolder } from '../core/testing';
import { cliBin, requireBuiltApp, runCli, type CliResult } from './testing';

const bin = cliBin;
let dir: ReturnType<typeof tempDir>;

const cli = (args: string[]): CliResult => runCli(join(dir.path, 'home'), args);

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 40, { size: 16 });
});
afterAll(() => dir.cleanup());

describe('vae-studio CLI', () => {
  it('imports a folder, trains in a worker process and lists the run, as JSON lines', () => {
    const imported = cli(['import', join(dir.path, 'shapes'), '--size', '16', '--name', 'shapes']);
    expect(imported.status, imported.stderr).toBe(0);
    const importResult = imported.lines.at(-1)!;
    expect(importResult).toMatchObject({ type: 'result', command: 'import', dataset: { count: 80, labels: ['left', 'right'] } });
    expect(imported.lines.some((l) => l.type === 'progress')).toBe(true);

    const trained = cli(['train', '--dataset', 'shapes', '--epochs', '2', '--batch', '16', '--latent', '4', '--hidden', '32', '--seed', '3']);
    expect(trained.status, trained.stderr).toBe(0);
    const result = trained.lines.at(-1) as { type: string; run: { id: number; status: string; backend: string; summary: Record<string, number>; epochsDone: number } };
    expect(result.type).toBe('result');
    expect(result.run.status).toBe('finished');
    expect(result.run.epochsDone).toBe(2);
    expect(result.run.backend).toBeTruthy();
    expect(Number.isFinite(result.run.summary.val_loss)).toBe(true);
    expect(trained.lines.filter((l) => l.type === 'epoch')).toHaveLength(2);

    const runs = cli(['runs']);
    expect(runs.lines.at(-1)).toMatchObject({ type: 'result', command: 'runs', runs: [{ id: result.run.id, status: 'finished' }] });

    const db = new Database(join(dir.path, 'home', 'studio.db'), { readonly: true });
    const losses = db.prepare(`SELECT COUNT(*) FROM metrics WHERE run_id = ? AND name = 'loss'`).pluck().get(result.run.id) as number;
    const artifacts = db.prepare(`SELECT kind FROM artifacts WHERE run_id = ?`).pluck().all(result.run.id);
    db.close();
    expect(losses).toBeGreaterThanOrEqual(8); // 72 training images / batch 16 → 5 steps × 2 epochs
    expect(artifacts).toEqual(expect.arrayContaining(['reconstructions', 'samples']));
  });

  it('reports a bad flag as a typed error naming it, writing nothing', () => {
    const bad = cli(['train', '--dataset', 'shapes', '--latent', 'lots']);
    expect(bad.status).toBe(1);
    expect(bad.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'latent' } } });
    const zero = cli(['train', '--dataset', 'shapes', '--latent', '0']);
    expect(zero.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'config.latent' } } });
    const runs = cli(['runs']);
    expect((runs.lines.at(-1) as { runs: unknown[] }).runs).toHaveLength(1);
  });

  it('marks a run whose worker is killed with SIGKILL mid-training and keeps the database consistent', async () => {
    const home = join(dir.path, 'home');
    const child = spawn(process.execPath, [bin, 'train', '--dataset', 'shapes', '--epochs', '200', '--batch', '8', '--home', home, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await until(() => /"type":"progress"/.test(out), 60_000, 'training progress');
    const db = new Database(join(home, 'studio.db'), { readonly: true });
    const row = db.prepare(`SELECT id, worker_pid FROM runs WHERE status = 'running'`).get() as { id: number; worker_pid: number };
    expect(row.worker_pid).toBeGreaterThan(0);
    process.kill(row.worker_pid, 'SIGKILL');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    const final = db.prepare('SELECT status, error_json FROM runs WHERE id = ?').get(row.id) as { status: string; error_json: string };
    expect(final.status).toBe('killed');
    expect(JSON.parse(final.error_json).message).toMatch(/killed/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('refuses a second writer while a server holds the workspace, but still lists runs', async () => {
    const home = join(dir.path, 'home');
    const server = spawn(process.execPath, [bin, 'serve', '--home', home, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      server.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await until(() => out.includes('"listening"'), 30_000, 'server listening');
      const train = cli(['train', '--dataset', 'shapes']);
      expect(train.status).toBe(1);
      expect(train.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'conflict', details: { field: 'home' } } });
      expect(JSON.stringify(train.lines.at(-1))).toMatch(/in use by another VAE Studio \(web server, pid \d+/);
      const runs = cli(['runs']);
      expect(runs.status).toBe(0);
      expect((runs.lines.at(-1) as { runs: unknown[] }).runs.length).toBeGreaterThan(0);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.on('exit', resolve));
    }
  });

  it('resumes a killed run from its last checkpoint and finishes it', async () => {
    const home = join(dir.path, 'home-resume');
    const importer = spawnSync(process.execPath, [bin, 'import', join(dir.path, 'shapes'), '--size', '16', '--name', 'shapes', '--home', home, '--json'], { encoding: 'utf8' });
    expect(importer.status, importer.stderr).toBe(0);
    const child = spawn(process.execPath, [bin, 'train', '--dataset', 'shapes', '--epochs', '40', '--batch', '8', '--home', home, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await until(() => /"type":"epoch","runId":\d+,"epoch":2/.test(out), 90_000, 'two finished epochs');
    const db = new Database(join(home, 'studio.db'), { readonly: true });
    const row = db.prepare(`SELECT id, worker_pid FROM runs WHERE status = 'running'`).get() as { id: number; worker_pid: number };
    process.kill(row.worker_pid, 'SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const checkpoints = db.prepare('SELECT COUNT(*) FROM checkpoints WHERE run_id = ?').pluck().get(row.id) as number;
    db.close();
    expect(checkpoints).toBeGreaterThan(0);

    const resumed = spawnSync(process.execPath, [bin, 'resume', String(row.id), '--home', home, '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(resumed.status, resumed.stderr).toBe(0);
    const lines = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; epoch?: number; run?: { status: string; epochsDone: number } });
    const epochs = lines.filter((l) => l.type === 'epoch').map((l) => l.epoch!);
    // It continues after the checkpointed epochs instead of starting over.
    expect(Math.min(...epochs)).toBeGreaterThan(1);
    expect(lines.at(-1)).toMatchObject({ type: 'result', command: 'resume', run: { status: 'finished', epochsDone: 40 } });
  });

  it('after the app itself is killed with SIGKILL, its worker goes away and the run shows as interrupted', async () => {
    const home = join(dir.path, 'home-app-kill');
    expect(spawnSync(process.execPath, [bin, 'import', join(dir.path, 'shapes'), '--size', '16', '--name', 'shapes', '--home', home], { encoding: 'utf8' }).status).toBe(0);
    const app = spawn(process.execPath, [bin, 'train', '--dataset', 'shapes', '--epochs', '200', '--batch', '8', '--home', home, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    app.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await until(() => /"type":"epoch"/.test(out), 90_000, 'an epoch');
    const db = new Database(join(home, 'studio.db'), { readonly: true });
    const row = db.prepare(`SELECT id, worker_pid FROM runs WHERE status = 'running'`).get() as { id: number; worker_pid: number };
    db.close();
    app.kill('SIGKILL');
    await new Promise((resolve) => app.on('exit', resolve));
    // The orphaned worker notices its parent is gone and stops training for nobody.
    await until(() => {
      try {
        process.kill(row.worker_pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 15_000, 'the orphaned worker to exit');
    const runs = spawnSync(process.execPath, [bin, 'runs', '--home', home, '--json'], { encoding: 'utf8' });
    const listed = (JSON.parse(runs.stdout.trim().split('\n').at(-1)!) as { runs: { id: number; status: string; error: { message: string } }[] }).runs.find((r) => r.id === row.id)!;
    expect(listed.status).toBe('interrupted');
    expect(listed.error.message).toMatch(/stopped while this run was training/);
  });

  it('a full disk during an import gives a clear error, leaves no half-written file and keeps earlier data', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdirSync, readdirSync } = await import('node:fs');
    const mount = join(dir.path, 'small-disk');
    mkdirSync(mount);
    // A 1 MiB file system: room for the database, not for a big dataset (needs root, as CI has).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
    try {
      const home = join(mount, 'home');
      const small = spawnSync(process.execPath, [bin, 'import', join(dir.path, 'shapes'), '--size', '16', '--name', 'small', '--home', home, '--json'], { encoding: 'utf8' });
      expect(small.status, small.stderr).toBe(0);
      await writeImageFolder(join(dir.path, 'big'), ['a', 'b'], 300, { size: 64 });
      const big = spawnSync(process.execPath, [bin, 'import', join(dir.path, 'big'), '--size', '64', '--channels', '3', '--name', 'big', '--home', home, '--json'], { encoding: 'utf8' });
      expect(big.status).toBe(1);
      const last = JSON.parse(big.stdout.trim().split('\n').at(-1)!) as { type: string; error: { code: string; message: string } };
      expect(last).toMatchObject({ type: 'error', error: { code: 'io_error' } });
      expect(last.error.message).toMatch(/disk is full.*Nothing was saved/);
      expect(readdirSync(join(home, 'blobs', 'tmp'))).toEqual([]);
      const runs = spawnSync(process.execPath, [bin, 'runs', '--home', home, '--json'], { encoding: 'utf8' });
      expect(runs.status).toBe(0);
      const db = new Database(join(home, 'studio.db'), { readonly: true });
      expect(db.prepare('SELECT name FROM datasets').pluck().all()).toEqual(['small']);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    } finally {
      execFileSync('umount', ['-l', mount]);
    }
  });
});
