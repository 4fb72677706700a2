import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import { tf } from '../engine/tf';
import { wasmBinaryDir } from '../io/wasm-files';
import type { BackendPlatform } from './platform';
import { probeBackends, selectBackend } from './select';
import { gradientSelfCheck } from './self-check';
import { registerWasmKernels } from './wasm-kernels/register';

/** A Node-like process with no GPU and no native TensorFlow installed. */
const plainNode: BackendPlatform = {
  provideWebGpu: () => Promise.resolve({ ok: false, reason: 'the optional `webgpu` package (Dawn) is not installed' }),
  loadNative: (pkg) => Promise.resolve({ ok: false, reason: `${pkg} is not installed` }),
  ...(wasmBinaryDir() === undefined ? {} : { wasmDir: wasmBinaryDir()! }),
};

/**
 * A stand-in for tfjs-node(-gpu): registers 'tensorflow' as tfjs-node does, backed by
 * the cpu kernels (so the self-check passes), with NodeJSKernelBackend's GPU flag.
 */
function fakeNative(onGpu: boolean): BackendPlatform {
  return {
    ...plainNode,
    loadNative: (pkg) => {
      tf.registerBackend('tensorflow', () => Object.assign(new MathBackendCPU(), { isUsingGpuDevice: onGpu }));
      for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
      return Promise.resolve({ ok: true, versions: { [pkg]: '4.22.0' } });
    },
  };
}

afterEach(() => {
  if (tf.findBackendFactory('tensorflow') !== null) {
    for (const kernel of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(kernel.kernelName, 'tensorflow');
    tf.removeBackend('tensorflow');
  }
});

describe('backend selection', () => {
  it('picks wasm without a GPU or native TensorFlow and explains every faster backend it skipped', async () => {
    const selection = await selectBackend({ platform: plainNode });
    expect(selection.backend).toBe('wasm');
    expect(selection.adapter).toBeUndefined();
    expect(tf.getBackend()).toBe('wasm');
    const skipped = selection.notes.map((n) => n.split(':')[0]);
    expect(skipped.slice(0, 3)).toEqual(['webgpu', 'tensorflow-gpu', 'tensorflow']);
    expect(selection.notes[0]).toMatch(/webgpu.*Dawn.*not installed/);
    expect(selection.notes.find((n) => n.startsWith('tensorflow:'))).toMatch(/tfjs-node is not installed/);
    expect(selection.notes).toContainEqual(expect.stringMatching(/^wasm: self-check against cpu passed \(relative error/));
  });

  it('in a context without navigator.gpu (the default platform), says so for webgpu', async () => {
    const selection = await selectBackend();
    expect(selection.notes[0]).toMatch(/^webgpu: .*navigator\.gpu is missing/);
  });

  it('refuses native TensorFlow as the GPU backend when it reports no CUDA device, and uses it as native CPU', async () => {
    const selection = await selectBackend({ platform: fakeNative(false) });
    expect(selection.backend).toBe('tensorflow');
    expect(selection.notes.find((n) => n.startsWith('tensorflow-gpu:'))).toMatch(/reports no CUDA GPU device/);
  });

  it('uses native TensorFlow as the GPU backend when it reports a CUDA device', async () => {
    const selection = await selectBackend({ platform: fakeNative(true) });
    expect(selection.backend).toBe('tensorflow-gpu');
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('does not use a backend whose kernels compute wrong numbers, and the notes say why', async () => {
    const platform = fakeNative(true);
    await platform.loadNative('@tensorflow/tfjs-node-gpu');
    // A subtly broken native kernel: right shape, transposed-B products zeroed.
    const good = tf.getKernel('BatchMatMul', 'tensorflow')!;
    tf.unregisterKernel('BatchMatMul', 'tensorflow');
    tf.registerKernel({
      ...good,
      kernelFunc: (args) => {
        const out = good.kernelFunc(args) as tf.TensorInfo;
        if (!(args.attrs as { transposeB?: boolean }).transposeB) return out;
        const zeros = tf.getKernel('ZerosLike', 'cpu')!.kernelFunc({ inputs: { x: out }, backend: args.backend });
        (args.backend as { disposeData(id: object): void }).disposeData(out.dataId);
        return zeros;
      },
    });
    const selection = await selectBackend({ platform });
    expect(selection.backend).toBe('wasm');
    expect(selection.notes.find((n) => n.startsWith('tensorflow-gpu:'))).toMatch(/failed the gradient self-check against cpu \(.+: relative error/);
  });

  it('honours a forced backend', async () => {
    const forced = await selectBackend({ requested: 'cpu', platform: plainNode });
    expect(forced.backend).toBe('cpu');
    expect(forced.notes[0]).toMatch(/forced by the run config/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('fails with a field-named error when a forced backend is unavailable', async () => {
    const error = await selectBackend({ requested: 'webgpu', platform: plainNode }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details).toMatchObject({ field: 'backend' });
    expect((error as ApiError).message).toMatch(/webgpu.*Dawn/);
  });

  it('registers the wasm kernels once', () => {
    registerWasmKernels();
    expect(registerWasmKernels()).toEqual([]);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
});

describe('probe (vae-studio doctor)', () => {
  it('reports every backend in order, with versions, self-checks and the choice', async () => {
    const report = await probeBackends({ platform: plainNode });
    expect(report.backends.map((b) => b.backend)).toEqual(['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    expect(report.chosen).toBe('wasm');
    const [webgpu, , , wasm, cpu] = report.backends;
    expect(webgpu).toMatchObject({ loaded: false, rejected: expect.stringMatching(/Dawn/) });
    expect(wasm).toMatchObject({ loaded: true, selfCheck: { ok: true }, versions: { '@tensorflow/tfjs-backend-wasm': '4.22.0' } });
    expect(wasm!.rejected).toBeUndefined();
    expect(cpu).toMatchObject({ loaded: true, versions: { '@tensorflow/tfjs-backend-cpu': '4.22.0' } });
    expect(cpu!.selfCheck).toBeUndefined();
  });
});

describe('gradient self-check (wasm against cpu: MLP and conv VAE, full-size products)', () => {
  it('passes with the project kernels', async () => {
    const result = await gradientSelfCheck('wasm', 'cpu');
    expect(result.maxRelativeError).toBeLessThan(1e-4);
    expect(result.ok).toBe(true);
    expect(result.seconds).toBeGreaterThan(0);
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
