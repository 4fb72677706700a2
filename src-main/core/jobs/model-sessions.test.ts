// Model session supervision with the stand-in worker: reuse, the open-session limit,
// idle closing, cancellation and open failures.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { InferRequest } from '@shared/inference';
import { runConfigSchema } from '@shared/config';
import { until } from '../testing';
import { CheckpointReplaced, ModelSessions, type ModelKey } from './model-sessions';
import { forkWorker, type SpawnWorker, type WorkerHandle } from './spawn';

const fakeWorker = join(import.meta.dirname, 'fixtures', 'fake-worker.mjs');
const key = (runId: number, sha = `sha-${runId}`): ModelKey => ({
  runId,
  checkpoint: { path: '/nowhere', sha256: sha, epoch: 1, step: 1 },
  config: runConfigSchema.parse({}),
  datasetPath: '/nowhere.vaedata',
  datasetSha256: '0'.repeat(64),
});
const samples = { op: 'samples', count: 1, temperature: 1, seed: 1 } as InferRequest;

let sessions: ModelSessions | null = null;
afterEach(() => {
  sessions?.closeAll();
  sessions = null;
  delete process.env.FAKE_WORKER_MODE;
});

function setup(options: { maxSessions?: number; idleMs?: number } = {}): { sessions: ModelSessions; spawned: WorkerHandle[]; exited: Set<number> } {
  const spawned: WorkerHandle[] = [];
  const exited = new Set<number>();
  const spawn: SpawnWorker = <In, Out>(entry: string, opts: { name: string }) => {
    const worker = forkWorker<In, Out>(entry, opts);
    spawned.push(worker as unknown as WorkerHandle);
    worker.onExit(() => exited.add(worker.pid!));
    return worker;
  };
  sessions = new ModelSessions({ spawn, workerEntry: fakeWorker, ...options });
  return { sessions, spawned, exited };
}

describe('model sessions', () => {
  it('answers through one process per model, reused by later requests', async () => {
    const { sessions, spawned } = setup();
    const first = (await sessions.call(key(1), samples)) as { pid: number; request: unknown };
    const second = (await sessions.call(key(1), samples)) as { pid: number };
    expect(first.request).toEqual(samples);
    expect(second.pid).toBe(first.pid);
    expect(spawned).toHaveLength(1);
    expect((await sessions.info(key(1))).dimsByKl).toEqual([0, 1]);
  });

  it('a newer checkpoint of the same run is another session', async () => {
    const { sessions } = setup();
    const a = (await sessions.call(key(1, 'old'), samples)) as { pid: number };
    const b = (await sessions.call(key(1, 'new'), samples)) as { pid: number };
    expect(b.pid).not.toBe(a.pid);
  });

  it('keeps at most maxSessions open, closing the least recently used', async () => {
    const { sessions, spawned, exited } = setup({ maxSessions: 2 });
    await sessions.call(key(1), samples);
    await sessions.call(key(2), samples);
    await sessions.call(key(1), samples);
    await sessions.call(key(3), samples);
    expect(sessions.openCount).toBe(2);
    // Run 2 was the least recently used: its process goes away.
    await until(() => exited.has(spawned[1]!.pid!), 5000, 'the evicted session to exit');
    expect(exited.has(spawned[0]!.pid!)).toBe(false);
  });

  it('closes a session left idle, and a later request starts a new one', async () => {
    const { sessions, spawned, exited } = setup({ idleMs: 150 });
    await sessions.call(key(1), samples);
    await until(() => exited.has(spawned[0]!.pid!), 5000, 'the idle session to exit');
    expect(sessions.openCount).toBe(0);
    const again = (await sessions.call(key(1), samples)) as { pid: number };
    expect(again.pid).toBe(spawned[1]!.pid);
  });

  it('cancels a request through its abort signal; the session keeps answering', async () => {
    const { sessions } = setup();
    const controller = new AbortController();
    const held = sessions.call(key(1), { op: 'hold' } as unknown as InferRequest, { signal: controller.signal });
    await sessions.info(key(1));
    controller.abort();
    await expect(held).rejects.toMatchObject({ code: 'cancelled' });
    await expect(sessions.call(key(1), samples)).resolves.toMatchObject({ request: samples });
  });

  it('fails the pending requests of a model process that died, saying how, and the next request starts a fresh one', async () => {
    const { sessions } = setup();
    const first = (await sessions.call(key(1), samples)) as { pid: number };
    const held = sessions.call(key(1), { op: 'hold' } as unknown as InferRequest);
    process.kill(first.pid, 'SIGKILL');
    await expect(held).rejects.toThrow(/^The model process ended \(signal SIGKILL\) before answering\.$/);
    const again = (await sessions.call(key(1), samples)) as { pid: number };
    expect(again.pid).not.toBe(first.pid);
  });

  it('a model that cannot open fails its requests with the worker\'s reason, naming the field', async () => {
    process.env.FAKE_WORKER_MODE = 'open-error';
    const { sessions } = setup();
    await expect(sessions.call(key(1), samples)).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'checkpoint' } });
    await until(() => sessions.openCount === 0, 5000, 'the failed session to be forgotten');
  });

  it('opens from a staged copy of the checkpoint, released once loaded; a replaced one is reported', async () => {
    const released: string[] = [];
    const staged = new ModelSessions({
      spawn: forkWorker,
      workerEntry: fakeWorker,
      stage: (ref) => {
        if (ref.sha256 === 'gone') throw new CheckpointReplaced('replaced');
        return { ref: { ...ref, path: `${ref.path}.staged` }, release: () => released.push(ref.sha256) };
      },
    });
    try {
      const info = (await staged.info(key(1, 'kept'))) as unknown as { checkpointPath: string };
      expect(info.checkpointPath).toBe('/nowhere.staged');
      expect(released).toEqual(['kept']);
      expect(() => staged.call(key(2, 'gone'), samples)).toThrow(CheckpointReplaced);
      expect(staged.openCount).toBe(1);
    } finally {
      staged.closeAll();
    }
  });

  it('close(runId) ends every session of that run', async () => {
    const { sessions, spawned, exited } = setup();
    await sessions.call(key(1, 'a'), samples);
    await sessions.call(key(1, 'b'), samples);
    expect(sessions.close(1)).toBe(2);
    await until(() => spawned.every((w) => exited.has(w.pid!)), 5000, 'both sessions to exit');
  });
});
