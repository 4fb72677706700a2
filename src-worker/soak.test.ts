// Soak: train, checkpoint, resume and evaluate (validation ELBO every epoch, IWAE on the
// test split) round after round, and show that neither tensors nor process memory grow.
// CI runs it for VAE_STUDIO_SOAK_SECONDS (default 40); set e.g. 300 for a longer soak.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { defaultRunConfig, type RunConfig } from '@shared/config';
import { tf } from './engine/tf';
import { decodeCheckpoint, encodeCheckpoint } from './io/checkpoint-file';
import { syntheticImages, useBackend } from './testing/setup';
import type { TrainingCheckpoint } from './train/checkpoint-state';
import { train } from './train/loop';

const SOAK_SECONDS = Number(process.env['VAE_STUDIO_SOAK_SECONDS'] ?? 40);
const MiB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const images = syntheticImages(120, 16, 16);
const split = {
  train: Int32Array.from({ length: 96 }, (_, i) => i),
  validation: Int32Array.from({ length: 12 }, (_, i) => 96 + i),
  test: Int32Array.from({ length: 12 }, (_, i) => 108 + i),
};
const config: RunConfig = { ...defaultRunConfig(), architecture: 'conv', hidden: 64, latent: 8, batchSize: 32, epochs: 2, iwaeSamples: 16, seed: 11 };

/** One round: two epochs from scratch, then epoch 2 again from epoch 1's checkpoint through the file format, with the IWAE bound. */
let liveDuringRound = 0;

async function round(seed: number): Promise<number> {
  const checkpoints: TrainingCheckpoint[] = [];
  const listener = {
    metrics: () => {},
    progress: () => {},
    // The model, Adam's moments and the fixed evaluation inputs are alive here.
    epoch: () => (liveDuringRound = Math.max(liveDuringRound, tf.memory().numTensors)),
    image: () => {},
    checkpoint: (c: TrainingCheckpoint) => checkpoints.push(c),
  };
  const common = { images, split, listener, shouldStop: () => false, yieldToEventLoop: () => Promise.resolve() };
  await train({ ...common, config: { ...config, seed } });
  const resume = decodeCheckpoint(encodeCheckpoint(checkpoints[0]!, config)).checkpoint;
  const resumed = await train({ ...common, config: { ...config, seed }, resume });
  return resumed.summary['test_nll']!;
}

interface Sample {
  round: number;
  seconds: number;
  tensors: number;
  tensorBytes: number;
  rssMiB: number;
  heapMiB: number;
}

function sample(roundNo: number, started: number): Sample {
  gc();
  const memory = process.memoryUsage();
  return {
    round: roundNo,
    seconds: (Date.now() - started) / 1000,
    tensors: tf.memory().numTensors,
    tensorBytes: tf.memory().numBytes,
    rssMiB: memory.rss / MiB,
    heapMiB: memory.heapUsed / MiB,
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('soak', () => {
  it(`trains and evaluates for ${SOAK_SECONDS} s with a flat tensor count and flat process memory`, async () => {
    await useBackend('wasm');
    const started = Date.now();
    // Warm-up: kernels compiled, the wasm heap grown to its working size, caches filled.
    for (let i = 0; i < 2; i++) expect(Number.isFinite(await round(100 + i))).toBe(true);
    const samples = [sample(0, started)];
    for (let i = 1; Date.now() - started < SOAK_SECONDS * 1000 || i <= 6; i++) {
      expect(Number.isFinite(await round(i))).toBe(true);
      samples.push(sample(i, started));
    }
    const first = samples[0]!;
    const last = samples.at(-1)!;
    console.log(
      [
        `soak: ${samples.length - 1} rounds (each 2 epochs + a resumed epoch + IWAE, conv VAE) in ${last.seconds.toFixed(0)} s`,
        `  tensors      ${first.tensors} → ${last.tensors} between rounds (${(first.tensorBytes / MiB).toFixed(2)} → ${(last.tensorBytes / MiB).toFixed(2)} MiB), up to ${liveDuringRound} alive while training`,
        `  process RSS  ${first.rssMiB.toFixed(1)} → ${last.rssMiB.toFixed(1)} MiB (max ${Math.max(...samples.map((s) => s.rssMiB)).toFixed(1)})`,
        `  JS heap      ${first.heapMiB.toFixed(1)} → ${last.heapMiB.toFixed(1)} MiB`,
      ].join('\n'),
    );
    expect(liveDuringRound).toBeGreaterThan(first.tensors);
    // Every round disposes what it made: the count is exactly the same after each one.
    for (const s of samples) expect(s.tensors, `round ${s.round}`).toBe(first.tensors);
    for (const s of samples) expect(s.tensorBytes, `round ${s.round}`).toBe(first.tensorBytes);
    // Memory: the median of the last three samples against the first three. A leak of a
    // round's tensors (several MiB each) would show after a few rounds; allocator noise
    // stays under the tolerance.
    const third = Math.max(3, Math.floor(samples.length / 3));
    const early = median(samples.slice(0, third).map((s) => s.rssMiB));
    const late = median(samples.slice(-third).map((s) => s.rssMiB));
    console.log(`soak: median RSS of the first and last ${third} samples: ${early.toFixed(1)} → ${late.toFixed(1)} MiB`);
    expect(late - early, `RSS ${early.toFixed(1)} → ${late.toFixed(1)} MiB`).toBeLessThan(48);
    const heapEarly = median(samples.slice(0, third).map((s) => s.heapMiB));
    const heapLate = median(samples.slice(-third).map((s) => s.heapMiB));
    expect(heapLate - heapEarly, `heap ${heapEarly.toFixed(1)} → ${heapLate.toFixed(1)} MiB`).toBeLessThan(16);
  }, (SOAK_SECONDS + 120) * 1000);
});
