// What the core does after the app itself died, and when its own writes fail mid-run.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from '@shared/types';
import type { Core } from '../core';
import { openDatabase } from '../store/db';
import { getCheckpoint, listCheckpoints } from '../store/checkpoints';
import { readMetrics } from '../store/metrics';
import { getRun } from '../store/runs';
import { tempDir, testCore, until, writeImageFolder } from '../testing';
import { childProcessImporter } from '../datasets/import-runner';
import { IMPORT_PROTOCOL_VERSION } from '../datasets/import-protocol';
import { verifiedCheckpointHeader } from './orphan-checkpoints';
import type { SpawnWorker, WorkerExit } from './spawn';

let dir: ReturnType<typeof tempDir>;
let core: Core;

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await core?.close();
  delete process.env.FAKE_WORKER_MODE;
  dir.cleanup();
});

/** A checkpoint file in the worker's format (src-worker/io/checkpoint-file.ts). */
function checkpointFile(epoch: number, step: number, isBest: boolean): Buffer {
  const header = Buffer.from(JSON.stringify({ format: 1, config: {}, epoch, step, trainerStep: step, rng: {}, shuffle: {}, progress: { isBest }, tensors: [] }));
  const dataOffset = (12 + header.length + 3) & ~3;
  const body = Buffer.alloc(dataOffset + 16);
  body.write('VAECKPT1', 0, 'latin1');
  body.writeUInt32LE(header.length, 8);
  header.copy(body, 12);
  body.writeFloatLE(epoch, dataOffset);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

async function runWithCheckpoint(home: string): Promise<Run> {
  process.env.FAKE_WORKER_MODE = 'checkpoint-then-crash';
  core = testCore(home);
  const project = await core.call('projects.create', { name: 'p' });
  await writeImageFolder(join(dir.path, 'images'), ['a', 'b'], 2);
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'images'), size: 8 });
  const run = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { epochs: 5 } });
  await until(() => getRun(core.workspace.db, run.id)!.status === 'crashed', 20_000, 'crashed');
  return run;
}

describe('after the app died mid-run', () => {
  it('adopts a whole checkpoint the worker finished but the app never stored, and nothing torn, temporary or ahead of the history', async () => {
    const home = join(dir.path, 'home');
    const run = await runWithCheckpoint(home);
    expect(getCheckpoint(core.workspace.db, run.id, 'last')).toMatchObject({ epoch: 1, step: 5 });
    await core.close();

    // The app died while epoch 3 trained: the history has 3 epochs, epoch 2's file was
    // renamed into place but never moved into the store, epoch 3's was cut off.
    const db = openDatabase(join(home, 'studio.db'));
    db.prepare(`UPDATE runs SET status = 'running', epochs_done = 3, last_step = 15 WHERE id = ?`).run(run.id);
    db.close();
    const runDir = join(home, 'runs', String(run.id));
    mkdirSync(runDir, { recursive: true });
    const good = checkpointFile(2, 10, true);
    writeFileSync(join(runDir, 'epoch-2.vaeckpt'), good);
    writeFileSync(join(runDir, 'epoch-3.vaeckpt'), checkpointFile(3, 15, false).subarray(0, 60));
    writeFileSync(join(runDir, 'epoch-3.vaeckpt.tmp-4242'), checkpointFile(3, 15, false));
    // A whole file for an epoch the history lacks would make a resume skip that epoch's metrics.
    writeFileSync(join(runDir, 'epoch-4.vaeckpt'), checkpointFile(4, 20, false));

    process.env.FAKE_WORKER_MODE = 'checkpoint';
    core = testCore(home);
    const after = getRun(core.workspace.db, run.id)!;
    expect(after.status).toBe('interrupted');
    const rows = listCheckpoints(core.workspace.db, run.id).map((r) => [r.kind, r.epoch, r.step]);
    expect(rows).toEqual([
      ['last', 2, 10],
      ['best', 2, 10],
    ]);
    const hash = getCheckpoint(core.workspace.db, run.id, 'last')!.blob_hash;
    expect(hash).toBe(createHash('sha256').update(good).digest('hex'));
    expect(core.workspace.blobs.read(hash).equals(good)).toBe(true);
    expect(existsSync(runDir)).toBe(false);
    // Epoch 1's blob is referenced by nothing now and is gone.
    expect(readdirSync(core.workspace.blobs.dir, { recursive: true }).filter((p) => String(p).endsWith(hash))).toHaveLength(1);

    // Resume continues after the adopted epoch.
    await core.call('runs.resume', { runId: run.id });
    await until(() => getRun(core.workspace.db, run.id)!.status === 'finished', 20_000, 'finished after resume');
    expect(readMetrics(core.workspace.db, run.id, ['resumed_from']).map((p) => p.value)).toEqual([10]);
  });

  it('verifies checkpoint files by their trailing hash alone', () => {
    const file = checkpointFile(7, 70, false);
    expect(verifiedCheckpointHeader(file)).toEqual({ epoch: 7, step: 70, isBest: false });
    for (let cut = 0; cut < file.length; cut += 7) expect(verifiedCheckpointHeader(file.subarray(0, cut))).toBeNull();
    const flipped = Buffer.from(file);
    flipped[20]! ^= 4;
    expect(verifiedCheckpointHeader(flipped)).toBeNull();
  });

  it('the writer sweeps half files out of the blob temp folder at start; a read-only reader leaves them', async () => {
    const home = join(dir.path, 'home');
    core = testCore(home);
    await core.close();
    const stray = join(home, 'blobs', 'tmp', 'import-999999-dead.pack');
    writeFileSync(stray, 'half a dataset');
    const { openWorkspace } = await import('../workspace/workspace');
    const reader = openWorkspace(home);
    reader.close();
    expect(existsSync(stray)).toBe(true);
    core = testCore(home);
    expect(readdirSync(join(home, 'blobs', 'tmp'))).toEqual([]);
  });
});

