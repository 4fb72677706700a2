import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunConfigInput } from '@shared/config';
import { encodePacked } from '@shared/dataset-format';
import { STOP_GRACE_MS, WORKER_PROTOCOL_VERSION, type FromWorker, type FromWorkerMessage, type ToWorker } from '@shared/worker-protocol';
import { syntheticImages } from './testing/setup';

/**
 * Process-level check of the built worker (npm run build → out/main/worker.js, or
 * VAE_WORKER_JS): a real child process, real IPC, a real packed dataset file.
 * Skipped when no build is there, so `vitest run` works before a build.
 */
const workerJs = resolve(process.env['VAE_WORKER_JS'] ?? 'out/main/worker.js');

interface Session {
  child: ChildProcess;
  messages: FromWorkerMessage[];
  exited: Promise<number | null>;
  next(type: FromWorkerMessage['type']): Promise<FromWorkerMessage>;
  send(msg: ToWorker['msg']): void;
}

function startWorker(): Session {
  const child = fork(workerJs, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const messages: FromWorkerMessage[] = [];
  const waiters: { type: string; resolve: (m: FromWorkerMessage) => void }[] = [];
  child.on('message', (raw: unknown) => {
    const envelope = raw as FromWorker;
    expect(envelope.v).toBe(WORKER_PROTOCOL_VERSION);
    messages.push(envelope.msg);
    for (const w of waiters.filter((w) => w.type === envelope.msg.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(envelope.msg);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    messages,
    exited,
    next: (type) => {
      const seen = messages.find((m) => m.type === type);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ type, resolve }));
    },
    send: (msg) => child.send({ v: WORKER_PROTOCOL_VERSION, msg } as ToWorker),
  };
}

let dir = '';
const datasetPath = (): string => join(dir, 'data.vaeds');
const smallPath = (): string => join(dir, 'small.vaeds');

function writeDataset(path: string, count: number, size: number): void {
  const images = syntheticImages(count, size, size);
  const header = { version: 1 as const, count, width: size, height: size, channels: 1 as const, labels: [] };
  writeFileSync(path, encodePacked({ header, pixels: images.pixels, labels: new Int32Array(count).fill(-1) }));
}

function start(session: Session, config: RunConfigInput, path = datasetPath()): void {
  session.send({ type: 'start', runId: 1, config: config as never, datasetPath: path, runDir: dir });
}

describe(`worker process (${workerJs})`, () => {
  beforeAll(() => {
    // `npm test` builds before the unit tests; a missing build is an error, not a skip.
    if (!existsSync(workerJs)) throw new Error(`${workerJs} is missing: run "npm run build" first`);
    dir = mkdtempSync(join(tmpdir(), 'vae-worker-'));
    writeDataset(datasetPath(), 200, 8);
    writeDataset(smallPath(), 20, 6);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains to the end: hello, backend, metrics, progress, epoch, artifacts, done, exit 0', async () => {
    const s = startWorker();
    expect((await s.next('hello')) as { pid: number }).toMatchObject({ pid: s.child.pid });
    start(s, { epochs: 2, hidden: 32, latent: 4, batchSize: 32, seed: 3 });
    expect(await s.exited).toBe(0);
    const types = s.messages.map((m) => m.type);
    expect(types[0]).toBe('hello');
    expect(types.filter((t) => t !== 'heartbeat')[1]).toBe('backend');
    expect(types.at(-1)).toBe('done');
    const backend = s.messages.find((m) => m.type === 'backend');
    expect(backend).toMatchObject({ backend: 'wasm' });
    expect(s.messages.filter((m) => m.type === 'epoch')).toHaveLength(2);
    const artifacts = s.messages.flatMap((m) => (m.type === 'artifact' ? [m] : []));
    expect(artifacts.map((a) => `${a.kind}@${a.epoch}`)).toEqual(['reconstructions@1', 'samples@1', 'reconstructions@2', 'samples@2']);
    for (const a of artifacts) expect(Buffer.from(a.png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    const points = s.messages.flatMap((m) => (m.type === 'metrics' ? m.points : []));
    expect(points.filter((p) => p.name === 'loss')).toHaveLength(2 * Math.ceil(180 / 32));
    expect(points.every((p) => Number.isFinite(p.value))).toBe(true);
    expect(s.messages.some((m) => m.type === 'progress')).toBe(true);
    const done = s.messages.at(-1) as Extract<FromWorkerMessage, { type: 'done' }>;
    expect(done.reason).toBe('finished');
    expect(done.summary['val_elbo']).toBeLessThan(0);
    expect(done.summary['imagesPerSec']).toBeGreaterThan(0);
  });

  it('stops politely within the grace period', async () => {
    const s = startWorker();
    await s.next('hello');
    start(s, { epochs: 10_000, hidden: 32, latent: 4, batchSize: 8 });
    await s.next('metrics');
    const asked = Date.now();
    s.send({ type: 'stop' });
    expect(await s.exited).toBe(0);
    expect(Date.now() - asked).toBeLessThan(STOP_GRACE_MS);
    expect(s.messages.at(-1)).toMatchObject({ type: 'done', reason: 'stopped' });
  });

  it('answers a config that cannot work with an error naming the field, then exits 1', async () => {
    const s = startWorker();
    await s.next('hello');
    start(s, { model: 'conv' }, smallPath());
    expect(await s.exited).toBe(1);
    const error = s.messages.find((m) => m.type === 'error');
    expect(error).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'model' } } });
  });

  it('exits when its parent disconnects (no orphans)', async () => {
    const s = startWorker();
    await s.next('hello');
    start(s, { epochs: 10_000, hidden: 32, latent: 4, batchSize: 8 });
    await s.next('metrics');
    s.child.disconnect();
    const code = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
    expect(code).not.toBe('still running');
  });

  it('answers ping with a heartbeat carrying the resident memory', async () => {
    const s = startWorker();
    await s.next('hello');
    s.send({ type: 'ping' });
    const beat = (await s.next('heartbeat')) as { memoryBytes: number };
    expect(beat.memoryBytes).toBeGreaterThan(10 * 1024 * 1024);
    s.child.kill();
    await s.exited;
  });
});
