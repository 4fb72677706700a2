import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis, startWorker, type TestRedis, type TestWorker } from './cli/redis-testing';
import type { Core } from './core/core';
import { alive, childrenOf, tempDir, testCore, until, writeImageFolder } from './core/testing';
import { requireBuiltApp, runCli } from './cli/testing';
import { getCheckpoint } from './core/store/checkpoints';
import { listArtifacts } from './core/store/artifacts';
import { readMetrics } from './core/store/metrics';
import { getRun } from './core/store/runs';
import { getDataset } from './core/store/datasets';
import type { Run } from '@shared/types';

/** Tiny runs: 48 images of 8×8, 4 epochs of a few steps, the cheapest bound at the end. */
const TINY = { architecture: 'mlp', latent: 2, hidden: 8, epochs: 4, batchSize: 8, iwaeSamples: 1, backend: 'cpu' as const };
const EPOCHS = TINY.epochs;

let dir: ReturnType<typeof tempDir>;
let redis: TestRedis;

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir('vae-studio-remote-');
  redis = await startRedis(join(dir.path, 'redis'));
  await writeImageFolder(join(dir.path, 'images'), ['a', 'b'], 24, { size: 8 });
});
afterAll(async () => {
  await redis?.stop();
  dir?.cleanup();
});

async function appWithDataset(name: string, options: { saved?: boolean } = {}): Promise<{ core: Core; projectId: number; datasetId: number; home: string }> {
  const home = join(dir.path, name);
  // As the CLI's --redis does, or as the Settings page saves it.
  const core = options.saved ? testCore(home) : testCore(home, { redis: { url: redis.url } });
  if (options.saved) await core.call('settings.setRemote', { redisUrl: redis.url, redisCaFile: null });
  const project = await core.call('projects.create', { name: 'p' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'images'), size: 8 });
  return { core, projectId: project.id, datasetId: dataset.id, home };
}

/** Socket inodes a process listens on (TCP, v4 and v6): none for a worker. */
function listeningSockets(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const listening: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9]!)) listening.push(cols[1]!);
    }
  }
  return listening;
}


/** Each epoch once: one validation point per epoch 1..epochs, and train steps 1..last without a gap or a repeat. */
function expectEachEpochOnce(core: Core, runId: number, epochs = EPOCHS): void {
  const run = getRun(core.workspace.db, runId)!;
  expect(run.status, `run ${runId}: ${run.error?.message ?? ''}`).toBe('finished');
  expect(run.epochsDone).toBe(epochs);
  const points = readMetrics(core.workspace.db, runId);
  expect(points.filter((p) => p.name === 'val_loss').map((p) => p.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
  const steps = points.filter((p) => p.name === 'loss').map((p) => p.step);
  expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i + 1));
  expect(steps.length).toBe(run.lastStep);
  const images = listArtifacts(core.workspace.db, runId).map((a) => `${a.kind}@${a.epoch}`);
  expect(new Set(images).size).toBe(images.length);
  expect(getCheckpoint(core.workspace.db, runId, 'last')).toMatchObject({ epoch: epochs });
}

