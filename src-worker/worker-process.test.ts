import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunConfigInput } from '@shared/config';
import { encodePacked, SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION } from '@shared/dataset-format';
import {
  STOP_GRACE_MS,
  WORKER_PROTOCOL_VERSION,
  type CheckpointRef,
  type FromWorker,
  type FromWorkerMessage,
  type ToWorker,
} from '@shared/worker-protocol';
import { syntheticImages } from './testing/setup';

/**
 * Process-level check of the built worker (npm run build → out/main/worker.js, or
 * VAE_WORKER_JS): a real child process, real IPC, a real packed dataset file.
 * Fails when there is no build (`npm test` builds first).
 */
const workerJs = resolve(process.env['VAE_WORKER_JS'] ?? 'out/main/worker.js');

interface Session {
  child: ChildProcess;
  messages: FromWorkerMessage[];
  exited: Promise<number | null>;
  next(type: FromWorkerMessage['type']): Promise<FromWorkerMessage>;
  send(msg: ToWorker['msg']): void;
}

function startWorker(env?: NodeJS.ProcessEnv): Session {
  const child = fork(workerJs, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], ...(env && { env: { ...process.env, ...env } }) });
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
let firstRun: Session | undefined;
const datasetPath = (): string => join(dir, 'data.vaeds');
const smallPath = (): string => join(dir, 'small.vaeds');
const wideTestPath = (): string => join(dir, 'wide-test.vaeds');

/** Version 2 (with a split: every 10th image validates, every 10th + 1 tests) unless `v1`. */
function writeDataset(path: string, count: number, size: number, v1 = false): void {
  const images = syntheticImages(count, size, size);
  const header = { version: v1 ? (1 as const) : (2 as const), count, width: size, height: size, channels: 1 as const, labels: [] };
  const split = Uint8Array.from({ length: count }, (_, i) => (i % 10 === 0 ? SPLIT_VALIDATION : i % 10 === 1 ? SPLIT_TEST : SPLIT_TRAIN));
  writeFileSync(path, encodePacked({ header, pixels: images.pixels, labels: new Int32Array(count).fill(-1), ...(v1 ? {} : { split }) }));
}

const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function start(session: Session, config: RunConfigInput, path = datasetPath(), resumeFrom?: CheckpointRef): void {
  // A run folder per worker: a resumed run rewrites its epochs' checkpoint files.
  const runDir = mkdtempSync(join(dir, 'run-'));
  session.send({ type: 'start', runId: 1, config: config as never, datasetPath: path, datasetSha256: sha256Of(path), runDir, ...(resumeFrom && { resumeFrom }) });
}

type Message<T extends FromWorkerMessage['type']> = Extract<FromWorkerMessage, { type: T }>;
const all = <T extends FromWorkerMessage['type']>(s: Session, type: T): Message<T>[] =>
  s.messages.filter((m): m is Message<T> => m.type === type);
const lossCurve = (s: Session): [number, number][] =>
  all(s, 'metrics').flatMap((m) => m.points.filter((p) => p.name === 'loss').map((p): [number, number] => [p.step, p.value]));

