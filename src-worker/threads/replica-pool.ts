import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { shardRanges, weightedLoss, type AdamStep, type GradientReplicas, type ReplicaGradients, type ReplicaSetup } from '../train/data-parallel';
import type { ChainNoise, ChainRows, ChainSetup, ChainThreads } from '../impute/chain';
import type { LatentThreads } from '../inference/session';
import type { IwaeThreads } from '../train/evaluate';
import type { BatchLabels, StepInputs } from '../train/trainer';
import { stepTraceOn, stepTraces, traceNow, type StepTrace } from './step-trace';
import { configureThreadHeaps } from './isolate-heap';
import { CONTROL, exchangeBytes, layout, rowsLayout, type ReplicaThreadData, type ToPool, type ToReplica } from './messages';

/**
 * Training replicas on worker threads (Node's side of train/data-parallel.ts). Each
 * thread loads its own tfjs and wasm instance from the same local .wasm files as the
 * worker; weights, moments and gradients stay in SharedArrayBuffers (no message
 * carries a tensor), a step's rows are written into each thread's rows block, and each
 * thread applies the optimizer step to its slice of the weights as soon as every
 * replica's gradient is in: the replicas meet at a barrier in shared memory
 * (Atomics.wait/notify), so a step is one message to each thread and one answer back.
 *
 * The same threads compute IWAE estimates (the test bound at the end of training, on
 * the training replicas' weights); startInferenceThreads starts ones that only do that
 * (the evaluation job), with the weights written once into shared memory.
 */

