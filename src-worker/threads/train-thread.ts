import { parentPort, workerData } from 'node:worker_threads';
import { setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../engine/tf';
import { takeValues } from '../engine/read';
import { registerWasmKernels } from '../backends/wasm-kernels/register';
import { replayNormals } from '../engine/random';
import { adamRange, weightedLoss } from '../train/data-parallel';
import { VaeTrainer, type StepGradients, type StepInputs } from '../train/trainer';
import { VqVaeTrainer } from '../train/vq-trainer';
import { ChainImputer, type ChainRows } from '../impute/chain';
import { stepTraceOn, threadCpuMs, traceNow } from './step-trace';
import { allocTraceOn, reportAllocs, startAllocTrace } from './alloc-trace';
import { CONTROL, layout, rowsLayout, type ChainsRequest, type LatentRequest, type IwaeRequest, type ReplicaThreadData, type StepRequest, type ToPool, type ToReplica } from './messages';

/**
 * A training replica: one worker thread with its own tfjs and wasm instance and a copy
 * of the model, computing the gradient of the rows it is sent at the weights in shared
 * memory (see train/data-parallel.ts), or the IWAE estimates of the batches it is sent
 * (train/evaluate.ts: the test bound, the evaluation job). Built as its own entry
 * A code model's replica quantizes with the codebook sent with the step and sends its
 * rows' z_e and codes back. Built as its own entry (out/main/train-thread.js).
 */
if (parentPort === null) throw new Error('train-thread runs as a worker thread');
const port = parentPort;
const data = workerData as ReplicaThreadData;
const post = (message: ToPool): void => port.postMessage(message);
const why = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function start(): Promise<void> {
  // VAE_ALLOC_TRACE=1: the buffers this thread's steps allocate, by call site, every 8 steps (threads/alloc-trace.ts).
  if (allocTraceOn) startAllocTrace();
  let stepsTraced = 0;
  if (data.backend === 'wasm') {
    if (data.wasmDir !== undefined) setWasmPaths(data.wasmDir);
    registerWasmKernels('wasm');
  }
  if (!(await tf.setBackend(data.backend))) throw new Error(`the ${data.backend} backend did not start in a training thread`);
  /** A step's gradient, and a code model's rows (z_e and codes) for the coordinator's codebook update. */
  let gradients: (inputs: StepInputs, codebook: Float32Array | null) => Promise<StepGradients & { codes: { ze: Float32Array; codes: Int32Array } | null }>;
  let trainer: VaeTrainer | VqVaeTrainer;
  if (data.engine === 'codes') {
    const vq = new VqVaeTrainer(data.spec, data.config);
    trainer = vq;
    gradients = async (inputs, codebook) => {
      if (codebook === null) throw new Error("a code model's step came without its codebook");
      vq.setCodebook(codebook);
      const result = await vq.codeGradients(inputs);
      try {
        const codes = { ze: await takeValues(result.ze), codes: Int32Array.from(await result.codes.data()) };
        return { ...result, codes };
      } catch (error) {
        tf.dispose(result.grads.filter((g) => g !== undefined));
        throw error;
      } finally {
        tf.dispose([result.ze, result.codes]);
      }
    };
  } else {
    const vae = new VaeTrainer(data.spec, data.config);
    trainer = vae;
    gradients = async (inputs) => ({ ...(await vae.gradients(inputs)), codes: null });
  }
  const shapes = trainer.parameterShapes();
  if (shapes.map((s) => s.join('x')).join() !== data.shapes.map((s) => s.join('x')).join()) {
    throw new Error('a training thread built a model with other shapes than the coordinator');
  }
  const { offsets, sizes } = layout(shapes);
  const params = new Float32Array(data.params);
  // An inference thread's pool shares no gradient block.
  const training = data.grads.length > 0;
  const grads = training ? new Float32Array(data.grads[data.index]!) : new Float32Array(0);
  const everyGrads = data.grads.map((block) => new Float32Array(block));
  const state = { parameters: params, m: new Float32Array(data.m), v: new Float32Array(data.v) };
  const control = new Int32Array(data.control);
  // What the replicas of a step tell each other at its barrier: losses, then which variables have a gradient.
  const losses = training ? new Float64Array(data.exchange, 0, data.count) : new Float64Array(0);
  const presence = training ? new Uint8Array(data.exchange, data.count * 8, data.count * shapes.length) : new Uint8Array(0);
  // A gradient's values on its way to shared memory: on wasm a view of the wasm heap,
  // copied once by the caller (data() would copy it out of the heap first). The view is
  // used at once, before any kernel can grow (and so move) the heap.
  const heap = data.backend === 'wasm' ? (tf.backend() as BackendWasm) : null;
  const write = async (g: tf.Tensor, offset: number): Promise<void> => {
    if (heap !== null && g.dtype === 'float32') grads.set(heap.typedArrayFromHeap(g) as Float32Array, offset);
    else grads.set(await g.data<'float32'>(), offset);
  };
  let version = -1;

  // The shared weights, read again only after the coordinator (or an update) has changed them.
  const takeWeights = (): void => {
    const current = Atomics.load(control, CONTROL.version);
    if (current !== version) {
      trainer.setParameterValues(offsets.map((offset, i) => params.subarray(offset, offset + sizes[i]!)));
      version = current;
    }
  };

  // VAE_STEP_TRACE=1: each step's phase times go back with its answer (threads/step-trace.ts).
  let marks: Record<string, number> | undefined;
  const mark = (phase: string): void => {
    if (marks === undefined) return;
    marks[phase] = traceNow();
    marks[`cpu:${phase}`] = threadCpuMs();
  };
  /**
   * Waits until every replica of the step has arrived (the last to arrive releases the
   * others). False when the pool failed or closed meanwhile: the step is abandoned.
   */
  const barrier = (): boolean => {
    const generation = Atomics.load(control, CONTROL.generation);
    if (Atomics.add(control, CONTROL.arrived, 1) === data.count - 1) {
      Atomics.store(control, CONTROL.arrived, 0);
      Atomics.add(control, CONTROL.generation, 1);
      Atomics.notify(control, CONTROL.generation);
      return true;
    }
    while (Atomics.load(control, CONTROL.generation) === generation) {
      if (Atomics.load(control, CONTROL.aborted) !== 0) return false;
      Atomics.wait(control, CONTROL.generation, generation, 1000);
    }
    return true;
  };

  /** The rows block the coordinator writes each step's rows into (messages.ts StepRequest): kept from the step that brought it. */
  let rowsBlock: SharedArrayBuffer | null = null;
  /** Rows to gradient, into this replica's block of shared memory (no rows: no gradient). */
  const gradientOf = async (request: StepRequest): Promise<{ loss: number; recon: number; kl: number; present: boolean[]; codes: { ze: Float32Array; codes: Int32Array } | null }> => {
    if (request.rowsBlock !== null) rowsBlock = request.rowsBlock;
    if (request.n === 0) return { loss: 0, recon: 0, kl: 0, present: shapes.map(() => false), codes: null };
    if (rowsBlock === null) throw new Error('a step came before its rows block');
    // Views of the block (no copy): the step's tensors copy them in (wasm) or hold them until the step ends (cpu).
    const at = rowsLayout(request.batchLength, request.corruptedLength ?? 0, request.epsLength);
    const batch = new Float32Array(rowsBlock, 0, request.batchLength);
    const result = await gradients(
      {
        batch,
        corrupted: request.corruptedLength === null ? batch : new Float32Array(rowsBlock, at.corrupted * 4, request.corruptedLength),
        eps: new Float32Array(rowsBlock, at.eps * 4, request.epsLength),
        n: request.n,
        ...(request.labels === null ? {} : { labels: request.labels }),
        stepNumber: request.stepNumber,
      },
      request.codebook,
    );
    mark('forward+backward');
    try {
      const present: boolean[] = [];
      for (let i = 0; i < result.grads.length; i++) {
        const g = result.grads[i];
        present.push(g !== undefined);
        if (g !== undefined) await write(g, offsets[i]!);
      }
      return { loss: result.loss, recon: result.recon, kl: result.kl, present, codes: result.codes };
    } finally {
      tf.dispose(result.grads.filter((g) => g !== undefined));
    }
  };

  const step = async (request: StepRequest): Promise<void> => {
    mark('start');
    takeWeights();
    mark('weights');
    let answer: Awaited<ReturnType<typeof gradientOf>>;
    try {
      answer = await gradientOf(request);
    } catch (error) {
      // The others would wait for this gradient at the barrier: release them (the pool is failed anyway).
      if (request.update !== null) {
        Atomics.store(control, CONTROL.aborted, 1);
        Atomics.notify(control, CONTROL.generation);
      }
      throw error;
    }
    mark('write-out');
    const { update } = request;
    if (update !== null) {
      losses[data.index] = answer.loss;
      answer.present.forEach((present, i) => (presence[data.index * shapes.length + i] = present ? 1 : 0));
      // Abandoned (the pool failed or closed): no answer, the pool has already given its reason.
      if (!barrier()) return;
      mark('barrier');
      if (Number.isFinite(weightedLoss(losses, update.step.weights))) {
        const present = Array.from({ length: data.count }, (_, r) => shapes.map((_, i) => presence[r * shapes.length + i] === 1));
        adamRange({ ...update.step, present }, update.from, update.to, sizes, everyGrads, state);
      }
      mark('adam');
    }
    if (allocTraceOn && ++stepsTraced % 8 === 0) reportAllocs(`replica ${data.index + 1}, steps ${stepsTraced - 7}–${stepsTraced}`, 8);
    const { codes } = answer;
    const message: ToPool = { type: 'grads', id: request.id, loss: answer.loss, recon: answer.recon, kl: answer.kl, present: answer.present, codes, ...(marks === undefined ? {} : { marks }) };
    // A code model's rows are moved, not copied.
    port.postMessage(message, codes === null ? [] : [codes.ze.buffer as ArrayBuffer, codes.codes.buffer as ArrayBuffer]);
  };

  // Inference (IWAE, chains, the latent map, Explore's decoding) is a Gaussian model's: a code model gets no inference threads.
  const gaussian = (): VaeTrainer => {
    if (!(trainer instanceof VaeTrainer)) throw new Error("a code model's thread was asked for inference it does not do");
    return trainer;
  };

  const iwae = async (request: IwaeRequest): Promise<void> => {
    takeWeights();
    const labels = request.labels ?? undefined;
    const values = await gaussian().iwaeLogLikelihood(request.batch, request.n, request.k, replayNormals(request.noise), labels);
    port.postMessage({ type: 'iwae', id: request.id, values } satisfies ToPool, [values.buffer as ArrayBuffer]);
  };

  // Imputation chains held here, by key: the coordinator draws their noise and keeps the averages.
  const chains = new Map<number, ChainImputer>();
  const chainRequest = async (request: ChainsRequest): Promise<void> => {
    if (request.type === 'chains-open') {
      const { setup } = request;
      takeWeights();
      const vae = gaussian();
      const problem = {
        model: vae.model,
        decoder: vae.decoder,
        x: setup.x,
        n: setup.n,
        missing: setup.missing,
        init: setup.init,
        ...(setup.labels === null ? {} : { labels: setup.labels }),
        classifier: vae.classifier,
      };
      // Never drawn from: every iteration's noise comes with its request.
      const options = { method: setup.metropolis ? ('metropolis' as const) : ('pseudo-gibbs' as const), samples: setup.samples, proposals: 0, iterations: setup.iterations, rng: replayNormals([]) };
      chains.set(request.key, new ChainImputer(problem, options, setup.metropolis));
      post({ type: 'chains', id: request.id, rows: null });
      return;
    }
    const held = chains.get(request.key);
    if (request.type === 'chains-close') {
      held?.dispose();
      chains.delete(request.key);
      return;
    }
    if (held === undefined) throw new Error(`no chains ${request.key} on this thread`);
    takeWeights();
    const rows: ChainRows[] = [];
    for (const noise of request.noises) rows.push(await held.moveRows(noise));
    const buffers = rows.flatMap((r) => Object.values(r).filter((v): v is Float32Array => v !== null).map((v) => v.buffer as ArrayBuffer));
    port.postMessage({ type: 'chains', id: request.id, rows } satisfies ToPool, buffers);
  };

  const latent = async (request: LatentRequest): Promise<void> => {
    takeWeights();
    const vae = gaussian();
    const labels = request.labels ?? undefined;
    const values = await (request.type === 'encode' ? vae.encodeMean(request.rows, request.n, labels) : vae.decodeMean(request.rows, request.n, labels));
    port.postMessage({ type: 'latent', id: request.id, values } satisfies ToPool, [values.buffer as ArrayBuffer]);
  };

  // One request at a time, in the order they come.
  let queue = Promise.resolve();
  port.on('message', (request: ToReplica) => {
    if (stepTraceOn && request.type === 'step') {
      marks = {};
      mark('arrived');
    }
    queue = queue.then(() =>
      (request.type === 'step'
        ? step(request)
        : request.type === 'iwae'
          ? iwae(request)
          : request.type === 'encode' || request.type === 'decode'
            ? latent(request)
            : chainRequest(request)
      ).catch((error: unknown) =>
        post({ type: 'failed', id: request.id, message: why(error) }),
      ),
    );
  });
  post({ type: 'ready' });
}

start().catch((error: unknown) => post({ type: 'failed', id: null, message: why(error) }));
