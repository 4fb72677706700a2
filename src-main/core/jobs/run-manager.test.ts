import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import type { AnyEventMessage } from '@shared/api';
import { ApiError } from '@shared/errors';
import type { Run } from '@shared/types';
import { tempDir, testCore, until, writeImageFolder } from '../testing';
import type { Core } from '../core';
import { readMetrics } from '../store/metrics';
import { getRun } from '../store/runs';
import { listCheckpoints } from '../store/checkpoints';
import { parallelRunsSetting } from './run-manager';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let events: AnyEventMessage[];

async function startRun(mode: string, options: { heartbeatMs?: number } = {}): Promise<Run> {
  process.env.FAKE_WORKER_MODE = mode;
  const project = await core.call('projects.create', { name: 'p' });
  await writeImageFolder(`${dir.path}/images`, ['a', 'b'], 2);
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: `${dir.path}/images`, size: 8 });
  if (options.heartbeatMs) (core.runs as unknown as { options: { heartbeatTimeoutMs: number } }).options.heartbeatTimeoutMs = options.heartbeatMs;
  return core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { epochs: 1 } });
}

const status = (runId: number) => getRun(core.workspace.db, runId)!;

beforeEach(() => {
  dir = tempDir();
  core = testCore(`${dir.path}/home`);
  events = [];
  core.subscribe((m) => events.push(m));
});

afterEach(async () => {
  await core.close();
  delete process.env.FAKE_WORKER_MODE;
  dir.cleanup();
});

