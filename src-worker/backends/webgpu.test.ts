import { beforeAll, describe, expect, it } from 'vitest';
import type { GpuAdapterInfo } from '@shared/backend-report';
import { defaultRunConfig } from '@shared/config';
import { tf } from '../engine/tf';
import { nodeBackendPlatform } from '../platform/node-backends';
import { describeGpu, GPU_TEST_TIMEOUT_MS, NO_ADAPTER_HELP } from '../testing/gpu';
import { syntheticImages } from '../testing/setup';
import { gatherBatch } from '../train/images';
import { VaeTrainer } from '../train/trainer';
import { matmulProbe } from './matmul-probe';
import type { BackendPlatform } from './platform';
import { selectBackend } from './select';
import { gradientSelfCheck, readAll } from './self-check';
import type { ApiError } from '@shared/errors';
import { MATMUL_PACKED_PROGRAM, startWebGpu, watchGpuErrors } from './webgpu';

/**
 * The WebGPU path for real, on whatever adapter Dawn finds (lavapipe in CI). Kept
 * small: lavapipe emulates the GPU on the CPU (docs/PERFORMANCE.md).
 */
const platform = nodeBackendPlatform();
let adapter: GpuAdapterInfo;

describe('webgpu without an adapter', () => {
  it('says there is none and how to get one, without loading tfjs-backend-webgpu', async () => {
    // What Dawn does on a machine with no Vulkan driver: navigator.gpu, but no adapter.
    const holder = globalThis as { navigator?: object };
    const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: { requestAdapter: () => Promise.resolve(null) } },
      configurable: true,
    });
    const noAdapter: BackendPlatform = { ...platform, provideWebGpu: () => Promise.resolve({ ok: true, versions: {} }) };
    try {
      const started = await startWebGpu(noAdapter);
      expect(started).toMatchObject({ ok: false, loaded: false });
      expect(!started.ok && started.reason).toMatch(/no WebGPU adapter.*Vulkan.*lavapipe/);
      expect(tf.findBackendFactory('webgpu')).toBeNull();
    } finally {
      if (original === undefined) delete holder.navigator;
      else Object.defineProperty(globalThis, 'navigator', original);
    }
  });
});

