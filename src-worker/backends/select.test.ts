import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import { tf } from '../engine/tf';
import { selectBackend } from './select';
import { gradientSelfCheck } from './self-check';
import { registerWasmKernels } from './wasm-kernels/register';

describe('backend selection', () => {
  it('picks wasm automatically and explains every faster backend it skipped', async () => {
    const selection = await selectBackend();
    expect(selection.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const skipped = selection.notes.map((n) => n.split(':')[0]);
    expect(skipped.slice(0, 3)).toEqual(['webgpu', 'tensorflow-gpu', 'tensorflow']);
    expect(selection.notes.find((n) => n.startsWith('tensorflow:'))).toMatch(/tfjs-node is not installed/);
  });

  it('honours a forced backend', async () => {
    const forced = await selectBackend({ requested: 'cpu' });
    expect(forced.backend).toBe('cpu');
    expect(forced.notes[0]).toMatch(/forced by the run config/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('fails with a field-named error when a forced backend is unavailable', async () => {
    const error = await selectBackend({ requested: 'webgpu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details).toMatchObject({ field: 'backend' });
    expect((error as ApiError).message).toMatch(/webgpu/);
  });

  it('registers the wasm kernels once', () => {
    registerWasmKernels();
    expect(registerWasmKernels()).toEqual([]);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
});

describe('gradient self-check (wasm against cpu, MLP and conv VAE)', () => {
  it('passes with the project kernels', async () => {
    const result = await gradientSelfCheck('wasm', 'cpu');
    expect(result.maxRelativeError).toBeLessThan(1e-3);
    expect(result.ok).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('catches a wrong kernel', async () => {
    const good = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    expect(good).toBeDefined();
    // Right shape, wrong numbers: what a subtly broken kernel looks like.
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    tf.registerKernel({
      ...good!,
      kernelFunc: (args) => {
        const out = good!.kernelFunc(args) as tf.TensorInfo;
        const zeros = tf.getKernel('ZerosLike', 'wasm').kernelFunc({ inputs: { x: out }, backend: args.backend });
        (args.backend as { disposeData(id: object): void }).disposeData(out.dataId);
        return zeros;
      },
    });
    try {
      const result = await gradientSelfCheck('wasm', 'cpu');
      expect(result.ok).toBe(false);
      expect(result.worst).toMatch(/^conv /);
    } finally {
      tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
      tf.registerKernel(good!);
    }
  });
});
