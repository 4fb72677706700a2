import { describe, expect, it } from 'vitest';
import { runConfigSchema } from '@shared/config';
import { activationsPerImage, THREAD_JS_HEAP_BYTES } from '../model/memory';
import { parameterCount } from '../model/vae';
import { syntheticImages } from '../testing/setup';
import { modelSpec } from '../train/model-spec';
import { iwaeRowsPerChunk } from '../train/trainer';
import { chooseInferenceThreads } from './inference-threads';

describe('how many inference threads (evaluation, imputation)', () => {
  const images = syntheticImages(4, 28, 28);
  const conv = runConfigSchema.parse({ architecture: 'conv', latent: 16, hidden: 256 });
  const plenty = { cores: 8, memoryBytes: 64 * 1024 ** 3 };

  it('the physical cores, or the run’s threads setting, whatever the batch size', () => {
    expect(chooseInferenceThreads(conv, images, 'wasm', 'evaluation', plenty)).toEqual({ threads: 8, note: 'evaluation: 8 threads, one copy of the model each' });
    expect(chooseInferenceThreads({ ...conv, threads: 3, batchSize: 8 }, images, 'wasm', 'inference', plenty)).toEqual({ threads: 3, note: 'inference: 3 threads, one copy of the model each' });
    expect(chooseInferenceThreads({ ...conv, threads: 1 }, images, 'wasm', 'evaluation', plenty)).toEqual({ threads: 1, note: 'evaluation: 1 thread' });
  });

  it('lowers the count, saying so, when the copies would not fit in memory; one thread when two do not', () => {
    const spec = modelSpec(conv, images);
    const perThread = 4 * (parameterCount(spec) + iwaeRowsPerChunk(784) * activationsPerImage(spec)) + THREAD_JS_HEAP_BYTES;
    const memoryBytes = 3.5 * perThread;
    const chosen = chooseInferenceThreads(conv, images, 'wasm', 'evaluation', { cores: 8, memoryBytes });
    expect(chosen.threads).toBe(3);
    expect(chosen.note).toBe('evaluation: 3 threads, one copy of the model each (the 8 physical cores asked for 8; lowered: 8 copies of this model would not fit in memory)');
    expect(chooseInferenceThreads(conv, images, 'wasm', 'evaluation', { cores: 8, memoryBytes: 1.5 * perThread }).threads).toBe(1);
  });

  it('one thread, saying why, for a code model and for a backend with kernels of its own', () => {
    const vq = runConfigSchema.parse({ family: 'vqvae', architecture: 'conv' });
    expect(chooseInferenceThreads(vq, images, 'wasm', 'evaluation', plenty).note).toBe("evaluation: 1 thread — a vqvae's work is not split across threads yet");
    expect(chooseInferenceThreads(conv, images, 'webgpu', 'inference', plenty)).toEqual({ threads: 1, note: 'inference: 1 thread — threads split wasm work; webgpu runs its own kernels' });
  });
});
