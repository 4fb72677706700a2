import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import { activationsPerImage, checkTrainingMemory, inferenceThreadsThatFit, OUT_OF_MEMORY, THREAD_JS_HEAP_BYTES, threadsThatFit, trainingBytes, WASM_HEAP_BYTES } from './memory';
import { parameterCount, type VaeSpec } from './vae';

const conv = (side: number, channels: 1 | 3 = 1): VaeSpec => ({ kind: 'conv', image: { width: side, height: side, channels }, latent: 16, hidden: 64 });

describe('training memory estimate', () => {
  it('counts weights, gradients and both Adam moments, plus each layer output twice per image', () => {
    const mlp: VaeSpec = { kind: 'mlp', image: { width: 4, height: 4, channels: 1 }, latent: 2, hidden: 8 };
    // x 16, h 8, h 8, (μ, log σ²) 4, z 2, h 8, h 8, logits 16
    expect(activationsPerImage(mlp)).toBe(16 + 8 + 8 + 4 + 2 + 8 + 8 + 16);
    expect(trainingBytes(mlp, 10)).toBe(4 * (4 * parameterCount(mlp) + 2 * 10 * 70));
  });

  it('lets the usual models through on the wasm heap', () => {
    expect(() => checkTrainingMemory(conv(28), 128, WASM_HEAP_BYTES, 'the wasm backend')).not.toThrow();
    expect(() => checkTrainingMemory(conv(64, 3), 256, WASM_HEAP_BYTES, 'the wasm backend')).not.toThrow();
  });

  it('refuses a step that cannot fit with an out-of-memory reason, naming a batch size that fits', () => {
    let error: ApiError | undefined;
    try {
      checkTrainingMemory(conv(256), 320, WASM_HEAP_BYTES, 'the wasm backend');
    } catch (e) {
      error = e as ApiError;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect(error!.details).toMatchObject({ field: 'batchSize', reason: OUT_OF_MEMORY });
    expect(error!.message).toMatch(/needs at least \d+\.\d GB .* more than the 4\.0 GB the wasm backend can use/);
    const suggested = Number(/batch size to (\d+)/.exec(error!.message)![1]);
    expect(suggested).toBeGreaterThan(0);
    expect(suggested).toBeLessThan(320);
    expect(() => checkTrainingMemory(conv(256), suggested, WASM_HEAP_BYTES, 'the wasm backend')).not.toThrow();
    expect(() => checkTrainingMemory(conv(256), suggested + 1, WASM_HEAP_BYTES, 'the wasm backend')).toThrow(ApiError);
  });

  it('counts an M2 step once per class: a batch that fits a VAE can be refused for M2, with a batch size that fits it', () => {
    const spec = { ...conv(128), classes: 10 };
    expect(() => checkTrainingMemory(spec, 128, WASM_HEAP_BYTES, 'the wasm backend')).not.toThrow();
    let message = '';
    try {
      checkTrainingMemory(spec, 128, WASM_HEAP_BYTES, 'the wasm backend', 10);
    } catch (e) {
      message = (e as ApiError).message;
    }
    expect(message).toMatch(/batches of 128 images of 128×128×1 \(each encoded and decoded once per class, 10 times\)/);
    const suggested = Number(/batch size to (\d+)/.exec(message)![1]);
    expect(() => checkTrainingMemory(spec, suggested, WASM_HEAP_BYTES, 'the wasm backend', 10)).not.toThrow();
    expect(() => checkTrainingMemory(spec, suggested + 1, WASM_HEAP_BYTES, 'the wasm backend', 10)).toThrow(ApiError);
  });
});

describe('scaled conv size (the numbers the run form shows)', () => {
  it('counts more parameters and activations for larger presets, and refuses what the wasm heap cannot hold', () => {
    const image = { width: 64, height: 64, channels: 3 as const };
    const spec = (width: number, resBlocks: number, norm: 'none' | 'layer'): VaeSpec => ({ kind: 'conv', image, latent: 64, hidden: 256, conv: { width, resBlocks, norm } });
    const [small, medium, large] = [spec(16, 0, 'none'), spec(32, 1, 'layer'), spec(64, 1, 'layer')];
    expect(parameterCount(small)).toBeLessThan(parameterCount(medium));
    expect(parameterCount(medium)).toBeLessThan(parameterCount(large));
    expect(activationsPerImage(small)).toBeLessThan(activationsPerImage(medium));
    // Four stages at 64 px: the dense layer reads a 4×4 grid, not the classic 16×16.
    const classic: VaeSpec = { kind: 'conv', image, latent: 64, hidden: 256 };
    expect(parameterCount(classic)).toBeGreaterThan(parameterCount(small));
    expect(() => checkTrainingMemory(large, 64, WASM_HEAP_BYTES, 'the wasm backend')).not.toThrow();
    expect(() => checkTrainingMemory(large, 4096, WASM_HEAP_BYTES, 'the wasm backend')).toThrow(ApiError);
  });

  it("counts each thread's JavaScript heap and the worker process's own once: a machine that holds two replicas' wasm heaps but not the three JavaScript heaps trains on one thread", () => {
    const spec: VaeSpec = { kind: 'conv', image: { width: 28, height: 28, channels: 1 }, latent: 16, hidden: 256 };
    const params = parameterCount(spec);
    const batch = 128;
    const replica = 4 * (2 * params + 2 * (batch / 2) * activationsPerImage(spec));
    const coordinator = 4 * (4 + 2) * params;
    const wasmOnly = 2 * replica + coordinator;
    expect(threadsThatFit(spec, batch, 2, WASM_HEAP_BYTES, wasmOnly + 3 * THREAD_JS_HEAP_BYTES)).toBe(2);
    expect(threadsThatFit(spec, batch, 2, WASM_HEAP_BYTES, wasmOnly + 3 * THREAD_JS_HEAP_BYTES - 1)).toBe(1);
    expect(threadsThatFit(spec, batch, 2, WASM_HEAP_BYTES, wasmOnly + 2 * THREAD_JS_HEAP_BYTES)).toBe(1);
    const thread = 4 * (params + 64 * activationsPerImage(spec));
    expect(inferenceThreadsThatFit(spec, 64, 2, WASM_HEAP_BYTES, 2 * (thread + THREAD_JS_HEAP_BYTES) + THREAD_JS_HEAP_BYTES + 8 * params)).toBe(2);
    expect(inferenceThreadsThatFit(spec, 64, 2, WASM_HEAP_BYTES, 2 * (thread + THREAD_JS_HEAP_BYTES) + 8 * params)).toBe(1);
  });
});
