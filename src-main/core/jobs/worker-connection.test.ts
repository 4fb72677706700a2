// The one connection every child process goes through, with real child processes: the
// stand-in worker (fixtures/fake-worker.mjs) for handshake, watchdog, exit reasons and
// request ids, and the built worker and import child for the death of their parent.
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runConfigSchema } from '@shared/config';
import type { InferRequest } from '@shared/inference';
import { ISOLATE_OLD_SPACE_FLAG, ISOLATE_OLD_SPACE_MIB } from '@shared/model-size';
import { WORKER_PROTOCOL_VERSION, type FromWorkerMessage, type ToWorkerMessage } from '@shared/worker-protocol';
import { ApiError } from '@shared/errors';
import { running, until } from '../testing';
import { forkWorker, type SpawnOptions, type SpawnWorker } from './spawn';
import { openWorkerConnection, type WorkerConnection, type WorkerConnectionOptions } from './worker-connection';

const fakeWorker = join(import.meta.dirname, 'fixtures', 'fake-worker.mjs');
const parentScript = join(import.meta.dirname, 'fixtures', 'parent.mjs');
const built = join(import.meta.dirname, '..', '..', '..', 'out', 'main');

const start: ToWorkerMessage = {
  type: 'start',
  runId: 1,
  config: runConfigSchema.parse({}),
  datasetPath: '/nowhere.vaedata',
  datasetSha256: '0'.repeat(64),
  runDir: '/nowhere',
};
const open: ToWorkerMessage = {
  type: 'open',
  runId: 1,
  config: runConfigSchema.parse({}),
  datasetPath: '/nowhere.vaedata',
  datasetSha256: '0'.repeat(64),
  checkpoint: { path: '/nowhere', sha256: 'sha', epoch: 1, step: 1 },
};
const hold = { op: 'hold' } as unknown as InferRequest;
const samples = { op: 'samples', count: 1, temperature: 1, seed: 1 } as InferRequest;

const connections: WorkerConnection[] = [];
const processes: ChildProcess[] = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.kill();
  for (const child of processes.splice(0)) child.kill('SIGKILL');
  delete process.env.FAKE_WORKER_MODE;
  delete process.env.FAKE_WORKER_PROTOCOL;
});

/** A connection to the stand-in worker, keeping every message it passed on. */
function connect(mode: string, options: Partial<WorkerConnectionOptions> = {}): { worker: WorkerConnection; heard: FromWorkerMessage[] } {
  process.env.FAKE_WORKER_MODE = mode;
  const worker = openWorkerConnection(forkWorker, fakeWorker, { name: `test ${mode}`, job: start, ...options });
  connections.push(worker);
  const heard: FromWorkerMessage[] = [];
  worker.onMessage((msg) => heard.push(msg));
  return { worker, heard };
}