describe(`worker process (${workerJs})`, () => {
  beforeAll(() => {
    // `npm test` builds before the unit tests; a missing build is an error, not a skip.
    if (!existsSync(workerJs)) throw new Error(`${workerJs} is missing: run "npm run build" first`);
    dir = mkdtempSync(join(tmpdir(), 'vae-worker-'));
    writeDataset(datasetPath(), 200, 8);
    writeDataset(smallPath(), 20, 6, true);
    // 3 000 images of 32×32, 300 of them test images.
    writeDataset(wideTestPath(), 3000, 32);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains to the end: hello, backend, metrics, progress, epoch, artifacts, checkpoints, IWAE, done, exit 0', async () => {
    const s = startWorker();
    expect((await s.next('hello')) as { pid: number }).toMatchObject({ pid: s.child.pid });
    start(s, { epochs: 2, hidden: 32, latent: 4, batchSize: 32, seed: 3, iwaeSamples: 10 });
    expect(await s.exited).toBe(0);
    const types = s.messages.map((m) => m.type);
    expect(types[0]).toBe('hello');
    expect(types.filter((t) => t !== 'heartbeat')[1]).toBe('backend');
    expect(types.at(-1)).toBe('done');
    const backend = s.messages.find((m) => m.type === 'backend');
    expect(backend).toMatchObject({ backend: 'wasm' });
    expect(s.messages.filter((m) => m.type === 'epoch')).toHaveLength(2);
    const artifacts = s.messages.flatMap((m) => (m.type === 'artifact' ? [m] : []));
    expect(artifacts.map((a) => `${a.kind}@${a.epoch}`)).toEqual([
      'reconstructions@1',
      'samples@1',
      'traversal@1',
      'reconstructions@2',
      'samples@2',
      'traversal@2',
    ]);
    for (const a of artifacts) expect(Buffer.from(a.png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    const points = s.messages.flatMap((m) => (m.type === 'metrics' ? m.points : []));
    // 160 training images (20 validate, 20 test) in batches of 32.
    expect(points.filter((p) => p.name === 'loss')).toHaveLength(2 * 5);
    const checkpoints = all(s, 'checkpoint');
    expect(checkpoints.map((c) => [c.epoch, c.step])).toEqual([
      [1, 5],
      [2, 10],
    ]);
    for (const c of checkpoints) {
      expect(existsSync(c.path)).toBe(true);
      expect(c.sha256).toBe(createHash('sha256').update(readFileSync(c.path)).digest('hex'));
      expect(c.bytes).toBe(statSync(c.path).size);
    }
    expect(checkpoints[0]!.best).toBe(true);
    expect(points.every((p) => Number.isFinite(p.value))).toBe(true);
    expect(s.messages.some((m) => m.type === 'progress')).toBe(true);
    const done = s.messages.at(-1) as Extract<FromWorkerMessage, { type: 'done' }>;
    expect(done.reason).toBe('finished');
    expect(done.summary['val_elbo']).toBeLessThan(0);
    expect(done.summary['imagesPerSec']).toBeGreaterThan(0);
    expect(done.summary).toMatchObject({ iwae_k: 10, test_images: 20, test_images_total: 20, test_nll_partial: 0, test_data_binary: 0 });
    expect(done.summary['test_nll']).toBeGreaterThan(0);
    firstRun = s;
  });

  it('resumes from a checkpoint: the later losses equal the uninterrupted run’s', async () => {
    const checkpoint = all(firstRun!, 'checkpoint')[0]!;
    const s = startWorker();
    await s.next('hello');
    start(s, { epochs: 2, hidden: 32, latent: 4, batchSize: 32, seed: 3, iwaeSamples: 10 }, datasetPath(), {
      path: checkpoint.path,
      sha256: checkpoint.sha256,
      epoch: 1,
      step: 5,
    });
    const code = await s.exited;
    expect(all(s, 'error')).toEqual([]);
    expect(code).toBe(0);
    expect(lossCurve(s)).toEqual(lossCurve(firstRun!).filter(([step]) => step > 5));
    expect((s.messages.at(-1) as Message<'done'>).summary['test_nll']).toBe((firstRun!.messages.at(-1) as Message<'done'>).summary['test_nll']);
  });

  it('splits training across the threads asked for and says so beside the backend, a VQ-VAE too', async () => {
    const runs: Record<string, Session> = {};
    for (const [name, config] of [
      ['vae', { epochs: 1, hidden: 32, latent: 4, batchSize: 32, seed: 3, threads: 2 }],
      ['vqvae', { epochs: 1, hidden: 32, latent: 4, batchSize: 32, seed: 3, threads: 2, family: 'vqvae', codebookSize: 8, codeDim: 4, priorEpochs: 0 }],
    ] as const) {
      const s = startWorker();
      await s.next('hello');
      start(s, config as RunConfigInput);
      expect(await s.exited).toBe(0);
      runs[name] = s;
    }
    const notes = (s: Session): string[] => all(s, 'backend').at(-1)!.notes;
    expect(notes(runs['vae']!)).toContain('training: 2 threads, data-parallel, one replica each');
    expect((runs['vae']!.messages.at(-1) as Message<'done'>).summary['threads']).toBe(2);
    expect(notes(runs['vqvae']!)).toContain('training: 2 threads, data-parallel, one replica each');
    expect((runs['vqvae']!.messages.at(-1) as Message<'done'>).summary['threads']).toBe(2);
    expect(all(runs['vqvae']!, 'metrics').flatMap((m) => m.points).filter((p) => p.name === 'perplexity').length).toBeGreaterThan(0);
  });

  it('trains below the app: the worker and the training threads it starts run at nice 10, the app untouched', async () => {
    /** Nice value of every thread of a process (Linux: /proc/<pid>/task/<tid>/stat, field 19). */
    const niceOf = (pid: number): Map<number, number> =>
      new Map(
        readdirSync(`/proc/${pid}/task`).map((tid) => {
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          return [Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
        }),
      );
    const threadsAt = async (env?: NodeJS.ProcessEnv): Promise<{ main: number; niced: number; all: number }> => {
      const s = startWorker(env);
      await s.next('hello');
      start(s, { epochs: 50, hidden: 32, latent: 4, batchSize: 32, seed: 3, threads: 2 });
      // The threads line comes once both training threads have started.
      while (!all(s, 'backend').some((m) => m.notes.includes('training: 2 threads, data-parallel, one replica each'))) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const nice = niceOf(s.child.pid!);
      s.send({ type: 'stop' });
      expect(await s.exited).toBe(0);
      return { main: nice.get(s.child.pid!)!, niced: [...nice.values()].filter((n) => n === 10).length, all: nice.size };
    };
    const lowered = await threadsAt();
    expect(lowered.main).toBe(10);
    // The main thread and both training threads at least (tfjs and Node start others before the job).
    expect(lowered.niced).toBeGreaterThanOrEqual(3);
    const normal = await threadsAt({ VAE_STUDIO_TRAINING_PRIORITY: 'normal' });
    expect(normal).toMatchObject({ main: 0, niced: 0 });
    expect(niceOf(process.pid).get(process.pid)).toBe(0);
  });

  it('trains on one thread, saying why, when its training threads cannot start', async () => {
    const broken = join(dir, 'broken-thread.mjs');
    writeFileSync(broken, "throw new Error('this thread cannot load');\n");
    const s = startWorker({ VAE_TRAIN_THREAD_JS: broken });
    await s.next('hello');
    start(s, { epochs: 1, hidden: 32, latent: 4, batchSize: 32, seed: 3, threads: 2 });
    expect(await s.exited).toBe(0);
    // Whichever of the two threads fails first names itself.
    expect(all(s, 'backend').at(-1)!.notes.at(-1)).toMatch(/^training: 1 thread — the training threads could not start \(training thread [12] failed: this thread cannot load\)$/);
    expect((s.messages.at(-1) as Message<'done'>).summary['threads']).toBe(1);
  });

  it('refuses to resume from a checkpoint whose hash is not the one expected', async () => {
    const checkpoint = all(firstRun!, 'checkpoint')[0]!;
    const s = startWorker();
    await s.next('hello');
    start(s, { epochs: 2, hidden: 32, latent: 4, batchSize: 32, seed: 3 }, datasetPath(), { ...checkpoint, sha256: '0'.repeat(64) });
    expect(await s.exited).toBe(1);
    expect(all(s, 'error')[0]).toMatchObject({ error: { code: 'io_error', details: { field: 'resumeFrom' } } });
  });

  it('evaluates a checkpoint on demand: the IWAE bound on the test split with the k asked for', async () => {
    const checkpoint = all(firstRun!, 'checkpoint')[1]!;
    const s = startWorker();
    await s.next('hello');
    const config = { epochs: 2, hidden: 32, latent: 4, batchSize: 32, seed: 3 };
    s.send({ type: 'evaluate', runId: 1, config: config as never, datasetPath: datasetPath(), datasetSha256: sha256Of(datasetPath()), checkpoint, iwaeSamples: 10 });
    const code = await s.exited;
    expect(all(s, 'error')).toEqual([]);
    expect(code).toBe(0);
    const done = s.messages.at(-1) as Message<'done'>;
    // Same weights, k and seed as the end of the first run: the same figure.
    expect(done.summary['test_nll']).toBe((firstRun!.messages.at(-1) as Message<'done'>).summary['test_nll']);
    expect(all(s, 'metrics').flatMap((m) => m.points.map((p) => `${p.name}@${p.step}`)).sort()).toEqual(['iwae_k@10', 'test_bpd@10', 'test_nll@10']);
    // Spread over one or two threads (the run's `threads`), the same figure to the last bit.
    for (const threads of [1, 2]) {
      const t = startWorker();
      await t.next('hello');
      t.send({ type: 'evaluate', runId: 1, config: { ...config, threads } as never, datasetPath: datasetPath(), datasetSha256: sha256Of(datasetPath()), checkpoint, iwaeSamples: 10 });
      expect(await t.exited).toBe(0);
      const summary = (t.messages.at(-1) as Message<'done'>).summary;
      expect(summary['iwae_threads']).toBe(threads);
      expect(summary['test_nll']).toBe(done.summary['test_nll']);
      // The worker says how many threads the bound used.
      expect(all(t, 'backend').at(-1)!.notes).toContain(threads === 1 ? 'evaluation: 1 thread' : 'evaluation: 2 threads, one copy of the model each');
    }
    // Threads that cannot start: the bound runs on the worker's own thread, saying why, with the same figure.
    const broken = join(dir, 'broken-eval-thread.mjs');
    writeFileSync(broken, "throw new Error('this thread cannot load');\n");
    const b = startWorker({ VAE_TRAIN_THREAD_JS: broken });
    await b.next('hello');
    b.send({ type: 'evaluate', runId: 1, config: { ...config, threads: 2 } as never, datasetPath: datasetPath(), datasetSha256: sha256Of(datasetPath()), checkpoint, iwaeSamples: 10 });
    expect(await b.exited).toBe(0);
    expect((b.messages.at(-1) as Message<'done'>).summary).toMatchObject({ iwae_threads: 1, test_nll: done.summary['test_nll'] });
    expect(all(b, 'backend').at(-1)!.notes.at(-1)).toMatch(/^evaluation: 1 thread — its threads could not start \(training thread [12] failed: this thread cannot load\)$/);
  });

  it('budgets the automatic test bound: 300 test images at k = 5 000 would take minutes, it costs a quarter of training (3 s at least)', async () => {
    const s = startWorker();
    await s.next('hello');
    start(s, { epochs: 1, hidden: 128, latent: 8, batchSize: 64, seed: 5, iwaeSamples: 5000 }, wideTestPath());
    expect(await s.exited).toBe(0);
    expect(all(s, 'error')).toEqual([]);
    const done = s.messages.at(-1) as Message<'done'>;
    expect(done.reason).toBe('finished');
    const summary = done.summary;
    // 1.5 million decoder passes were asked; the budget bought far fewer.
    expect(summary['test_images_total']).toBe(300);
    expect(summary['test_images']).toBeGreaterThanOrEqual(100);
    expect(summary['test_images']).toBeLessThanOrEqual(300);
    expect(summary['iwae_k']).toBeLessThan(5000);
    expect(summary['test_images']! * summary['iwae_k']!).toBeLessThan(300 * 5000);
    expect(summary['test_nll_partial']).toBe(0);
    expect(summary['iwae_budget_seconds']).toBeCloseTo(Math.max(3, summary['train_seconds']! / 4), 2);
    // Priced from a measured first batch, it stays near its budget (generously: a shared
    // machine's load moves between the probe and the bound).
    expect(summary['iwae_seconds']).toBeLessThan(3 * summary['iwae_budget_seconds']! + 2);
    // Progress says how far the bound is, with the images and k it settled on.
    const evaluating = all(s, 'progress').filter((p) => p.phase === 'evaluating');
    expect(evaluating.at(-1)!.evaluated).toEqual({ done: summary['test_images'], total: summary['test_images'], k: summary['iwae_k'] });
    const dones = evaluating.slice(1).map((p) => p.evaluated!.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    // The same figure as an on-demand evaluation of those images with that k.
    const checkpoint = all(s, 'checkpoint')[0]!;
    const e = startWorker();
    await e.next('hello');
    const config = { epochs: 1, hidden: 128, latent: 8, batchSize: 64, seed: 5 };
    e.send({
      type: 'evaluate',
      runId: 1,
      config: config as never,
      datasetPath: wideTestPath(),
      datasetSha256: sha256Of(wideTestPath()),
      checkpoint,
      iwaeSamples: summary['iwae_k']!,
      images: summary['test_images']!,
    });
    expect(await e.exited).toBe(0);
    const evaluated = (e.messages.at(-1) as Message<'done'>).summary;
    expect(evaluated).toMatchObject({ test_images: summary['test_images'], test_images_total: 300, iwae_k: summary['iwae_k'], iwae_budget_seconds: 0 });
    expect(evaluated['test_nll']).toBe(summary['test_nll']);
  });

  it('pauses after the current step and resumes on request', async () => {
    const s = startWorker();
    await s.next('hello');
    start(s, { epochs: 10_000, hidden: 32, latent: 4, batchSize: 8 });
    await s.next('metrics');
    s.send({ type: 'pause' });
    expect(await s.next('state')).toEqual({ type: 'state', state: 'paused' });
    const steps = lossCurve(s).length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(lossCurve(s).length).toBe(steps);
    // Still alive while paused.
    s.send({ type: 'ping' });
    const beats = all(s, 'heartbeat').length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(all(s, 'heartbeat').length).toBeGreaterThan(beats);
    s.messages.splice(s.messages.findIndex((m) => m.type === 'state'), 1);
    s.send({ type: 'resume' });
    expect(await s.next('state')).toEqual({ type: 'state', state: 'running' });
    s.send({ type: 'stop' });
    expect(await s.exited).toBe(0);
    expect(lossCurve(s).length).toBeGreaterThan(steps);
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
    start(s, { architecture: 'conv' }, smallPath());
    expect(await s.exited).toBe(1);
    const error = s.messages.find((m) => m.type === 'error');
    expect(error).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'architecture' } } });
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
