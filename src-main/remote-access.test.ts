// Runs on other machines, as a person sees them: a queue with no worker says so, and a
// Redis behind a password, an ACL user and TLS. Each test starts a redis-server of its own.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitingText, type Run } from '@shared/types';
import { startRedis, startWorker } from './cli/redis-testing';
import { cliBin, requireBuiltApp } from './cli/testing';
import type { Core } from './core/core';
import { tempDir, testCore, until, writeImageFolder } from './core/testing';
import { getRun, runsOfSweep } from './core/store/runs';

const TINY = { architecture: 'mlp', latent: 2, hidden: 8, epochs: 3, batchSize: 8, iwaeSamples: 1, backend: 'cpu' as const };

let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir('vae-studio-remote-access-');
  await writeImageFolder(join(dir.path, 'images'), ['a', 'b'], 24, { size: 8 });
});
afterAll(() => dir?.cleanup());

async function withDataset(core: Core): Promise<{ projectId: number; datasetId: number }> {
  const project = await core.call('projects.create', { name: 'p' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'images'), size: 8 });
  return { projectId: project.id, datasetId: dataset.id };
}

/** `vae-studio runs` as a person types it, in a process of its own (the app holds the workspace: it reads it read-only). */
function cliRuns(home: string): string {
  const result = spawnSync(process.execPath, [cliBin, 'runs', '--home', home], { encoding: 'utf8', timeout: 30_000 });
  return result.stdout + result.stderr;
}

describe('a run sent to a queue no worker is connected to', () => {
  it('says it waits for a worker on that Redis, for how long, on the run, in `vae-studio runs` and in a sweep; once a worker starts it trains as usual', async () => {
    const redis = await startRedis(join(dir.path, 'redis-wait'));
    const home = join(dir.path, 'app-wait');
    const core = testCore(home, { redis: { url: redis.url } });
    let worker: ReturnType<typeof startWorker> | null = null;
    try {
      const { projectId, datasetId } = await withDataset(core);
      const run = await core.call('runs.create', { projectId, datasetId, config: TINY });
      const get = (): Run => getRun(core.workspace.db, run.id)!;
      await until(() => get().waiting !== undefined, 15_000, 'the run to say it waits for a worker');
      const waiting = get().waiting!;
      expect(waiting.redis).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(get().status).toBe('running');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect(waitingText(get().waiting!)).toMatch(new RegExp(`^waiting for a worker on redis://127\\.0\\.0\\.1:${redis.port} \\(none connected for [2-9]s\\)$`));
      // Another process reading the workspace (the app holds it) says the same.
      expect(cliRuns(home)).toMatch(new RegExp(`#${run.id}\\t.*waiting for a worker on redis://127\\.0\\.0\\.1:${redis.port} \\(none connected for \\d+s\\)`));
      // A sweep's trials too, on its page and in `sweep status`.
      const sweep = await core.call('sweeps.create', { projectId, datasetId, config: TINY, grid: ['beta=0.5,1'], concurrency: 2 });
      await until(() => runsOfSweep(core.workspace.db, sweep.id).every((r) => r.waiting !== undefined) && runsOfSweep(core.workspace.db, sweep.id).length === 2, 15_000, 'the trials to wait');
      const { trials } = await core.call('sweeps.get', { sweepId: sweep.id });
      expect(trials.map((t) => t.waiting?.redis)).toEqual([waiting.redis, waiting.redis]);
      const status = spawnSync(process.execPath, [cliBin, 'sweep', 'status', String(sweep.id), '--home', home], { encoding: 'utf8', timeout: 30_000 }).stdout;
      expect(status.match(/waiting for a worker on redis:\/\/127\.0\.0\.1:\d+ \(none connected for \d+s\)/g)).toHaveLength(2);
      const events: Run[] = [];
      core.subscribe((m) => void (m.event === 'run.status' && m.payload.runId === run.id && events.push(m.payload.run)));

      worker = startWorker(join(dir.path, 'worker-wait'), ['--redis', redis.url, '--lock-ms', '2000', '--concurrency', '3']);
      await until(() => get().waiting === undefined, 20_000, 'a worker to take the run');
      expect(events.at(-1)?.waiting).toBeUndefined();
      await core.runs.settled(run.id);
      const ended = await get();
      expect(ended.status, ended.error?.message).toBe('finished');
      expect(ended.waiting).toBeUndefined();
      await until(() => runsOfSweep(core.workspace.db, sweep.id).every((r) => r.status === 'finished'), 30_000, 'the trials to finish').catch((error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(runsOfSweep(core.workspace.db, sweep.id).map((r) => [r.status, r.epochsDone, r.error?.message]))} ${worker?.stderr()} ${JSON.stringify(worker?.lines())}`);
      });
      expect(runsOfSweep(core.workspace.db, sweep.id).map((r) => r.waiting)).toEqual([undefined, undefined]);
      expect(cliRuns(home)).not.toMatch(/waiting for a worker/);
    } finally {
      if (worker) {
        worker.process.kill('SIGTERM');
        await worker.exited;
      }
      await core.close();
      await redis.stop();
    }
  }, 90_000);
});