describe('worker supervision', () => {
  it('runs a worker to the end, storing its metrics, backend and summary', async () => {
    const run = await startRun('finish');
    await until(() => status(run.id).status === 'finished', 20_000, 'finished');
    const finished = status(run.id);
    expect(finished.backend).toBe('fake');
    expect(finished.backendNotes).toEqual(['webgpu: not in this test']);
    expect(finished.summary).toMatchObject({ loss: 10, val_loss: 42 });
    expect(finished.finishedAt).not.toBeNull();
    const losses = readMetrics(core.workspace.db, run.id, ['loss']);
    expect(losses.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const statuses = events.filter((e) => e.event === 'run.status').map((e) => e.payload.status);
    expect(statuses[0]).toBe('queued');
    expect(statuses).toContain('running');
    expect(statuses.at(-1)).toBe('finished');
  });

  it('throttles metric events to the UI while keeping every point for the database', async () => {
    const run = await startRun('finish');
    await until(() => status(run.id).status === 'finished');
    const metricEvents = events.filter((e) => e.event === 'run.metrics');
    const points = metricEvents.flatMap((e) => (e.event === 'run.metrics' ? e.payload.points : []));
    expect(points.filter((p) => p.name === 'loss')).toHaveLength(10);
    // 10 points ~20 ms apart must arrive in fewer events than points (≤ 10 events/s).
    expect(metricEvents.length).toBeLessThan(10);
  });

  it('records a worker killed with SIGKILL as killed and keeps what it had reported', async () => {
    const run = await startRun('forever');
    await until(() => readMetrics(core.workspace.db, run.id, ['loss']).length >= 3, 20_000, 'some metrics');
    const pid = (core.workspace.db.prepare('SELECT worker_pid FROM runs WHERE id = ?').pluck().get(run.id)) as number;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await until(() => status(run.id).status === 'killed', 20_000, 'killed');
    const killed = status(run.id);
    expect(killed.error?.message).toMatch(/killed/);
    expect(readMetrics(core.workspace.db, run.id, ['loss']).length).toBeGreaterThanOrEqual(3);
    expect(core.workspace.db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('stops a run politely on cancel', async () => {
    const run = await startRun('forever');
    await until(() => readMetrics(core.workspace.db, run.id).length > 0, 20_000, 'metrics');
    await core.call('runs.cancel', { runId: run.id });
    await until(() => status(run.id).status === 'cancelled', 20_000, 'cancelled');
  });

  it('kills a worker that ignores stop after the grace period', async () => {
    (core.runs as unknown as { options: { stopGraceMs: number } }).options.stopGraceMs = 200;
    const run = await startRun('ignore-stop');
    await until(() => readMetrics(core.workspace.db, run.id).length > 0, 20_000, 'metrics');
    await core.call('runs.cancel', { runId: run.id });
    await until(() => status(run.id).status === 'cancelled', 5_000, 'cancelled after kill');
  });

  it('records a crash with its exit code', async () => {
    const run = await startRun('crash');
    await until(() => status(run.id).status === 'crashed', 20_000, 'crashed');
    expect(status(run.id).error?.message).toMatch(/exit code 3/);
  });

  it('records an out-of-memory death as oom', async () => {
    const run = await startRun('oom');
    await until(() => status(run.id).status === 'oom', 20_000, 'oom');
    expect(status(run.id).error?.message).toMatch(/out of memory/);
  });

  it('stores an error the worker reports, naming the field', async () => {
    const run = await startRun('error');
    await until(() => status(run.id).status === 'failed', 20_000, 'failed');
    expect(status(run.id).error).toMatchObject({ code: 'worker_failed', details: { field: 'learningRate' } });
  });

  it('kills a worker whose heartbeat stops and says it hung', async () => {
    const run = await startRun('hang', { heartbeatMs: 500 });
    await until(() => status(run.id).status === 'crashed', 20_000, 'crashed');
    expect(status(run.id).error?.message).toMatch(/stopped responding/);
  });

  it('trains two runs at once only where a core is left for the app, unless VAE_STUDIO_PARALLEL_RUNS says otherwise', () => {
    expect(parallelRunsSetting({}, 2)).toBe(1);
    expect(parallelRunsSetting({}, 16)).toBe(2);
    expect(parallelRunsSetting({ VAE_STUDIO_PARALLEL_RUNS: '3' }, 2)).toBe(3);
    expect(parallelRunsSetting({ VAE_STUDIO_PARALLEL_RUNS: '0' }, 16)).toBe(2);
    expect(parallelRunsSetting({ VAE_STUDIO_PARALLEL_RUNS: 'lots' }, 2)).toBe(1);
  });

  it('runs queued runs one after another when parallelism is 1', async () => {
    await core.close();
    core = testCore(`${dir.path}/home`, { maxConcurrentRuns: 1 });
    const first = await startRun('finish');
    const second = await core.call('runs.create', { projectId: first.projectId, datasetId: first.datasetId, config: {} });
    expect(status(second.id).status).toBe('queued');
    await until(() => status(second.id).status === 'finished', 20_000, 'second finished');
    expect(status(first.id).status).toBe('finished');
    expect(new Date(status(second.id).startedAt!).getTime()).toBeGreaterThanOrEqual(new Date(status(first.id).finishedAt!).getTime());
  });

  it('trains two runs at once when allowed two, queues a third, and the history stays readable while they write', async () => {
    await core.close();
    core = testCore(`${dir.path}/home-two`, { maxConcurrentRuns: 2 });
    const first = await startRun('forever');
    const more = { projectId: first.projectId, datasetId: first.datasetId, config: {} };
    const second = await core.call('runs.create', more);
    const third = await core.call('runs.create', more);
    await until(() => status(first.id).status === 'running' && status(second.id).status === 'running', 20_000, 'two running');
    expect(status(third.id).status).toBe('queued');
    // The UI reads the history while both workers stream metrics into the same file.
    const seen = new Map<number, number>();
    for (let i = 0; i < 30; i++) {
      const listed = await core.call('runs.list', { projectId: first.projectId });
      expect(listed.map((r) => r.id)).toEqual(expect.arrayContaining([first.id, second.id, third.id]));
      for (const run of [first, second]) {
        const page = await core.call('runs.metrics', { runId: run.id, names: ['loss'] });
        expect(page.series.map((s) => s.name).filter((n) => n !== 'loss')).toEqual([]);
        const steps = page.series[0]?.step ?? [];
        expect(steps).toEqual([...steps].sort((a, b) => a - b));
        expect(steps.length).toBeGreaterThanOrEqual(seen.get(run.id) ?? 0);
        seen.set(run.id, steps.length);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(Math.min(...seen.values())).toBeGreaterThan(0);
    expect(status(third.id).status).toBe('queued');
    await core.call('runs.cancel', { runId: first.id });
    await until(() => status(third.id).status === 'running', 20_000, 'third started when a slot freed');
    expect(status(second.id).status).toBe('running');
    expect(core.workspace.db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('marks runs left running by a dead app as interrupted on the next start', async () => {
    const run = await startRun('forever');
    await until(() => status(run.id).status === 'running');
    const home = core.workspace.home;
    await core.close();
    // Simulate the app dying mid-run: nothing got to write the final status.
    const { openDatabase } = await import('../store/db');
    const db = openDatabase(`${home}/studio.db`);
    db.prepare(`UPDATE runs SET status = 'running', error_json = NULL WHERE id = ?`).run(run.id);
    db.close();
    core = testCore(home);
    const after = getRun(core.workspace.db, run.id)!;
    expect(after.status).toBe('interrupted');
    expect(after.error?.message).toMatch(/stopped while this run was training/);
  });
});

const rejection = (promise: Promise<unknown>): Promise<ApiError> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as ApiError,
  );

describe('checkpoints, resume, pause and evaluation', () => {
  it('keeps the last and the best checkpoint as blobs and deletes superseded ones', async () => {
    const run = await startRun('checkpoint');
    await until(() => status(run.id).status === 'finished', 20_000, 'finished');
    const rows = listCheckpoints(core.workspace.db, run.id);
    expect(rows.map((r) => [r.kind, r.epoch, r.step])).toEqual([
      ['last', 3, 15],
      ['best', 1, 5],
    ]);
    for (const row of rows) expect(core.workspace.blobs.has(row.blob_hash)).toBe(true);
    // Epoch 2's file was 'last' for a while: replaced by epoch 3 and referenced by nothing, it is gone.
    const blobFiles = readdirSync(core.workspace.blobs.dir, { recursive: true, withFileTypes: true }).filter(
      (e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name),
    );
    const datasetBlobs = core.workspace.db.prepare('SELECT COUNT(DISTINCT blob_hash) FROM datasets').pluck().get() as number;
    const artifactBlobs = core.workspace.db.prepare('SELECT COUNT(DISTINCT blob_hash) FROM artifacts').pluck().get() as number;
    const indexBlobs = core.workspace.db.prepare('SELECT COUNT(DISTINCT index_hash) FROM datasets').pluck().get() as number;
    const healthBlobs = core.workspace.db.prepare('SELECT COUNT(DISTINCT health_hash) FROM datasets').pluck().get() as number;
    expect(blobFiles).toHaveLength(datasetBlobs + indexBlobs + healthBlobs + artifactBlobs + 2);
    expect(existsSync(`${core.workspace.runsDir}/${run.id}`)).toBe(false);
    expect(await core.call('runs.checkpoints', { runId: run.id })).toEqual([
      expect.objectContaining({ runId: run.id, kind: 'last', epoch: 3, step: 15 }),
      expect.objectContaining({ runId: run.id, kind: 'best', epoch: 1, step: 5 }),
    ]);
  });

  it('resumes a crashed run from its last checkpoint: same run, re-queued, start carries resumeFrom', async () => {
    const run = await startRun('checkpoint-then-crash');
    await until(() => status(run.id).status === 'crashed', 20_000, 'crashed');
    expect(listCheckpoints(core.workspace.db, run.id).map((r) => r.kind)).toEqual(['last', 'best']);
    expect((await rejection(core.call('runs.resume', { runId: 999 }))).code).toBe('not_found');

    process.env.FAKE_WORKER_MODE = 'checkpoint';
    const queued = await core.call('runs.resume', { runId: run.id });
    expect(queued.id).toBe(run.id);
    expect(['queued', 'running']).toContain(queued.status);
    expect(queued.error).toBeNull();
    await until(() => status(run.id).status === 'finished', 20_000, 'finished after resume');
    expect(readMetrics(core.workspace.db, run.id, ['resumed_from']).map((p) => p.value)).toEqual([5]);
    expect(readMetrics(core.workspace.db, run.id, ['loss']).map((p) => p.step)).toEqual([5, 10, 15]);
    expect(listCheckpoints(core.workspace.db, run.id).map((r) => [r.kind, r.epoch])).toEqual([
      ['last', 3],
      ['best', 1],
    ]);
    expect((await rejection(core.call('runs.resume', { runId: run.id }))).message).toMatch(/finished; only a run that ended early/);
  });

  it('pauses a running run once the worker confirms, and continues it', async () => {
    const run = await startRun('forever');
    await until(() => readMetrics(core.workspace.db, run.id).length > 0, 20_000, 'metrics');
    await core.call('runs.pause', { runId: run.id });
    await until(() => status(run.id).status === 'paused', 5_000, 'paused');
    const held = readMetrics(core.workspace.db, run.id, ['loss']).length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(readMetrics(core.workspace.db, run.id, ['loss']).length).toBe(held);
    expect((await rejection(core.call('runs.pause', { runId: run.id }))).code).toBe('conflict');
    await core.call('runs.unpause', { runId: run.id });
    await until(() => status(run.id).status === 'running', 5_000, 'running again');
    await until(() => readMetrics(core.workspace.db, run.id, ['loss']).length > held, 5_000, 'more steps');
    // A paused run can also be stopped.
    await core.call('runs.pause', { runId: run.id });
    await until(() => status(run.id).status === 'paused', 5_000, 'paused again');
    await core.call('runs.cancel', { runId: run.id });
    await until(() => status(run.id).status === 'cancelled', 10_000, 'cancelled');
    const statuses = events.filter((e) => e.event === 'run.status').map((e) => e.payload.status);
    expect(statuses).toEqual(expect.arrayContaining(['running', 'paused', 'cancelled']));
  });

  it('evaluates a finished run on demand from its best checkpoint, storing the result', async () => {
    const run = await startRun('checkpoint');
    await until(() => status(run.id).status === 'finished', 20_000, 'finished');
    const answer = await core.call('runs.evaluate', { runId: run.id, iwaeSamples: 7 });
    expect(answer).toMatchObject({ runId: run.id, iwaeSamples: 7, checkpoint: { kind: 'best', step: 5 } });
    await core.runs.evaluationSettled(run.id);
    expect(status(run.id).summary).toMatchObject({ test_nll: 99, iwae_k: 7, evaluated_step: 5, loss: 5 });
    expect(status(run.id).status).toBe('finished');
    expect(readMetrics(core.workspace.db, run.id, ['test_nll'])).toEqual([expect.objectContaining({ step: 5, value: 99 })]);
    const states = events.flatMap((e) => (e.event === 'run.evaluation' ? [e.payload.state] : []));
    expect(states).toEqual(['started', 'finished']);
  });

  it('cancels an on-demand evaluation through runs.cancel: the run and its stored figure stay as they were', async () => {
    const run = await startRun('checkpoint');
    await until(() => status(run.id).status === 'finished', 20_000, 'finished');
    const before = status(run.id).summary;
    process.env.FAKE_WORKER_MODE = 'evaluate-until-stopped';
    const answer = await core.call('runs.evaluate', { runId: run.id, iwaeSamples: 9, images: 30 });
    expect(answer).toMatchObject({ iwaeSamples: 9, images: 30 });
    // The run says it is being evaluated, to a page opened meanwhile.
    expect((await core.call('runs.get', { runId: run.id })).evaluating).toEqual({ iwaeSamples: 9, images: 30 });
    await until(() => events.some((e) => e.event === 'run.progress' && e.payload.runId === run.id && (e.payload.evaluated?.done ?? 0) > 2), 5_000, 'progress');
    const progress = events.flatMap((e) => (e.event === 'run.progress' ? [e.payload] : []));
    expect(progress.at(-1)).toMatchObject({ phase: 'evaluating', evaluated: { total: 30, k: 9 } });
    await core.call('runs.cancel', { runId: run.id });
    await core.runs.evaluationSettled(run.id);
    const states = events.flatMap((e) => (e.event === 'run.evaluation' ? [e.payload.state] : []));
    expect(states).toEqual(['started', 'cancelled']);
    expect(status(run.id)).toMatchObject({ status: 'finished', summary: before });
    expect((await core.call('runs.get', { runId: run.id })).evaluating).toBeUndefined();
  });

  it('refuses to evaluate a run without a checkpoint', async () => {
    const run = await startRun('error');
    await until(() => status(run.id).status === 'failed', 20_000, 'failed');
    expect((await rejection(core.call('runs.evaluate', { runId: run.id }))).code).toBe('not_found');
  });
});
