import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runConfigSchema, type RunConfig } from '@shared/config';
import { splitIndices } from '@shared/random';
import { createRng, replayNormals } from '../engine/random';
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON } from '../train/adam';
import { wasmBinaryDir } from '../io/wasm-files';
import { syntheticImages, useBackend } from '../testing/setup';
import { adamRange, DataParallelTrainer, shardRanges, weightedLoss, type AdamStep, type GradientReplicas, type ReplicaGradients, type ReplicaSetup } from '../train/data-parallel';
import type { ParallelOptions } from '../train/engine-trainer';
import { gatherBatch } from '../train/images';
import { encodeCheckpoint, decodeCheckpoint } from '../io/checkpoint-file';
import type { TrainingCheckpoint } from '../train/checkpoint-state';
import { train } from '../train/loop';
import { modelSpec } from '../train/model-spec';
import { VaeTrainer, type StepInputs } from '../train/trainer';
import { VqVaeTrainer } from '../train/vq-trainer';
import { publishWeightsOf, startReplicaThreads } from './replica-pool';

/**
 * Data-parallel training on real worker threads (out/main/train-thread.js: `npm run
 * build` first). One thread must give the numbers the trainer gave before threads
 * existed (fixture recorded then), and a thread count must give the same run twice.
 */
const SCRIPT = process.env['VAE_TRAIN_THREAD_JS'] ?? resolve(import.meta.dirname, '../../out/main/train-thread.js');
const FIXTURE = JSON.parse(readFileSync(resolve(import.meta.dirname, '../train/fixtures/single-thread-losses.json'), 'utf8')) as {
  cases: Record<string, Partial<RunConfig>>;
  losses: Record<string, [number, number, number][]>;
};

const VQ_FIXTURE = JSON.parse(readFileSync(resolve(import.meta.dirname, '../train/fixtures/single-thread-vq-losses.json'), 'utf8')) as {
  cases: Record<string, Partial<RunConfig>>;
  losses: Record<string, [number, string, number][]>;
};
/** What the VQ fixture holds of a run's metrics: the step's terms and codebook figures, and validation. */
const VQ_METRICS = new Set(['loss', 'recon', 'kl', 'commitment', 'perplexity', 'codes_restarted', 'val_elbo', 'val_perplexity', 'val_codes_used']);

const labelled = () => ({ ...syntheticImages(40, 8, 8), labels: Int32Array.from({ length: 40 }, (_, i) => i % 3), classes: 3 });
/** Parsed as a stored config is: the fixture's cases were recorded with the names of their time (`model`). */
const configOf = (extra: Partial<RunConfig>): RunConfig =>
  runConfigSchema.parse({ hidden: 32, latent: 3, batchSize: 8, epochs: 2, validationFraction: 0.25, ...extra });

const threadsOn = (threads: number): ParallelOptions => ({
  threads,
  start: (count, setup) => startReplicaThreads(count, setup, { backend: 'wasm', ...(wasmBinaryDir() ? { wasmDir: wasmBinaryDir()! } : {}), script: SCRIPT }),
});

/** [step, kind, value] of every loss (kind 0) and val_elbo (kind 1), and the run's summary. */
async function run(extra: Partial<RunConfig>, parallel?: ParallelOptions): Promise<{ losses: [number, number, number][]; summary: Record<string, number> }> {
  const { points, summary } = await metricsOf(extra, parallel);
  const losses = points.flatMap(([step, name, value]): [number, number, number][] =>
    name === 'loss' || name === 'val_elbo' ? [[step, name === 'loss' ? 0 : 1, value]] : [],
  );
  return { losses, summary };
}

/** [step, name, value] of every metric a run reports (bar its clock's), its summary and its checkpoints. */
async function metricsOf(
  extra: Partial<RunConfig>,
  parallel?: ParallelOptions,
  more: { resume?: TrainingCheckpoint; shouldStop?: () => boolean } = {},
): Promise<{ points: [number, string, number][]; summary: Record<string, number>; checkpoints: TrainingCheckpoint[] }> {
  const config = configOf(extra);
  const images = labelled();
  const points: [number, string, number][] = [];
  const checkpoints: TrainingCheckpoint[] = [];
  const result = await train({
    config,
    images,
    split: splitIndices(images.count, config.validationFraction, config.seed),
    listener: {
      metrics: (batch) => {
        for (const p of batch) if (!/seconds|per_sec/.test(p.name)) points.push([p.step, p.name, p.value]);
      },
      progress: () => {},
      epoch: () => {},
      image: () => {},
      checkpoint: (checkpoint) => checkpoints.push(checkpoint),
    },
    shouldStop: more.shouldStop ?? (() => false),
    yieldToEventLoop: () => Promise.resolve(),
    ...(parallel ? { parallel } : {}),
    ...(more.resume ? { resume: more.resume } : {}),
  });
  return { points, summary: result.summary, checkpoints };
}

