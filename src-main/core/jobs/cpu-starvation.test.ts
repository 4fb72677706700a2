// A worker starved of CPU is not hung: real child processes pinned to one core beside
// busy loops, the child niced to 19 (as a training run niced on a busy machine), its one
// long step silent for longer than the heartbeat timeout while it waits for the CPU.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runConfigSchema } from '@shared/config';
import type { FromWorkerMessage } from '@shared/worker-protocol';
import { busiestSince, processThreads, silentTooLong } from './cpu-starvation';
import { forkWorker } from './spawn';
import { openWorkerConnection } from './worker-connection';

const fakeWorker = join(import.meta.dirname, 'fixtures', 'fake-worker.mjs');
const hogs: ChildProcess[] = [];
afterEach(() => {
  for (const hog of hogs.splice(0)) hog.kill('SIGKILL');
  delete process.env.FAKE_WORKER_MODE;
  delete process.env.FAKE_WORKER_BUSY_CPU_MS;
});

describe('the watchdog and a starved worker', () => {
  it('measures a runnable child by the CPU time it used while silent, a blocked or unknown one by the clock', () => {
    const timeout = 1000;
    expect(silentTooLong(900, { runnable: false, cpuMs: 0 }, timeout)).toBe(false);
    expect(silentTooLong(8000, { runnable: true, cpuMs: 300 }, timeout)).toBe(false);
    expect(silentTooLong(8000, { runnable: true, cpuMs: 1500 }, timeout)).toBe(true);
    expect(silentTooLong(1500, { runnable: false, cpuMs: 0 }, timeout)).toBe(true);
    expect(silentTooLong(1500, null, timeout)).toBe(true);
    // A silent loop uses CPU: hung however long the machine made it wait.
    expect(silentTooLong(60_000, { runnable: true, cpuMs: 1001 }, timeout)).toBe(true);
  });

  it('counts the busiest thread, a thread born while silent with all of its time', () => {
    const before = { runnable: false, cpuMsByThread: new Map([[10, 100], [11, 50]]) };
    // Two threads starved together: 700 ms between them, neither near a 500 ms timeout.
    expect(busiestSince(before, { runnable: true, cpuMsByThread: new Map([[10, 450], [11, 400]]) })).toEqual({ runnable: true, cpuMs: 350 });
    expect(busiestSince(before, { runnable: true, cpuMsByThread: new Map([[10, 120], [12, 900]]) })).toEqual({ runnable: true, cpuMs: 900 });
    expect(busiestSince(null, before)).toBeNull();
  });

  it.runIf(process.platform === 'linux')('reads every thread of a process: this one is runnable while it reads, with CPU time', () => {
    const me = processThreads(process.pid);
    expect(me?.runnable).toBe(true);
    expect(me?.cpuMsByThread.get(process.pid)).toBeGreaterThan(0);
    expect(processThreads(2 ** 22 + 12345)).toBeNull();
  });

  it.runIf(process.platform === 'linux').each([
    ['busy', 'on its main thread'],
    ['busy-thread', 'on a worker thread while its main thread sleeps (a data-parallel step)'],
  ])(
    'lets a niced worker finish a step (%s: %s) that CPU starvation stretches past the heartbeat timeout',
    async (mode) => {
      for (let i = 0; i < 2; i++) hogs.push(spawn('taskset', ['-c', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
      process.env.FAKE_WORKER_MODE = mode;
      process.env.FAKE_WORKER_BUSY_CPU_MS = '5';
      const timeout = 500;
      const start = { type: 'start', runId: 1, config: runConfigSchema.parse({}), datasetPath: '/nowhere', datasetSha256: '0'.repeat(64), runDir: '/nowhere' } as const;
      const worker = openWorkerConnection(forkWorker, fakeWorker, { name: 'starved', job: start, heartbeatTimeoutMs: timeout });
      // Once it has started (its first heartbeat), onto the hogs' core at the lowest priority, before its step.
      const heard: FromWorkerMessage[] = [];
      let pinned: number[] = [];
      worker.onMessage((msg) => {
        if (heard.length === 0) {
          pinned = [spawnSync('taskset', ['-a', '-p', '-c', '0', String(worker.pid)]).status ?? -1, spawnSync('renice', ['-n', '19', '-p', String(worker.pid)]).status ?? -1];
        }
        heard.push(msg);
      });
      let runnable = 0;
      const sampler = setInterval(() => (runnable += processThreads(worker.pid)?.runnable ? 1 : 0), 100);
      const end = await worker.ended;
      clearInterval(sampler);
      expect(pinned).toEqual([0, 0]);
      const busy = heard.find((m) => m.type === 'metrics')?.points.find((p) => p.name === 'busy_wall_ms')?.value;
      // The step really was silent past the timeout (killed as hung before this change), runnable all along.
      expect(busy).toBeGreaterThan(timeout);
      expect(runnable).toBeGreaterThan(timeout / 100);
      console.log(`starved step (${mode}): ${busy} ms of wall clock for 5 ms of CPU (heartbeat timeout ${timeout} ms)`);
      expect(end.hung).toBe(false);
      expect(end.reason.kind).toBe('finished');
    },
    60_000,
  );

  it.runIf(process.platform === 'linux')(
    'still kills a worker whose thread computes silently for longer than the timeout while its main thread sleeps',
    async () => {
      process.env.FAKE_WORKER_MODE = 'busy-thread';
      process.env.FAKE_WORKER_BUSY_CPU_MS = '60000';
      const start = { type: 'start', runId: 1, config: runConfigSchema.parse({}), datasetPath: '/nowhere', datasetSha256: '0'.repeat(64), runDir: '/nowhere' } as const;
      const t0 = Date.now();
      const worker = openWorkerConnection(forkWorker, fakeWorker, { name: 'looping', job: start, heartbeatTimeoutMs: 500 });
      const end = await worker.ended;
      expect(end.hung).toBe(true);
      expect(end.reason.kind).not.toBe('finished');
      expect(Date.now() - t0).toBeLessThan(30_000);
    },
    60_000,
  );
});