describe('runs on other machines through Redis (BullMQ)', () => {
  it('a run sent to the queue is trained by a worker process with its own home, its results in the app store; the worker listens on nothing', async () => {
    const { core, projectId, datasetId } = await appWithDataset('app-one', { saved: true });
    expect(await core.call('settings.get', {})).toEqual({ redisUrl: redis.url, redisCaFile: null, source: 'saved' });
    const workerHome = join(dir.path, 'worker-one');
    const worker = startWorker(workerHome, ['--redis', redis.url, '--lock-ms', '2000']);
    try {
      const run = await core.call('runs.create', { projectId, datasetId, config: TINY });
      await until(() => worker.lines().some((l) => l.type === 'run'), 20_000, 'the worker to take the run');
      expect(listeningSockets(worker.process.pid!)).toEqual([]);
      await core.runs.settled(run.id);
      expectEachEpochOnce(core, run.id);
      expect(getRun(core.workspace.db, run.id)!.backend).toBe('cpu');
      expect(worker.lines().filter((l) => l.type === 'ended')).toEqual([expect.objectContaining({ runId: run.id, how: 'finished' })]);
      // The dataset was fetched into the worker's own home (by hash), not read from the app's.
      const dataset = getDataset(core.workspace.db, datasetId)!;
      expect(readdirSync(join(workerHome, 'remote-worker', 'datasets'))).toEqual([dataset.contentHash]);
    } finally {
      worker.process.kill('SIGTERM');
      await worker.exited;
      await core.close();
    }
  }, 60_000);

  it('12 runs over 2 workers, one killed with kill -9 halfway: all 12 finish once, the lost run continues from its checkpoint, each epoch recorded once', async () => {
    const { core, projectId, datasetId } = await appWithDataset('app-twelve');
    const workers = [startWorker(join(dir.path, 'worker-a'), ['--redis', redis.url, '--lock-ms', '1500']), startWorker(join(dir.path, 'worker-b'), ['--redis', redis.url, '--lock-ms', '1500'])];
    try {
      const runs: Run[] = [];
      for (let i = 0; i < 12; i++) runs.push(await core.call('runs.create', { projectId, datasetId, name: `trial-${i}`, config: { ...TINY, seed: i + 1 } }));
      const finished = (): number => runs.filter((r) => getRun(core.workspace.db, r.id)!.status === 'finished').length;
      // Halfway: worker A is training a run that already has a checkpoint in the app's store.
      const [a] = workers;
      const held = (): number | null => {
        const lines = a!.lines();
        const taken = lines.filter((l) => l.type === 'run').map((l) => l.runId!);
        const ended = new Set(lines.filter((l) => l.type === 'ended').map((l) => l.runId!));
        return taken.find((id) => !ended.has(id)) ?? null;
      };
      let victim: number | null = null;
      await until(
        () => {
          const id = held();
          if (finished() >= 4 && id !== null && (getCheckpoint(core.workspace.db, id, 'last')?.epoch ?? 0) >= 1 && getRun(core.workspace.db, id)!.epochsDone < EPOCHS) victim = id;
          return victim !== null;
        },
        60_000,
        'worker A halfway through a run with a checkpoint',
      );
      const trainer = childrenOf(a!.process.pid!);
      expect(trainer.length).toBeGreaterThan(0);
      a!.process.kill('SIGKILL');
      await a!.exited;
      // Its training process notices its parent's death and goes too.
      await until(() => trainer.every((pid) => !alive(pid)), 10_000, "the killed worker's training process to exit");

      await Promise.all(runs.map((r) => core.runs.settled(r.id)));
      expect(finished()).toBe(12);
      for (const r of runs) expectEachEpochOnce(core, r.id);
      // None duplicated: twelve runs in the store, each finished by exactly one worker once.
      expect((await core.call('runs.list', { projectId })).length).toBe(12);
      const ends = workers.flatMap((w) => w.lines().filter((l) => l.type === 'ended' && l.how === 'finished').map((l) => l.runId));
      expect(ends.sort((x, y) => x! - y!)).toEqual(runs.map((r) => r.id).sort((x, y) => x - y));
      // The lost run went on at worker B from its last checkpoint, not from the start.
      const takeover = workers[1]!.lines().find((l) => l.type === 'run' && l.runId === victim);
      expect(takeover).toMatchObject({ attempt: 2 });
      expect(takeover!.resumeFromEpoch).toBeGreaterThanOrEqual(1);
    } finally {
      for (const w of workers) if (w.process.exitCode === null) w.process.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
      await core.close();
    }
  }, 120_000);
});