beforeAll(async () => {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run \`npm run build\` first`);
  await useBackend('wasm');
});

describe('data-parallel training', () => {
  it('one thread gives the losses the single-thread trainer gave before threads existed, bit for bit', async () => {
    for (const [name, extra] of Object.entries(FIXTURE.cases)) {
      const { losses, summary } = await run(extra, threadsOn(1));
      expect(losses, name).toEqual(FIXTURE.losses[name]);
      expect(summary['threads']).toBe(1);
    }
  });

  it('two threads: the same run twice, and the one-thread losses up to float rounding', async () => {
    const first = await run({}, threadsOn(2));
    const second = await run({}, threadsOn(2));
    expect(first.summary['threads']).toBe(2);
    expect(second.losses).toEqual(first.losses);
    const single = FIXTURE.losses['mlp-vae']!;
    expect(first.losses.map(([s, k]) => [s, k])).toEqual(single.map(([s, k]) => [s, k]));
    first.losses.forEach(([, , value], i) => expect(Math.abs(value - single[i]![2]) / Math.abs(single[i]![2])).toBeLessThan(1e-4));
    // Not the same computation: a test that passed by running one thread would not see this.
    expect(first.losses).not.toEqual(single);
  });

  it('M2, and a denoising conv model with batches smaller than the thread count, train reproducibly on three threads', async () => {
    const cases: Partial<RunConfig>[] = [
      { family: 'm2', labelFraction: 0.5, epochs: 1 },
      { architecture: 'conv', hidden: 16, batchSize: 2, epochs: 1, validationFraction: 0.5, denoise: 'mask' },
    ];
    for (const extra of cases) {
      const a = await run(extra, threadsOn(3));
      const b = await run(extra, threadsOn(3));
      expect(a.summary['threads']).toBe(3);
      expect(a.losses.every(([, , v]) => Number.isFinite(v))).toBe(true);
      expect(b.losses).toEqual(a.losses);
    }
  });

  it('VQ-VAE: one thread gives the metrics recorded before its steps split, bit for bit; two threads the same run twice, close to one', async () => {
    for (const [name, extra] of Object.entries(VQ_FIXTURE.cases)) {
      const single = await metricsOf(extra, threadsOn(1));
      expect(single.points.filter(([, metric]) => VQ_METRICS.has(metric)), name).toEqual(VQ_FIXTURE.losses[name]);
      expect(single.summary['threads']).toBe(1);
    }
    const [name, extra] = Object.entries(VQ_FIXTURE.cases)[0]!;
    const recorded = VQ_FIXTURE.losses[name]!;
    const first = await metricsOf(extra, threadsOn(2));
    const second = await metricsOf(extra, threadsOn(2));
    expect(first.summary['threads']).toBe(2);
    expect(second.points).toEqual(first.points);
    const split = first.points.filter(([, metric]) => VQ_METRICS.has(metric));
    // The same metrics at the same steps: the codebook's figures every step, the prior's epoch (the last) included.
    expect(split.map(([step, metric]) => [step, metric])).toEqual(recorded.map(([step, metric]) => [step, metric]));
    split.forEach(([step, metric, value], i) => {
      const want = recorded[i]![2];
      expect(Math.abs(value - want), `${metric} at step ${step}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
    });
    // Not the same computation: a test that passed by running one thread would not see this.
    expect(split).not.toEqual(recorded);
  });

  it('VQ-VAE on two threads resumes from a checkpoint file exactly, on two threads or on one up to float rounding', async () => {
    const extra = VQ_FIXTURE.cases['mlp-vq']!;
    const whole = await metricsOf(extra, threadsOn(2));
    let polls = 0;
    // Stopped early in epoch 2: its checkpoint is epoch 1's.
    const first = await metricsOf(extra, threadsOn(2), { shouldStop: () => ++polls >= 7 });
    const saved = first.checkpoints.at(-1)!;
    expect(saved.epoch).toBe(1);
    const restored = decodeCheckpoint(encodeCheckpoint(saved, configOf(extra))).checkpoint;
    const after = (points: [number, string, number][]): [number, string, number][] =>
      points.filter(([step, metric]) => step > saved.step && VQ_METRICS.has(metric));
    const resumed = await metricsOf(extra, threadsOn(2), { resume: restored });
    expect(after(resumed.points).length).toBeGreaterThan(10);
    expect(after(resumed.points)).toEqual(after(whole.points));
    const onOne = await metricsOf(extra, threadsOn(1), { resume: restored });
    after(onOne.points).forEach(([step, metric, value], i) => {
      const want = after(whole.points)[i]!;
      expect([step, metric]).toEqual([want[0], want[1]]);
      expect(Math.abs(value - want[2]), `${metric} at step ${step}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[2])));
    });
  });

  it("VQ-VAE: a replica's answer without its rows' codes fails the step by name, before the codebook moves", async () => {
    const config = configOf({ family: 'vqvae', codebookSize: 8, codeDim: 4, codePositions: 4, priorEpochs: 1 });
    const images = labelled();
    const local = new VqVaeTrainer({ kind: 'mlp', image: images.shape, hidden: 32, codeDim: 4, positions: 4 }, config);
    const total = local.parameterShapes().reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
    const before = await local.codebookValues();
    const replicas: GradientReplicas = {
      count: 2,
      parameters: new Float32Array(total),
      m: new Float32Array(total),
      v: new Float32Array(total),
      published: () => {},
      // Replica 2 answers like a Gaussian model's replica: no codes.
      gradients: (shards) => Promise.resolve(shards.map((shard, r) => (shard === null ? null : { loss: 1, recon: 1, kl: 0, grads: [], ...(r === 0 ? { codes: { ze: new Float32Array(shard.n * 16), codes: new Int32Array(shard.n * 4) } } : {}) }))),
      logLikelihood: () => Promise.reject(new Error('a code model has no IWAE threads')),
      close: () => {},
    };
    const trainer = new DataParallelTrainer(local, replicas);
    await expect(trainer.step(gatherBatch(images, [0, 1, 2, 3], 0, 4), 4)).rejects.toThrow(/training thread 2 sent no codes for a code model's step/);
    expect(await local.codebookValues()).toEqual(before);
    trainer.dispose();
  });

  it.each([['clean', 'none'], ['denoising', 'gaussian']] as const)('a gradient through a thread and shared memory is the in-process gradient exactly (%s input), with shards that shrink and grow between steps', async (_name, denoise) => {
    const config = configOf({ architecture: 'conv', hidden: 16, denoise });
    const images = labelled();
    const spec = modelSpec(config, images);
    // A replica in this thread: what the thread pool must be indistinguishable from.
    const inProcess = (setup: ReplicaSetup): GradientReplicas => {
      if (setup.engine === 'codes') throw new Error('a Gaussian model was expected');
      const replica = new VaeTrainer(setup.spec, setup.config);
      const sizes = setup.shapes.map((shape) => shape.reduce((a, b) => a * b, 1));
      const total = sizes.reduce((a, b) => a + b, 0);
      const parameters = new Float32Array(total);
      const block = new Float32Array(total);
      const load = (): void => {
        let offset = 0;
        replica.setParameterValues(sizes.map((size) => parameters.subarray(offset, (offset += size))));
      };
      return {
        count: 1,
        parameters,
        m: new Float32Array(total),
        v: new Float32Array(total),
        published: load,
        async gradients(shards: readonly (StepInputs | null)[], _codebook?: Float32Array, update?: AdamStep): Promise<(ReplicaGradients | null)[]> {
          const shard = shards[0];
          if (!shard) return [null];
          const g = await replica.gradients(shard);
          let offset = 0;
          const grads: (Float32Array | null)[] = [];
          for (const [i, t] of g.grads.entries()) {
            if (t !== undefined) block.set(await t.data<'float32'>(), offset);
            grads.push(t === undefined ? null : block.subarray(offset, offset + sizes[i]!));
            offset += sizes[i]!;
          }
          g.grads.forEach((t) => t?.dispose());
          if (update !== undefined && Number.isFinite(g.loss * update.weights[0]!)) {
            adamRange({ ...update, present: [grads.map((values) => values !== null)] }, 0, total, sizes, [block], this);
            load();
          }
          return [{ loss: g.loss, recon: g.recon, kl: g.kl, grads }];
        },
        logLikelihood: (_thread, batch, n, k, noise, labels) => replica.iwaeLogLikelihood(batch, n, k, replayNormals(noise), labels),
        close: () => replica.dispose(),
      };
    };
    const losses = async (threaded: boolean): Promise<number[]> => {
      const local = new VaeTrainer(spec, config);
      const setup = { spec, config, shapes: local.parameterShapes() };
      const replicas = threaded ? await threadsOn(2).start(1, setup) : inProcess(setup);
      const trainer = new DataParallelTrainer(local, replicas!);
      const out: number[] = [];
      try {
        // The rows travel in a block of shared memory per replica: reused by a smaller step, replaced by a larger one.
        for (const [s, size] of [7, 3, 9, 5].entries()) {
          const rows = Array.from({ length: size }, (_, i) => (s * 7 + i) % images.count);
          out.push((await trainer.step(gatherBatch(images, rows, 0, rows.length), rows.length)).loss);
        }
        const state = await trainer.exportState();
        out.push(...state.tensors[0]!.values.subarray(0, 16));
      } finally {
        trainer.dispose();
      }
      return out;
    };
    expect(await losses(true)).toEqual(await losses(false));
  });

  it('a training thread that dies mid-run fails the step with its reason; one that cannot start is refused at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vae-thread-'));
    try {
      // A thread that starts, then exits on its first step (as a crash or an out-of-memory kill would end it).
      const dies = join(dir, 'dies.mjs');
      writeFileSync(dies, "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ type: 'ready' });\nparentPort.on('message', () => process.exit(7));\n");
      const config = configOf({});
      const images = labelled();
      const spec = modelSpec(config, images);
      const local = new VaeTrainer(spec, config);
      const setup = { spec, config, shapes: local.parameterShapes() };
      const trainer = new DataParallelTrainer(local, await startReplicaThreads(2, setup, { backend: 'wasm', script: dies }));
      const rows = [0, 1, 2, 3];
      await expect(trainer.step(gatherBatch(images, rows, 0, 4), 4)).rejects.toThrow(/training thread \d exited \(code 7\)/);
      trainer.dispose();
      const broken = join(dir, 'broken.mjs');
      writeFileSync(broken, "throw new Error('no wasm here');\n");
      await expect(startReplicaThreads(1, setup, { backend: 'wasm', script: broken })).rejects.toThrow(/training thread 1 failed: no wasm here/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the replicas take the optimizer step among themselves: a step whose loss is not finite leaves the weights as they were, and a replica that fails at the barrier fails the step with its reason instead of leaving the others waiting', async () => {
    const config = configOf({ architecture: 'conv', hidden: 16 });
    const images = labelled();
    const spec = modelSpec(config, images);
    const local = new VaeTrainer(spec, config);
    const wasmDir = wasmBinaryDir();
    const replicas = await startReplicaThreads(2, { spec, config, shapes: local.parameterShapes() }, { backend: 'wasm', ...(wasmDir ? { wasmDir } : {}), script: SCRIPT });
    try {
      await publishWeightsOf(replicas, local);
      const x = gatherBatch(images, [0, 1, 2, 3, 4, 5], 0, 6);
      const inputs = { ...local.drawStep(x, 6), stepNumber: 1 };
      const D = local.inputSize;
      const shard = (from: number, to: number, batch = inputs.batch): StepInputs => ({
        batch: batch.subarray(from * D, to * D),
        corrupted: batch.subarray(from * D, to * D),
        eps: inputs.eps.subarray(from * local.latent, to * local.latent),
        n: to - from,
        stepNumber: 1,
      });
      const update = { stepNumber: 1, learningRate: 1e-3, weights: [0.5, 0.5] };
      const before = replicas.parameters.slice();
      // A NaN pixel in replica 2's rows: the step's loss is NaN, so neither replica touches its slice.
      const poisoned = inputs.batch.slice();
      poisoned[4 * D] = NaN;
      const answers = await replicas.gradients([shard(0, 3), shard(3, 6, poisoned)], undefined, update);
      expect(Number.isFinite(answers[0]!.loss)).toBe(true);
      expect(Number.isNaN(answers[1]!.loss)).toBe(true);
      expect(replicas.parameters).toEqual(before);
      // The barrier is ready for the next step: a finite one moves both replicas' slices.
      await replicas.gradients([shard(0, 3), shard(3, 6)], undefined, update);
      const moved = replicas.parameters.map((value, i) => (value === before[i] ? 0 : 1));
      expect(moved.subarray(0, moved.length / 2).some((m) => m === 1)).toBe(true);
      expect(moved.subarray(moved.length / 2).some((m) => m === 1)).toBe(true);
      // Replica 2's rows cannot make a tensor (noise for 2 rows, 3 declared): replica 1, already at the barrier, is released.
      const broken = { ...shard(3, 6), eps: inputs.eps.subarray(3 * local.latent, 5 * local.latent) };
      const started = performance.now();
      await expect(replicas.gradients([shard(0, 3), broken], undefined, update)).rejects.toThrow(/training thread 2: .*shape/);
      expect(performance.now() - started).toBeLessThan(5_000);
      await expect(replicas.gradients([shard(0, 3), shard(3, 6)], undefined, update)).rejects.toThrow(/training thread 2/);
    } finally {
      replicas.close();
      local.dispose();
    }
  });

  it("the optimizer step's loops for one, two and more replicas give the general formula's numbers bit for bit, a variable without a gradient untouched", () => {
    const sizes = [5, 3, 1000];
    const total = 1008;
    const rng = createRng(3);
    const block = (): Float32Array => Float32Array.from(rng.normals(total));
    const grads = [block(), block(), block()];
    const start = { parameters: block(), m: block().map(Math.abs), v: block().map(Math.abs) };
    // The formula written out once, element by element (PyTorch's Adam on the weighted sum in replica order).
    const reference = (weights: number[], present: boolean[][], stepNumber: number, lr: number): Float32Array[] => {
      const p = start.parameters.slice();
      const m = start.m.slice();
      const v = start.v.slice();
      let offset = 0;
      sizes.forEach((size, i) => {
        const from = weights.map((w, r) => (w > 0 && present[r]![i] ? r : -1)).filter((r) => r >= 0);
        for (let k = offset; k < offset + size && from.length > 0; k++) {
          let g = weights[from[0]!]! * grads[from[0]!]![k]!;
          for (const r of from.slice(1)) g += weights[r]! * grads[r]![k]!;
          m[k] = ADAM_BETA1 * m[k]! + (1 - ADAM_BETA1) * g;
          v[k] = ADAM_BETA2 * v[k]! + (1 - ADAM_BETA2) * g * g;
          p[k] = p[k]! - (m[k]! / (Math.sqrt(v[k]! * (1 / (1 - ADAM_BETA2 ** stepNumber))) + ADAM_EPSILON)) * (lr / (1 - ADAM_BETA1 ** stepNumber));
        }
        offset += size;
      });
      return [p, m, v];
    };
    const cases: { weights: number[]; present: boolean[][] }[] = [
      { weights: [1], present: [[true, true, true]] },
      { weights: [0.5, 0.5], present: [[true, false, true], [true, false, true]] },
      { weights: [0.75, 0.25], present: [[true, true, true], [false, true, true]] },
      { weights: [0.4, 0.4, 0.2], present: [[true, true, true], [true, true, true], [true, false, true]] },
      { weights: [1, 0], present: [[true, true, true], []] },
    ];
    for (const { weights, present } of cases) {
      const state = { parameters: start.parameters.slice(), m: start.m.slice(), v: start.v.slice() };
      const step = { stepNumber: 7, learningRate: 1e-3, weights, present };
      // In two slices that cut a variable, as two replicas would.
      adamRange(step, 0, 400, sizes, grads.slice(0, weights.length), state);
      adamRange(step, 400, total, sizes, grads.slice(0, weights.length), state);
      const [p, m, v] = reference(weights, present, 7, 1e-3);
      expect([state.parameters, state.m, state.v], JSON.stringify(weights)).toEqual([p, m, v]);
    }
    // Not vacuous: the weights moved, and the variable no replica had a gradient of did not.
    const state = { parameters: start.parameters.slice(), m: start.m.slice(), v: start.v.slice() };
    adamRange({ stepNumber: 1, learningRate: 1e-3, ...cases[1]! }, 0, total, sizes, grads.slice(0, 2), state);
    expect(state.parameters.subarray(0, 5)).not.toEqual(start.parameters.subarray(0, 5));
    expect(state.parameters.subarray(5, 8)).toEqual(start.parameters.subarray(5, 8));
  });

  it('the step loss the replicas and the coordinator decide by: shares of replicas with rows, summed in replica order', () => {
    expect(weightedLoss([2, 4], [0.5, 0.5])).toBe(3);
    expect(weightedLoss([2, NaN], [1, 0])).toBe(2);
    expect(weightedLoss([2, NaN], [0.5, 0.5])).toBeNaN();
    expect(weightedLoss([0.1, 0.2, 0.3], [0.25, 0.5, 0.25])).toBe(0 + 0.1 * 0.25 + 0.2 * 0.5 + 0.3 * 0.25);
  });

  it('splits a batch into contiguous shards, the larger first, never leaving this thread empty', () => {
    expect(shardRanges(8, 2)).toEqual([[0, 4], [4, 8]]);
    expect(shardRanges(7, 3)).toEqual([[0, 3], [3, 5], [5, 7]]);
    expect(shardRanges(1, 3)).toEqual([[0, 1], [1, 1], [1, 1]]);
  });
});