describe('a worker connection', () => {
  it('sends the job only after the worker says hello, and reads a finished worker as finished', async () => {
    const sent: unknown[] = [];
    const spy: SpawnWorker = <In, Out>(entry: string, options: SpawnOptions) => {
      const handle = forkWorker<In, Out>(entry, options);
      const send = (message: In): void => {
        sent.push(message);
        handle.send(message);
      };
      return { pid: handle.pid, send, onMessage: handle.onMessage, onExit: handle.onExit, kill: handle.kill };
    };
    process.env.FAKE_WORKER_MODE = 'finish';
    const worker = openWorkerConnection(spy, fakeWorker, { name: 'test', job: start });
    connections.push(worker);
    const heard: string[] = [];
    worker.onMessage((msg) => heard.push(msg.type));
    expect(sent).toEqual([]);
    const end = await worker.ended;
    expect(sent[0]).toEqual({ v: WORKER_PROTOCOL_VERSION, msg: start });
    // The hello is the connection's; what follows is the job's.
    expect(heard[0]).not.toBe('hello');
    expect(heard).toContain('backend');
    expect(end.reason.kind).toBe('finished');
    expect(end.exit.code).toBe(0);
  });

  it('refuses a worker of another protocol version with a clear error, kills it and never gives it the job', async () => {
    process.env.FAKE_WORKER_PROTOCOL = '2';
    const { worker, heard } = connect('finish');
    const end = await worker.ended;
    expect(end.reason.kind).toBe('reported');
    expect(end.reason.error?.message).toMatch(new RegExp(`speaks protocol 2, this app ${WORKER_PROTOCOL_VERSION}: they come from different builds\\. Rebuild or reinstall VAE Studio`));
    expect(end.exit.signal).toBe('SIGKILL');
    // Refused at its hello: it never started (no backend, no metrics).
    expect(heard).toEqual([]);
  });

  it('kills a worker that goes silent and says it hung', async () => {
    // Silent from its start (the stand-in beats until it gets its job, then stops); on a
    // loaded machine its start-up alone may outlast 300 ms, which counts as silence too.
    const { worker } = connect('hang', { heartbeatTimeoutMs: 300 });
    const end = await worker.ended;
    expect(end.hung).toBe(true);
    expect(end.reason.kind).toBe('hung');
    expect(end.exit.signal).toBe('SIGKILL');
  });

  it('keeps a worker that beats alive past the heartbeat timeout', async () => {
    const { worker } = connect('forever', { heartbeatTimeoutMs: 2000 });
    await until(() => worker.memoryBytes > 0, 10_000, 'a heartbeat');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // Killed as hung it would have ended already, and read 'hung': a stop now is too late to change that.
    worker.stop();
    expect((await worker.ended).reason.kind).toBe('stopped');
  });

  it.each([
    ['crash', 'crashed', /exit code 3/],
    ['oom', 'oom', /signal SIGABRT/],
    ['error', 'reported', /exit code 1/],
  ])('reads a worker that ends in %s as %s', async (mode, kind, how) => {
    const { worker } = connect(mode);
    const { reason } = await worker.ended;
    expect(reason.kind).toBe(kind);
    expect(reason.how).toMatch(how);
    if (mode === 'oom') expect(reason.details.stderr).toMatch(/JavaScript heap out of memory/);
    if (mode === 'error') expect(reason.error).toMatchObject({ code: 'worker_failed', details: { field: 'learningRate' } });
  });

  it('tells a worker killed from outside (SIGKILL) from one the app killed while closing', async () => {
    const outside = connect('forever').worker;
    await until(() => outside.memoryBytes > 0, 10_000, 'a heartbeat');
    process.kill(outside.pid!, 'SIGKILL');
    expect((await outside.ended).reason.kind).toBe('killed');
    const closing = connect('forever').worker;
    await until(() => closing.memoryBytes > 0, 10_000, 'a heartbeat');
    closing.shutdown();
    expect((await closing.ended).reason.kind).toBe('shutdown');
  });

  it('stops politely, and kills a worker that ignores the stop after the grace period', async () => {
    const polite = connect('forever').worker;
    await until(() => polite.memoryBytes > 0, 10_000, 'a heartbeat');
    polite.stop();
    const stopped = await polite.ended;
    expect([stopped.reason.kind, stopped.done, stopped.exit.code]).toEqual(['stopped', 'stopped', 0]);
    const stubborn = connect('ignore-stop', { stopGraceMs: 200 }).worker;
    await until(() => stubborn.memoryBytes > 0, 10_000, 'a heartbeat');
    stubborn.stop();
    const killed = await stubborn.ended;
    expect([killed.reason.kind, killed.exit.signal]).toEqual(['stopped', 'SIGKILL']);
  });

  it("starts the worker process with the training isolates' old generation on its command line, as its threads get it", async () => {
    const { worker } = connect('finish', { job: open });
    const { execArgv } = (await worker.request({ op: 'exec-argv' } as unknown as InferRequest)) as { execArgv: string[] };
    expect(ISOLATE_OLD_SPACE_FLAG).toBe(`--initial-old-space-size=${ISOLATE_OLD_SPACE_MIB}`);
    expect(execArgv).toContain(ISOLATE_OLD_SPACE_FLAG);
  });

  it('cancels one request by its id while the others are answered, and fails the unanswered ones when the worker dies', async () => {
    const { worker } = connect('finish', { job: open });
    const abort = new AbortController();
    const held = worker.request(hold, { signal: abort.signal });
    const answered = (await worker.request(samples)) as { pid: number; request: unknown };
    expect(answered).toEqual({ pid: worker.pid, request: samples });
    expect(worker.pendingRequests).toBe(1);
    abort.abort();
    await expect(held).rejects.toMatchObject({ code: 'cancelled' });
    expect(worker.pendingRequests).toBe(0);
    // Aborted before it is sent: refused without troubling the worker.
    await expect(worker.request(samples, { signal: abort.signal })).rejects.toMatchObject({ code: 'cancelled' });

    const orphaned = worker.request(hold);
    process.kill(worker.pid!, 'SIGKILL');
    const error = await orphaned.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toMatch(/ended \(signal SIGKILL\) before answering/);
    await expect(worker.request(samples)).rejects.toThrow(/before answering/);
  });
});

describe('every child notices the death of its parent', () => {
  it.each([
    ['the training worker', 'worker.js'],
    ['the import child', 'import-worker.js'],
  ])('%s exits when its app is killed with SIGKILL', async (_, file) => {
    const entry = join(built, file);
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
    const parent = spawnProcess(process.execPath, [parentScript, entry], { stdio: ['ignore', 'pipe', 'inherit'] });
    processes.push(parent);
    let out = '';
    parent.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await until(() => out.includes('\n'), 20_000, 'the child to say hello');
    const child = Number(out.trim());
    expect(running(child)).toBe(true);
    parent.kill('SIGKILL');
    const killedAt = Date.now();
    await until(() => !running(child), 10_000, 'the orphaned child to exit');
    console.log(`${entry}: exited ${Date.now() - killedAt} ms after kill -9 of its parent`);
  }, 30_000);
});