describe('files fetched from Redis are checked before a worker uses them', () => {
  /** The app sends a run while no worker runs; `tamper` changes its dataset in Redis; then a worker comes. */
  async function tamperedRun(name: string, tamper: (chunkKey: string) => void): Promise<{ run: Run; core: Core; worker: TestWorker; workerHome: string }> {
    redis.cli('FLUSHALL');
    const { core, projectId, datasetId } = await appWithDataset(name);
    const run = await core.call('runs.create', { projectId, datasetId, config: TINY });
    const dataset = getDataset(core.workspace.db, datasetId)!;
    const chunkKey = `vae-studio:blob:${dataset.contentHash}:0`;
    await until(() => redis.cli('LLEN', 'bull:vae-studio-runs:wait') === '1', 20_000, 'the run to wait in the queue');
    tamper(chunkKey);
    const workerHome = join(dir.path, `${name}-worker`);
    const worker = startWorker(workerHome, ['--redis', redis.url, '--lock-ms', '2000']);
    await core.runs.settled(run.id);
    return { run, core, worker, workerHome };
  }

  it('refuses a dataset whose bytes in Redis do not match its hash, and the run fails saying so', async () => {
    const { run, core, worker, workerHome } = await tamperedRun('app-mismatch', (key) => redis.cli('SETRANGE', key, '100', 'tampered'));
    try {
      const stored = getRun(core.workspace.db, run.id)!;
      expect(stored.status).toBe('failed');
      expect(stored.error?.message).toMatch(/The dataset of run \d+ fetched from Redis has SHA-256 \w+…, not \w+… as named: .*not used\. Send the run again/);
      expect(worker.lines().find((l) => l.type === 'refused')?.error).toMatch(/SHA-256/);
      // Nothing was kept on the worker, and the damaged copy is gone from Redis (a new send uploads it again).
      expect(readdirSync(join(workerHome, 'remote-worker', 'datasets'))).toEqual([]);
      expect(redis.cli('KEYS', 'vae-studio:blob:*')).toBe('');
    } finally {
      worker.process.kill('SIGTERM');
      await worker.exited;
      await core.close();
    }
  }, 60_000);

  it('refuses an oversized chunk without reading it (the worker stays small), and the run fails saying so', async () => {
    const bigMiB = 128;
    const { run, core, worker } = await tamperedRun('app-oversized', (key) => redis.cli('SETRANGE', key, String(bigMiB * 1024 * 1024 - 1), 'x'));
    try {
      const stored = getRun(core.workspace.db, run.id)!;
      expect(stored.status).toBe('failed');
      expect(stored.error?.message).toMatch(new RegExp(`chunk 0 in Redis is ${bigMiB * 1024 * 1024} bytes where \\d+ were declared .*not fetched`));
      const peakKiB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${worker.process.pid}/status`, 'utf8'))![1]);
      console.log(`worker peak RSS after refusing a ${bigMiB} MiB chunk: ${(peakKiB / 1024).toFixed(0)} MiB`);
      // About 95 MiB with nothing fetched; reading the chunk would add its 128 MiB.
      expect(peakKiB).toBeLessThan(150 * 1024);
    } finally {
      worker.process.kill('SIGTERM');
      await worker.exited;
      await core.close();
    }
  }, 60_000);
});

describe('the app controls a remote run', () => {
  it('pauses, resumes and cancels a run training on a worker', async () => {
    redis.cli('FLUSHALL');
    const { core, projectId, datasetId } = await appWithDataset('app-control');
    const worker = startWorker(join(dir.path, 'worker-control'), ['--redis', redis.url, '--lock-ms', '2000']);
    try {
      const run = await core.call('runs.create', { projectId, datasetId, config: { ...TINY, epochs: 1000 } });
      const status = (): string => getRun(core.workspace.db, run.id)!.status;
      await until(() => getRun(core.workspace.db, run.id)!.epochsDone >= 1, 30_000, 'a first epoch');
      await core.call('runs.pause', { runId: run.id });
      await until(() => status() === 'paused', 10_000, 'paused');
      // Held: no step is taken while paused. Steps the worker sent before it paused may still
      // be on their way through Redis (run at load 20, up to 5 arrived after the status): let
      // them land, then no further step may come.
      const lastLoss = (): number => readMetrics(core.workspace.db, run.id).filter((p) => p.name === 'loss').at(-1)?.step ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const held = lastLoss();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(lastLoss()).toBe(held);
      await core.call('runs.unpause', { runId: run.id });
      await until(() => status() === 'running', 10_000, 'running again');
      await core.call('runs.cancel', { runId: run.id });
      await core.runs.settled(run.id);
      expect(status()).toBe('cancelled');
      expect(worker.lines().find((l) => l.type === 'ended')).toMatchObject({ runId: run.id, how: 'stopped' });
    } finally {
      worker.process.kill('SIGTERM');
      await worker.exited;
      await core.close();
    }
  }, 60_000);
});

describe('Redis unreachable mid-run', () => {
  it('a run whose Redis stops answering for longer than the lock carries on once it is back, each epoch once', async () => {
    redis.cli('FLUSHALL');
    const { core, projectId, datasetId } = await appWithDataset('app-unreachable');
    const worker = startWorker(join(dir.path, 'worker-unreachable'), ['--redis', redis.url, '--lock-ms', '1500']);
    try {
      const epochs = 12;
      const run = await core.call('runs.create', { projectId, datasetId, config: { ...TINY, epochs } });
      await until(() => (getCheckpoint(core.workspace.db, run.id, 'last')?.epoch ?? 0) >= 1, 30_000, 'a first checkpoint');
      // Frozen, not closed: both sides' commands hang as on a dead network, for twice the lock.
      redis.process.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 4000));
      redis.process.kill('SIGCONT');
      await core.runs.settled(run.id);
      expectEachEpochOnce(core, run.id, epochs);
      // The lock did lapse meanwhile; the run was trained once all the same, and a second hand-out of its job trains nothing.
      expect(worker.lines().some((l) => l.type === 'lock-lost')).toBe(true);
      await until(() => redis.cli('LLEN', 'bull:vae-studio-runs:wait') === '0' && redis.cli('LLEN', 'bull:vae-studio-runs:active') === '0', 15_000, 'the queue to empty');
      expect(worker.lines().filter((l) => l.type === 'ended')).toEqual([expect.objectContaining({ runId: run.id, how: 'finished' })]);
    } finally {
      redis.process.kill('SIGCONT');
      worker.process.kill('SIGTERM');
      await worker.exited;
      await core.close();
    }
  }, 90_000);
});

describe('the Redis setting', () => {
  it('refuses a URL or CA file it cannot use, naming the field, and saves nothing; null trains here again', async () => {
    const core = testCore(join(dir.path, 'app-settings'));
    try {
      const refused = async (input: { redisUrl: string | null; redisCaFile: string | null }): Promise<{ code: string; message: string; details?: { field?: string } }> =>
        core.call('settings.setRemote', input).then(
          () => ({ code: 'accepted', message: '' }),
          (error: { toJSON(): { code: string; message: string; details?: { field?: string } } }) => error.toJSON(),
        );
      expect(await refused({ redisUrl: 'http://host:6379', redisCaFile: null })).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/redis:\/\/ or rediss:\/\//), details: { field: 'redisUrl' } });
      expect(await refused({ redisUrl: 'redis://host:6379', redisCaFile: '/no/ca.pem' })).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/only used with TLS/), details: { field: 'redisCa' } });
      expect(await refused({ redisUrl: 'rediss://host:6379', redisCaFile: '/no/ca.pem' })).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/Cannot read the Redis CA file \/no\/ca.pem/), details: { field: 'redisCa' } });
      expect(await core.call('settings.get', {})).toEqual({ redisUrl: null, redisCaFile: null, source: 'none' });
      // A password stays out of messages.
      expect((await refused({ redisUrl: 'redis://user:s3cret@host:6379/99', redisCaFile: null })).message).not.toContain('s3cret');
      await core.call('settings.setRemote', { redisUrl: 'redis://user:pw@127.0.0.1:1', redisCaFile: null });
      expect((await core.call('settings.get', {})).source).toBe('saved');
      await core.call('settings.setRemote', { redisUrl: null, redisCaFile: null });
      expect(await core.call('settings.get', {})).toEqual({ redisUrl: null, redisCaFile: null, source: 'none' });
    } finally {
      await core.close();
    }
  });
});

describe('vae-studio worker and --redis on the command line', () => {
  it('refuse what they cannot use, naming the flag, before connecting anywhere', () => {
    const home = join(dir.path, 'cli-flags');
    const error = (args: string[]): { status: number | null; error?: { code: string; message: string; details?: { field?: string } } } => {
      const result = runCli<{ type: string; error?: { code: string; message: string; details?: { field?: string } } }>(home, args, 30_000);
      return { status: result.status, error: result.lines.find((l) => l.type === 'error')?.error };
    };
    expect(error(['worker'])).toMatchObject({ status: 1, error: { details: { field: 'redis' }, message: expect.stringMatching(/worker needs --redis/) } });
    expect(error(['worker', '--redis', 'redis://127.0.0.1:1', '--concurrency', '0'])).toMatchObject({ status: 1, error: { details: { field: 'concurrency' } } });
    expect(error(['worker', '--redis', 'redis://127.0.0.1:1', '--redis-ca', '/no/ca.pem'])).toMatchObject({ status: 1, error: { details: { field: 'redisCa' }, message: expect.stringMatching(/only used with TLS/) } });
    expect(error(['worker', '--redis', 'tcp://u:hunter2@host:1'])).toMatchObject({ status: 1, error: { details: { field: 'redis' } } });
    expect(JSON.stringify(error(['worker', '--redis', 'tcp://u:hunter2@host:1']))).not.toContain('hunter2');
    expect(error(['runs', '--redis', redis.url])).toMatchObject({ status: 1, error: { details: { field: 'redis' }, message: expect.stringMatching(/commands that start runs/) } });
  });
});
