// Fault injection through the real CLI, the built worker and import child, and a real
// SQLite file: kill -9 at the worst moments, a disk that fills up mid-run. Each test
// says what must survive. Needs `npm run build` first and root for the tmpfs mount
// (CI has both). Results are summarized in docs/RELIABILITY.md.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, watch, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { alive, childrenOf, tempDir, until, writeImageFolder } from './core/testing';
import { verifiedCheckpointHeader } from './core/jobs/orphan-checkpoints';
import { appPaths } from './paths';
import { runCli, type CliResult } from './cli/testing';

const bin = join(appPaths.root, 'bin', 'vae-studio.mjs');
let dir: ReturnType<typeof tempDir>;

interface Line {
  type: string;
  epoch?: number;
  error?: { code: string; message: string };
  run?: { id: number; status: string; epochsDone: number; error: { message: string } | null };
  runs?: { id: number; status: string; error: { message: string } | null }[];
}

const cli = (home: string, args: string[]): CliResult<Line> => runCli<Line>(home, args);

function cliAsync(home: string, args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, ...args, '--home', home, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}



interface CheckpointRow {
  kind: string;
  epoch: number;
  step: number;
  blob_hash: string;
}

/** Every checkpoint the database points at exists, has the content its name says, and is whole. */
function checkpointsOf(home: string, runId: number): CheckpointRow[] {
  const db = new Database(join(home, 'studio.db'), { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const rows = db.prepare('SELECT kind, epoch, step, blob_hash FROM checkpoints WHERE run_id = ? ORDER BY kind').all(runId) as CheckpointRow[];
    for (const row of rows) {
      const bytes = readFileSync(join(home, 'blobs', row.blob_hash.slice(0, 2), row.blob_hash));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(row.blob_hash);
      expect(verifiedCheckpointHeader(bytes)).toMatchObject({ epoch: row.epoch, step: row.step });
    }
    return rows;
  } finally {
    db.close();
  }
}

function valLossEpochs(home: string, runId: number): number[] {
  const db = new Database(join(home, 'studio.db'), { readonly: true });
  try {
    return db.prepare(`SELECT epoch FROM metrics WHERE run_id = ? AND name = 'val_loss' ORDER BY step`).pluck().all(runId) as number[];
  } finally {
    db.close();
  }
}

const freeBytes = (mount: string): number => statfsSync(mount).bavail * statfsSync(mount).bsize;

/** Writes `filler` until `leave` bytes are free (a training worker may be writing beside it). */
function fillDisk(mount: string, filler: string, leave: number): void {
  const fd = openSync(filler, 'w');
  try {
    for (let i = 0; i < 1000 && freeBytes(mount) > leave + 64 * 1024; i++) {
      const chunk = Math.min(4 * 1024 * 1024, freeBytes(mount) - leave);
      try {
        writeSync(fd, Buffer.alloc(chunk));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function importShapes(home: string): void {
  const imported = cli(home, ['import', join(dir.path, 'shapes'), '--size', '16', '--name', 'shapes']);
  expect(imported.status, imported.stderr).toBe(0);
}

// A model whose checkpoint is about 9 MB (0.8 M parameters, Adam's two moments), so
// writing one takes long enough to be interrupted and a nearly full disk refuses it.
const BIG_CHECKPOINT = ['--architecture', 'mlp', '--hidden', '512', '--latent', '4', '--batch', '16', '--seed', '5'];

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir('vae-reliability-');
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 40, { size: 16 });
});
afterAll(() => dir.cleanup());

describe('kill -9', () => {
  it('of the worker while it writes a checkpoint: the torn file is never trusted, the previous checkpoint resumes the run', async () => {
    const home = join(dir.path, 'ckpt-kill');
    importShapes(home);
    const train = cliAsync(home, ['train', '--dataset', 'shapes', '--epochs', '6', ...BIG_CHECKPOINT]);
    const runDir = join(home, 'runs', '1');
    await until(() => existsSync(runDir), 60_000, 'the run folder');
    let workerPid = 0;
    let tornFile = '';
    let tornExisted = false;
    const watcher = watch(runDir, (_event, name) => {
      // Epoch 2's checkpoint is being written: its temporary file has appeared.
      if (tornFile || !name || !/^epoch-2\.vaeckpt\.tmp-(\d+)$/.test(name)) return;
      workerPid = Number(/tmp-(\d+)$/.exec(name)![1]);
      process.kill(workerPid, 'SIGKILL');
      tornFile = name;
      tornExisted = existsSync(join(runDir, name));
    });
    try {
      expect(await train.exited).toBe(1);
    } finally {
      watcher.close();
    }
    expect(tornFile, 'the worker was killed while writing epoch 2').toMatch(/^epoch-2/);
    expect(tornExisted).toBe(true);
    const runs = cli(home, ['runs']).lines.at(-1)!.runs!;
    expect(runs[0]).toMatchObject({ id: 1, status: 'killed' });
    // Only epoch 1's checkpoint, verified; the scratch folder with the torn file is gone.
    expect(checkpointsOf(home, 1).map((r) => [r.kind, r.epoch])).toEqual([
      ['best', 1],
      ['last', 1],
    ]);
    expect(existsSync(runDir)).toBe(false);
    expect(readdirSync(join(home, 'blobs', 'tmp'))).toEqual([]);

    const resumed = cli(home, ['resume', '1']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(Math.min(...resumed.lines.filter((l) => l.type === 'epoch').map((l) => l.epoch!))).toBe(2);
    expect(resumed.lines.at(-1)!.run).toMatchObject({ status: 'finished', epochsDone: 6 });
    expect(valLossEpochs(home, 1)).toEqual(range(1, 6));
    expect(checkpointsOf(home, 1).find((r) => r.kind === 'last')!.epoch).toBe(6);
  });

  it('of the app mid-training: on restart the run is interrupted, finished epochs keep metrics and checkpoint, Resume completes it', async () => {
    const home = join(dir.path, 'app-kill');
    importShapes(home);
    const app = cliAsync(home, ['train', '--dataset', 'shapes', '--epochs', '8', ...BIG_CHECKPOINT]);
    await until(() => /"type":"epoch","runId":1,"epoch":3/.test(app.out()), 90_000, 'three finished epochs');
    const workers = childrenOf(app.child.pid!);
    app.child.kill('SIGKILL');
    await app.exited;
    // The orphaned worker notices its parent is gone and stops training for nobody.
    await until(() => workers.every((pid) => !alive(pid)), 15_000, 'the orphaned worker to exit');

    const listed = cli(home, ['runs']);
    expect(listed.status, listed.stderr).toBe(0);
    const run = listed.lines.at(-1)!.runs![0]!;
    expect(run.status).toBe('interrupted');
    expect(run.error?.message).toMatch(/stopped while this run was training/);
    const before = valLossEpochs(home, 1);
    expect(before.length).toBeGreaterThanOrEqual(3);
    const last = checkpointsOf(home, 1).find((r) => r.kind === 'last')!;
    // The last checkpoint is the last finished epoch, or the one before if the app died between the two.
    expect(last.epoch).toBeGreaterThanOrEqual(before.length - 1);

    const resumed = cli(home, ['resume', '1']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(Math.min(...resumed.lines.filter((l) => l.type === 'epoch').map((l) => l.epoch!))).toBe(last.epoch + 1);
    expect(resumed.lines.at(-1)!.run).toMatchObject({ status: 'finished', epochsDone: 8 });
    // Every epoch once, none lost, none doubled.
    expect(valLossEpochs(home, 1)).toEqual(range(1, 8));
  });

  it('of the import child, and of the app during an import: nothing is saved, no half file stays, the next import works', async () => {
    const home = join(dir.path, 'import-kill');
    await writeImageFolder(join(dir.path, 'many'), ['a', 'b', 'c'], 250, { size: 64 });
    importShapes(home);

    const importing = cliAsync(home, ['import', join(dir.path, 'many'), '--size', '64', '--name', 'many']);
    let child = 0;
    await until(() => {
      child = childrenOf(importing.child.pid!)[0] ?? 0;
      return child > 0 && /"type":"progress"/.test(importing.out());
    }, 60_000, 'the import child at work');
    process.kill(child, 'SIGKILL');
    expect(await importing.exited).toBe(1);
    const failure = JSON.parse(importing.out().trim().split('\n').at(-1)!) as Line;
    expect(failure).toMatchObject({ type: 'error', error: { code: 'worker_failed' } });
    expect(failure.error!.message).toMatch(/import process .* ended unexpectedly \(signal SIGKILL\); nothing was saved/);
    expect(readdirSync(join(home, 'blobs', 'tmp'))).toEqual([]);

    // Now the app itself dies mid-import; its child follows, and a half file it left is swept at the next start.
    const again = cliAsync(home, ['import', join(dir.path, 'many'), '--size', '64', '--name', 'many']);
    await until(() => childrenOf(again.child.pid!).length > 0 && /"type":"progress"/.test(again.out()), 60_000, 'the second import at work');
    const orphan = childrenOf(again.child.pid!)[0]!;
    again.child.kill('SIGKILL');
    await again.exited;
    await until(() => !alive(orphan), 15_000, 'the orphaned import child to exit');
    writeFileSync(join(home, 'blobs', 'tmp', `import-${orphan}-dead.pack`), Buffer.alloc(1000, 7));

    const listed = cli(home, ['runs']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(readdirSync(join(home, 'blobs', 'tmp'))).toEqual([]);
    const db = new Database(join(home, 'studio.db'), { readonly: true });
    expect(db.prepare('SELECT name FROM datasets').pluck().all()).toEqual(['shapes']);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const ok = cli(home, ['import', join(dir.path, 'shapes'), '--size', '16', '--name', 'shapes again']);
    expect(ok.status, ok.stderr).toBe(0);
  });
});

describe('full disk', () => {
  it('while a checkpoint is written: the run fails saying the disk is full, earlier checkpoints and metrics stay, Resume works once there is space', async () => {
    const mount = join(dir.path, 'small-disk');
    mkdirSync(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mount]);
    try {
      const home = join(mount, 'home');
      importShapes(home);
      const train = cliAsync(home, ['train', '--dataset', 'shapes', '--epochs', '12', ...BIG_CHECKPOINT]);
      await until(() => /"type":"epoch","runId":1,"epoch":1/.test(train.out()), 90_000, 'a first epoch');
      await until(() => existsSync(join(home, 'blobs')) && checkpointsOf(home, 1).length > 0, 30_000, 'a first checkpoint');
      // Fill the disk, leaving about 3 MB: room for metrics and images, not for a 9 MB checkpoint.
      const filler = join(mount, 'filler');
      fillDisk(mount, filler, 3 * 1024 * 1024);
      expect(await train.exited).toBe(1);

      const run = cli(home, ['runs']).lines.at(-1)!.runs![0]!;
      expect(run.status).toBe('failed');
      expect(run.error?.message).toMatch(/disk is full.*epoch-\d+\.vaeckpt.*Earlier checkpoints are kept/);
      const kept = checkpointsOf(home, 1);
      const last = kept.find((r) => r.kind === 'last')!;
      expect(last.epoch).toBeGreaterThanOrEqual(1);
      expect(valLossEpochs(home, 1).length).toBeGreaterThanOrEqual(last.epoch);
      expect(readdirSync(join(home, 'runs'))).toEqual([]);

      rmSync(filler);
      const resumed = cli(home, ['resume', '1']);
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(Math.min(...resumed.lines.filter((l) => l.type === 'epoch').map((l) => l.epoch!))).toBe(last.epoch + 1);
      expect(resumed.lines.at(-1)!.run).toMatchObject({ status: 'finished', epochsDone: 12 });
      expect(valLossEpochs(home, 1)).toEqual(range(1, 12));
    } finally {
      execFileSync('umount', ['-l', mount]);
    }
  });
});

describe('two instances on one workspace', () => {
  it('a second server is refused saying who holds it; a read-only reader lists runs but cannot write', async () => {
    const home = join(dir.path, 'two');
    importShapes(home);
    const first = cliAsync(home, ['serve']);
    try {
      await until(() => first.out().includes('"listening"'), 30_000, 'first server listening');
      const second = cli(home, ['serve']);
      expect(second.status).toBe(1);
      expect(second.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'conflict' } });
      expect(second.lines.at(-1)!.error!.message).toMatch(new RegExp(`in use by another VAE Studio \\(web server, pid ${first.child.pid}`));
      const { testCore } = await import('./core/testing');
      const reader = testCore(home, { allowReadOnly: true });
      try {
        expect(reader.workspace.readOnly).toBe(true);
        expect((await reader.call('datasets.list', { projectId: 1 })).map((d) => d.name)).toEqual(['shapes']);
        const refused = await reader.handle('projects.create', { name: 'sneaky' });
        expect(refused).toMatchObject({ ok: false, error: { code: 'conflict' } });
        expect(JSON.stringify(refused)).toMatch(/read-only because another VAE Studio is using it/);
      } finally {
        await reader.close();
      }
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
    // Once the server is gone the workspace is writable again.
    expect(cli(home, ['import', join(dir.path, 'shapes'), '--size', '16', '--name', 'after']).status).toBe(0);
  });
});
