import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyEventMessage } from '@shared/api';
import type { Run } from '@shared/types';
import { tempDir, testCore, until, writeImageFolder } from '../testing';
import type { Core } from '../core';
import { readMetrics } from '../store/metrics';
import { getRun } from '../store/runs';

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

  it('runs queued runs one after another', async () => {
    const first = await startRun('finish');
    const second = await core.call('runs.create', { projectId: first.projectId, datasetId: first.datasetId, config: {} });
    expect(status(second.id).status).toBe('queued');
    await until(() => status(second.id).status === 'finished', 20_000, 'second finished');
    expect(status(first.id).status).toBe('finished');
    expect(new Date(status(second.id).startedAt!).getTime()).toBeGreaterThanOrEqual(new Date(status(first.id).finishedAt!).getTime());
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