/** The built thread entry beside this bundle (out/main/train-thread.js, out/bench/train-thread.mjs), or VAE_TRAIN_THREAD_JS. */
export function replicaScript(): string | undefined {
  const override = process.env['VAE_TRAIN_THREAD_JS'];
  if (override !== undefined && override !== '') return override;
  for (const name of ['train-thread.js', 'train-thread.mjs']) {
    const candidate = fileURLToPath(new URL(`./${name}`, import.meta.url));
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface ReplicaThreadOptions {
  backend: 'wasm' | 'cpu';
  wasmDir?: string;
  /** Path of the built thread entry (default: replicaScript()). */
  script?: string;
  /** How long the threads may take to load tfjs and build their model. */
  startTimeoutMs?: number;
}

interface Pending {
  resolve(answer: ToPool): void;
  reject(error: Error): void;
}

/** Threads that compute IWAE estimates at the weights written into `parameters` (then `published()`). */
export interface InferenceReplicas extends IwaeThreads, ChainThreads, LatentThreads {
  readonly parameters: Float32Array;
  /** Why the threads can no longer answer (one died, or they were closed), or null. */
  failed(): Error | null;
  published(): void;
  close(): void;
}

/** Writes a trainer's weights, variable after variable, into threads' shared parameters and publishes them. */
export async function publishWeightsOf(
  threads: { readonly parameters: Float32Array; published(): void },
  trainer: { parameterValues(): Promise<Float32Array[]> },
): Promise<void> {
  let offset = 0;
  for (const values of await trainer.parameterValues()) {
    threads.parameters.set(values, offset);
    offset += values.length;
  }
  threads.published();
}

/** Starts `count` replica threads; rejects (and stops them all) when one cannot start. */
export function startReplicaThreads(count: number, setup: ReplicaSetup, options: ReplicaThreadOptions): Promise<GradientReplicas> {
  return startThreads(count, setup, options, true);
}

/** Starts `count` threads that only infer: no moments, no gradient blocks. */
export function startInferenceThreads(count: number, setup: ReplicaSetup, options: ReplicaThreadOptions): Promise<InferenceReplicas> {
  return startThreads(count, setup, options, false);
}

async function startThreads(count: number, setup: ReplicaSetup, options: ReplicaThreadOptions, training: boolean): Promise<GradientReplicas & InferenceReplicas> {
  const script = options.script ?? replicaScript();
  if (script === undefined) throw new Error('the training thread script (train-thread.js) is missing from this build');
  const { offsets, sizes, total } = layout(setup.shapes);
  const shared = (floats: number): SharedArrayBuffer => new SharedArrayBuffer(floats * 4);
  const params = shared(total);
  const m = shared(training ? total : 0);
  const v = shared(training ? total : 0);
  // One buffer per replica's gradient, not one block at offsets: with an odd number of
  // weights replica 2's block started 4 bytes off an 8-byte boundary, and V8 copies into
  // shared memory a word at a time only where source and destination are equally
  // aligned, else a byte at a time: its write-out cost 3–5× replica 1's (8.8–9.9 against
  // 1.5–1.7 CPU ms at 64×64×3, 2.1–2.3 with its own buffer). Own buffers start aligned.
  const grads = Array.from({ length: training ? count : 0 }, () => shared(total));
  const control = new SharedArrayBuffer(CONTROL.length * 4);
  const versions = new Int32Array(control);
  const exchange = new SharedArrayBuffer(training ? exchangeBytes(count, setup.shapes.length) : 0);
  /** Wakes replicas waiting at a step's barrier for good (a thread failed, or the pool closed). */
  const abort = (): void => {
    Atomics.store(versions, CONTROL.aborted, 1);
    Atomics.notify(versions, CONTROL.generation);
  };
  const slices = shardRanges(total, count);
  /** Each replica's rows block (messages.ts StepRequest), made at its first step and replaced by a larger one when a shard outgrows it. */
  const rowBlocks: (Float32Array | null)[] = Array.from({ length: count }, () => null);
  const pending = new Map<number, Pending>();
  let nextId = 0;
  /** The step being traced (VAE_STEP_TRACE=1). */
  let tracing: StepTrace | null = null;
  let broken: Error | null = null;

  const fail = (error: Error): void => {
    broken ??= error;
    abort();
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };

  // Each thread's isolate starts with a larger old generation: fewer full collections a step (isolate-heap.ts).
  configureThreadHeaps();
  const threads: Worker[] = [];
  const ready = Array.from({ length: count }, (_, index) => {
    const data: ReplicaThreadData = {
      ...setup,
      index,
      backend: options.backend,
      ...(options.wasmDir === undefined ? {} : { wasmDir: options.wasmDir }),
      params,
      m,
      v,
      grads,
      count,
      control,
      exchange,
    };
    const thread = new Worker(script, { workerData: data });
    thread.unref();
    threads.push(thread);
    return new Promise<void>((resolve, reject) => {
      thread.on('message', (message: ToPool) => {
        if (message.type === 'ready') {
          resolve();
          return;
        }
        if (message.type === 'failed') {
          const error = new Error(`training thread ${index + 1}: ${message.message}`);
          if (message.id === null) reject(error);
          else fail(error);
          return;
        }
        const waiting = pending.get(message.id);
        if (waiting === undefined) return;
        pending.delete(message.id);
        waiting.resolve(message);
      });
      thread.on('error', (error) => {
        const wrapped = new Error(`training thread ${index + 1} failed: ${error.message}`);
        reject(wrapped);
        fail(wrapped);
      });
      thread.on('exit', (code) => {
        const error = new Error(`training thread ${index + 1} exited (code ${code})`);
        reject(error);
        fail(error);
      });
    });
  });

  const close = (): void => {
    // Through fail(), as a thread's exit would: a request still out (an Inpaint cancelled
    // mid-iteration) would otherwise wait for ever, since the exit listeners go next.
    fail(new Error('the training threads were closed'));
    for (const thread of threads) {
      thread.removeAllListeners('exit');
      void thread.terminate();
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(ready),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the training threads did not start in time')), options.startTimeoutMs ?? 60_000);
      }),
    ]);
  } catch (error) {
    close();
    throw error;
  } finally {
    clearTimeout(timer);
  }

  /** Sends one request to a thread and resolves with its answer. */
  const ask = (index: number, request: ToReplica, transfer: ArrayBuffer[] = []): Promise<ToPool> =>
    new Promise((resolve, reject) => {
      pending.set(request.id, { resolve, reject });
      threads[index]!.postMessage(request, transfer);
    });
  /** A step's answer: the loss terms, and views of the thread's gradient block. */
  const gradientsOf = (index: number, message: ToPool): ReplicaGradients => {
    if (message.type !== 'grads') throw new Error(`training thread ${index + 1} answered ${message.type} to a step`);
    const block = grads[index]!;
    return {
      loss: message.loss,
      recon: message.recon,
      kl: message.kl,
      grads: message.present.map((present, i) => (present ? new Float32Array(block, offsets[i]! * 4, sizes[i]) : null)),
      ...(message.codes === null ? {} : { codes: message.codes }),
    };
  };

  /** A batch's posterior means ('encode') or decoder means ('decode'), on thread `thread` mod count. */
  const latentRows = async (type: 'encode' | 'decode', thread: number, values: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array> => {
    if (broken) throw broken;
    const rows = values.slice();
    const request: ToReplica = { type, id: nextId++, rows, n, labels: labels === undefined ? null : Int32Array.from(labels) };
    const answer = await ask(thread % count, request, [rows.buffer as ArrayBuffer]);
    if (answer.type !== 'latent') throw new Error(`thread ${(thread % count) + 1} answered ${answer.type} to ${type === 'encode' ? 'an encoding' : 'a decoding'}`);
    return answer.values;
  };

  return {
    count,
    parameters: new Float32Array(params),
    m: new Float32Array(m),
    v: new Float32Array(v),
    published(): void {
      // What a thread compares before a step: bumped after the weights are written.
      Atomics.add(versions, CONTROL.version, 1);
    },
    gradients(shards: readonly (StepInputs | null)[], codebook?: Float32Array, update?: AdamStep): Promise<(ReplicaGradients | null)[]> {
      if (broken) return Promise.reject(broken);
      if (shards.length !== count) return Promise.reject(new Error(`${shards.length} shards for ${count} replicas`));
      if (stepTraceOn) {
        tracing = { coordinator: { send: traceNow() }, replicas: shards.map(() => ({})) };
        stepTraces.push(tracing);
      }
      const answers = Promise.all(
        shards.map((shard, index) => {
          // With an update every replica meets at the barrier, one without rows too.
          if (shard === null && update === undefined) return Promise.resolve(null);
          // The rows into the replica's block (it has read the last step's: every answer is in).
          const batchLength = shard?.batch.length ?? 0;
          const corruptedLength = shard === null || shard.corrupted === shard.batch ? null : shard.corrupted.length;
          const epsLength = shard?.eps.length ?? 0;
          const at = rowsLayout(batchLength, corruptedLength ?? 0, epsLength);
          let block = rowBlocks[index]!;
          let rowsBlock: SharedArrayBuffer | null = null;
          if (block === null || block.length < at.total) {
            rowsBlock = new SharedArrayBuffer(at.total * 4);
            block = new Float32Array(rowsBlock);
            rowBlocks[index] = block;
          }
          if (shard !== null) {
            block.set(shard.batch, 0);
            if (corruptedLength !== null) block.set(shard.corrupted, at.corrupted);
            block.set(shard.eps, at.eps);
          }
          const [from, to] = slices[index]!;
          const request: ToReplica = {
            type: 'step',
            id: nextId++,
            rowsBlock,
            batchLength,
            corruptedLength,
            epsLength,
            n: shard?.n ?? 0,
            labels: shard?.labels === undefined ? null : Int32Array.from(shard.labels),
            stepNumber: shard?.stepNumber ?? update?.stepNumber ?? 0,
            // Cloned for each thread (small: K·e values).
            codebook: codebook ?? null,
            update: update === undefined ? null : { step: update, from, to },
          };
          return ask(index, request).then((answer) => {
            if (tracing !== null && answer.type === 'grads' && answer.marks !== undefined) Object.assign(tracing.replicas[index]!, answer.marks);
            return shard === null ? null : gradientsOf(index, answer);
          });
        }),
      );
      const trace = tracing;
      return answers.then((values) => {
        // The replicas wrote new weights when the step's loss was finite (they decide as the coordinator does).
        if (update !== undefined && Number.isFinite(weightedLoss(values.map((answer) => answer?.loss ?? 0), update.weights))) {
          Atomics.add(versions, CONTROL.version, 1);
        }
        if (trace !== null) trace.coordinator['grads-in'] = traceNow();
        return values;
      });
    },
    failed: () => broken,
    async logLikelihood(thread: number, batch: Float32Array, n: number, k: number, noise: Float32Array[], labels?: BatchLabels): Promise<Float64Array> {
      if (broken) throw broken;
      const rows = batch.slice();
      const draws = noise.map((values) => values.slice());
      const request: ToReplica = { type: 'iwae', id: nextId++, batch: rows, n, k, noise: draws, labels: labels === undefined ? null : Int32Array.from(labels) };
      const answer = await ask(thread % count, request, [rows.buffer, ...draws.map((values) => values.buffer)] as ArrayBuffer[]);
      if (answer.type !== 'iwae') throw new Error(`training thread ${(thread % count) + 1} answered ${answer.type} to an IWAE batch`);
      return answer.values;
    },
    async openChains(thread: number, key: number, chains: ChainSetup): Promise<void> {
      if (broken) throw broken;
      await ask(thread % count, { type: 'chains-open', id: nextId++, key, setup: chains });
    },
    async stepChains(thread: number, key: number, noises: ChainNoise[]): Promise<ChainRows[]> {
      if (broken) throw broken;
      const buffers = noises.flatMap((noise) => [noise.uniforms, noise.eps, noise.pixels, ...(noise.labelUniforms === null ? [] : [noise.labelUniforms])].map((v) => v.buffer as ArrayBuffer));
      const answer = await ask(thread % count, { type: 'chains-step', id: nextId++, key, noises }, buffers);
      if (answer.type !== 'chains' || answer.rows === null) throw new Error(`thread ${(thread % count) + 1} answered ${answer.type} to an imputation step`);
      return answer.rows;
    },
    encodeMean: (thread: number, batch: Float32Array, n: number, labels?: BatchLabels) => latentRows('encode', thread, batch, n, labels),
    decodeMean: (thread: number, codes: Float32Array, n: number, labels?: BatchLabels) => latentRows('decode', thread, codes, n, labels),
    closeChains(thread: number, key: number): void {
      // No answer: the thread frees them when it gets there.
      if (!broken) threads[thread % count]!.postMessage({ type: 'chains-close', id: nextId++, key } satisfies ToReplica);
    },
    close,
  };
}