describe('when the workspace cannot take what a worker sends', () => {
  it('a full disk stops the run with a clear error instead of crashing the app, keeping what was stored', async () => {
    const mount = join(dir.path, 'disk');
    mkdirSync(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount]);
    try {
      const home = join(mount, 'home');
      process.env.FAKE_WORKER_MODE = 'big-artifact';
      core = testCore(home, { maxConcurrentRuns: 1 });
      const project = await core.call('projects.create', { name: 'p' });
      await writeImageFolder(join(dir.path, 'images'), ['a', 'b'], 2);
      const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'images'), size: 8 });
      // Leave about 1 MB: the database can grow, a 2 MB image cannot be stored.
      const free = (): number => statfsSync(mount).bavail * statfsSync(mount).bsize;
      const fd = openSync(join(mount, 'filler'), 'w');
      writeSync(fd, Buffer.alloc(Math.max(0, free() - 1024 * 1024)));
      closeSync(fd);
      const run = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { epochs: 1 } });
      await until(() => getRun(core.workspace.db, run.id)!.status === 'failed', 20_000, 'failed');
      const failed = getRun(core.workspace.db, run.id)!;
      expect(failed.error?.message).toMatch(/Run \d+ stopped: its results could not be saved\. The disk is full .*What was saved before is kept/);
      expect(failed.error?.code).toBe('io_error');
      expect(readMetrics(core.workspace.db, run.id, ['loss']).length).toBeGreaterThanOrEqual(2);
      expect(readdirSync(join(home, 'blobs', 'tmp'))).toEqual([]);
      expect(core.workspace.db.pragma('integrity_check', { simple: true })).toBe('ok');
      // The app is still serving requests.
      expect((await core.call('runs.list', {})).map((r) => r.status)).toEqual(['failed']);
      expect(readFileSync(join(home, 'studio.db')).length).toBeGreaterThan(0);
    } finally {
      await core.close();
      core = undefined as unknown as Core;
      execFileSync('umount', ['-l', mount]);
    }
  });
});

describe('when the import child dies', () => {
  it('deletes the half result it was writing, which it never announced', async () => {
    const out = join(dir.path, 'tmp');
    mkdirSync(out);
    writeFileSync(join(out, 'import-777-other.pack'), 'another import, still running');
    let exit: ((e: WorkerExit) => void) | undefined;
    const spawn = (() => ({
      pid: 4242,
      send: () => {
        // The child starts writing its result, then is killed mid-file.
        writeFileSync(join(out, 'import-4242-ab12.pack'), 'half a pack');
        setTimeout(() => exit!({ code: null, signal: 'SIGKILL', stderrTail: '' }), 5);
      },
      // The child is listening: it gets the request.
      onMessage: (listener: (m: unknown) => void) => setImmediate(() => listener({ v: IMPORT_PROTOCOL_VERSION, msg: { type: 'hello', pid: 4242 } })),
      onExit: (listener: (e: WorkerExit) => void) => (exit = listener),
      kill: () => {},
    })) as unknown as SpawnWorker;
    const importer = childProcessImporter(spawn, 'import-worker.js');
    const request = { type: 'import' as const, folder: '/photos', settings: {} as never, outDir: out };
    await expect(importer(request, () => {}, new AbortController().signal)).rejects.toThrow(/ended unexpectedly \(signal SIGKILL\); nothing was saved/);
    expect(readdirSync(out)).toEqual(['import-777-other.pack']);
  });
});