describeGpu('webgpu backend on a real adapter (Dawn)', () => {
  beforeAll(async () => {
    const started = await startWebGpu(platform);
    if (!started.ok) throw new Error(`${NO_ADAPTER_HELP}\n(webgpu: ${started.reason})`);
    adapter = started.adapter!;
  }, GPU_TEST_TIMEOUT_MS);

  it('finds an adapter and reports what it is', () => {
    expect(tf.getBackend()).toBe('webgpu');
    expect(adapter.vendor + adapter.device + adapter.description).not.toBe('');
    expect(typeof adapter.isFallbackAdapter).toBe('boolean');
  });

  it('computes [128,3136]×[16,3136]ᵀ like cpu (tfjs-backend-webgpu 4.22 split-K bug stays worked around)', async () => {
    expect(tf.env().getNumber('WEBGPU_MATMUL_PROGRAM_TYPE')).toBe(MATMUL_PACKED_PROGRAM);
    const a = Float32Array.from({ length: 128 * 3136 }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: 16 * 3136 }, (_, i) => Math.cos(i));
    const product = async (backend: string): Promise<Float32Array> => {
      await tf.setBackend(backend);
      const [x, y] = [tf.tensor2d(a, [128, 3136]), tf.tensor2d(b, [16, 3136])];
      return (await readAll({ ab: tf.matMul(x, y, false, true), x, y })).get('ab')!;
    };
    const onCpu = await product('cpu');
    const onGpu = await product('webgpu');
    let maxError = 0;
    let scale = 0;
    for (let i = 0; i < onCpu.length; i++) {
      maxError = Math.max(maxError, Math.abs(onCpu[i]! - onGpu[i]!));
      scale = Math.max(scale, Math.abs(onCpu[i]!));
    }
    expect(onGpu).toHaveLength(128 * 16);
    expect(maxError / scale).toBeLessThan(1e-4);
  }, GPU_TEST_TIMEOUT_MS);

  it('passes the gradient self-check against cpu', async () => {
    const result = await gradientSelfCheck('webgpu', 'cpu');
    expect(result).toMatchObject({ ok: true });
    expect(result.maxRelativeError).toBeLessThan(1e-4);
  }, GPU_TEST_TIMEOUT_MS);

  it('self-check catches the split-K bug when the workaround is off', async () => {
    tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', -1); // tfjs's own choice per shape
    try {
      const result = await gradientSelfCheck('webgpu', 'cpu');
      expect(result.ok).toBe(false);
      expect(result.worst).toBe('matmul A·Bᵀ');
      expect(result.maxRelativeError).toBeGreaterThan(0.1);
    } finally {
      tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', MATMUL_PACKED_PROGRAM);
    }
  }, GPU_TEST_TIMEOUT_MS);

  for (const kind of ['mlp', 'conv'] as const) {
    it(`trains a ${kind} VAE: the first steps' losses match cpu's, and no tensor is left behind`, async () => {
      const images = syntheticImages(32, 8, 8);
      const order = Int32Array.from({ length: images.count }, (_, i) => i);
      const steps = async (backend: string): Promise<{ losses: number[]; leaked: number }> => {
        await tf.setBackend(backend);
        const trainer = new VaeTrainer({ kind, image: images.shape, latent: 4, hidden: 32 }, { ...defaultRunConfig(), seed: 5, learningRate: 3e-3 });
        try {
          const losses: number[] = [];
          const step = async (s: number): Promise<void> => {
            const from = (s * 8) % images.count;
            losses.push((await trainer.step(gatherBatch(images, order, from, from + 8), 8)).loss);
          };
          await step(0); // Adam's moments exist from the first step on.
          const before = tf.memory().numTensors;
          for (let s = 1; s < 4; s++) await step(s);
          await trainer.reconstruct(gatherBatch(images, order, 0, 4), 4);
          return { losses, leaked: tf.memory().numTensors - before };
        } finally {
          trainer.dispose();
        }
      };
      const cpu = await steps('cpu');
      const gpu = await steps('webgpu');
      expect(gpu.leaked).toBe(0);
      // Same weights, data and noise; float32 on both. The first step is one forward
      // pass apart; later ones add Adam updates computed from slightly different
      // gradients, hence the same 10⁻³ as wasm against cpu (trainer.test.ts).
      gpu.losses.forEach((loss, i) => expect(Math.abs(loss - cpu.losses[i]!) / Math.abs(cpu.losses[i]!)).toBeLessThan(1e-3));
    }, GPU_TEST_TIMEOUT_MS);
  }

  it('leaves no tensor behind after the probe products', async () => {
    await tf.setBackend('webgpu');
    await readAll(matmulProbe());
    const before = tf.memory().numTensors;
    await readAll(matmulProbe());
    expect(tf.memory().numTensors).toBe(before);
  }, GPU_TEST_TIMEOUT_MS);

  it('turns a GPU error that nobody catches into an error naming it, once', async () => {
    // A device of its own: tfjs's device is watched by startWebGpu, which would end the run.
    const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
    const errors: ApiError[] = [];
    watchGpuErrors(device, (error) => errors.push(error));
    device.createBuffer({ size: 16, usage: 0xffff }); // invalid usage flags
    device.createBuffer({ size: 16, usage: 0xffff });
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^The GPU reported an error \(GPUValidationError\): .*usage/i);
    expect(errors[0]!.details).toEqual({ field: 'backend' });
    device.destroy();
  }, GPU_TEST_TIMEOUT_MS);

  it('is used when forced, with the adapter in the selection', async () => {
    const selection = await selectBackend({ requested: 'webgpu', platform });
    expect(selection.backend).toBe('webgpu');
    expect(selection.adapter).toEqual(adapter);
    expect(selection.notes).toContainEqual(expect.stringMatching(/^webgpu: self-check against cpu passed/));
  }, GPU_TEST_TIMEOUT_MS);

  it('is chosen automatically only on a real GPU, never on a CPU emulation', async () => {
    const selection = await selectBackend({ platform });
    if (adapter.isFallbackAdapter) {
      expect(selection.backend).toBe('wasm');
      expect(selection.notes[0]).toMatch(/^webgpu: .*CPU emulation/);
      expect((await selectBackend({ platform, allowFallbackAdapter: true })).backend).toBe('webgpu');
    } else {
      expect(selection.backend).toBe('webgpu');
    }
  }, GPU_TEST_TIMEOUT_MS);
});
