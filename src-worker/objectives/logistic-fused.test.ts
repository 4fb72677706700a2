import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../engine/tf';
import { createRng } from '../engine/random';
import { useBackend } from '../testing/setup';
import { discretizedLogisticLogProbs, logisticMixtureDecoder, logisticMixturePixelLogLikelihood, LOG_SCALE_MIN } from './logistic';
import { fusedLogisticAvailable } from './logistic-fused';

/** The tensor-op form of one component (what GPU backends run): slices of [logit, raw location, log scale]. */
function tensorOps(x: tf.Tensor2D, output: tf.Tensor2D): tf.Tensor2D {
  const [n, pixels] = x.shape;
  const rows = tf.reshape(output, [n * pixels, 3]) as tf.Tensor2D;
  const locations = tf.sigmoid(tf.slice(rows, [0, 1], [-1, 1])) as tf.Tensor2D;
  const logScales = tf.maximum(tf.slice(rows, [0, 2], [-1, 1]), LOG_SCALE_MIN) as tf.Tensor2D;
  return tf.reshape(discretizedLogisticLogProbs(tf.reshape(x, [n * pixels, 1]) as tf.Tensor2D, locations, logScales), [n, pixels]) as tf.Tensor2D;
}

function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

describe('fused one-component logistic likelihood', () => {
  beforeAll(() => useBackend('cpu'));

  it.each(['cpu', 'wasm'] as const)('gives the tensor ops’ values and gradients on every bin, floored scales, tails and extreme locations (%s)', async (backend) => {
    await useBackend(backend);
    expect(fusedLogisticAvailable()).toBe(true);
    const rng = createRng(24);
    const n = 6;
    const pixels = 256;
    // Every level once per image, so both edge bins and the inner form are all covered.
    const x = tf.tensor2d(Float32Array.from({ length: n * pixels }, (_, i) => (i % 256) / 255), [n, pixels]);
    const raw = Float32Array.from({ length: n * pixels * 3 }, (_, i) => {
      const column = i % 3;
      if (column === 0) return rng.uniform() * 4 - 2;
      // raw locations from far below to far above (σ saturates), log scales from below the floor to broad
      if (column === 1) return rng.uniform() * 24 - 12;
      return rng.uniform() * 13 - 10;
    });
    const output = tf.variable(tf.tensor2d(raw, [n, pixels * 3]));
    // A non-uniform upstream gradient (per-pixel weights, as imputation's observed mask gives).
    const weights = tf.tensor2d(Float32Array.from({ length: n * pixels }, () => rng.uniform()), [n, pixels]);
    const objective = (f: (x: tf.Tensor2D, o: tf.Tensor2D) => tf.Tensor2D) => () => tf.sum(tf.mul(f(x, output), weights)) as tf.Scalar;
    const fused = tf.variableGrads(objective(logisticMixturePixelLogLikelihood), [output]);
    const reference = tf.variableGrads(objective(tensorOps), [output]);
    const values = logisticMixturePixelLogLikelihood(x, output).dataSync();
    const referenceValues = tensorOps(x, output).dataSync();
    for (const v of values) expect(Number.isFinite(v)).toBe(true);
    expect(maxRelative(values, referenceValues)).toBeLessThan(2e-5);
    expect(Math.abs(fused.value.dataSync()[0]! - reference.value.dataSync()[0]!) / Math.abs(reference.value.dataSync()[0]!)).toBeLessThan(1e-5);
    const g = fused.grads[output.name]!.dataSync();
    const gRef = reference.grads[output.name]!.dataSync();
    expect(maxRelative(g, gRef)).toBeLessThan(1e-4);
    // Floored log scales get no gradient; the K = 1 logit none either.
    for (let i = 0; i < raw.length; i += 3) {
      expect(g[i]).toBe(0);
      if (raw[i + 2]! < LOG_SCALE_MIN) expect(g[i + 2]).toBe(0);
    }
    // The ELBO's per-image form (its sum over sub-pixels taken in the same pass), with weights per image.
    const decoder = logisticMixtureDecoder(pixels);
    const imageWeights = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => i - 2.5));
    const perImage = tf.variableGrads(() => tf.sum(tf.mul(decoder.logLikelihood(x, output), imageWeights)) as tf.Scalar, [output]);
    const perImageReference = tf.variableGrads(() => tf.sum(tf.mul(tf.sum(tensorOps(x, output), 1), imageWeights)) as tf.Scalar, [output]);
    expect(decoder.logLikelihood(x, output).shape).toEqual([n]);
    expect(maxRelative(decoder.logLikelihood(x, output).dataSync(), tf.sum(tensorOps(x, output), 1).dataSync())).toBeLessThan(1e-5);
    expect(maxRelative(perImage.grads[output.name]!.dataSync(), perImageReference.grads[output.name]!.dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, output, weights, imageWeights, fused.value, reference.value, perImage.value, perImageReference.value]);
    tf.dispose([...Object.values(fused.grads), ...Object.values(reference.grads), ...Object.values(perImage.grads), ...Object.values(perImageReference.grads)]);
    await useBackend('cpu');
  });

  it('on wasm reads the heap only before it allocates: a heap that grows (and moves) between the pass and its gradient changes no number', async () => {
    await useBackend('wasm');
    const heapBytes = (): number => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
    const rng = createRng(27);
    const n = 4;
    const pixels = 1024;
    const x = tf.tensor2d(Float32Array.from({ length: n * pixels }, () => Math.floor(rng.uniform() * 256) / 255), [n, pixels]);
    const output = tf.variable(tf.tensor2d(Float32Array.from({ length: n * pixels * 3 }, () => rng.uniform() * 4 - 2), [n, pixels * 3]));
    const weights = tf.tensor2d(Float32Array.from({ length: n * pixels }, () => rng.uniform()), [n, pixels]);
    const plain = tf.variableGrads(() => tf.sum(tf.mul(logisticMixturePixelLogLikelihood(x, output), weights)) as tf.Scalar, [output]);
    const before = heapBytes();
    const grown = tf.variableGrads(() => {
      const ll = logisticMixturePixelLogLikelihood(x, output);
      // More than the heap has room for: it grows, and every view taken before is detached.
      tf.dispose(tf.fill([before / 4 + 1024], 1, 'float32'));
      return tf.sum(tf.mul(ll, weights)) as tf.Scalar;
    }, [output]);
    expect(heapBytes()).toBeGreaterThan(before);
    expect(grown.value.dataSync()[0]).toBe(plain.value.dataSync()[0]);
    expect(Array.from(grown.grads[output.name]!.dataSync())).toEqual(Array.from(plain.grads[output.name]!.dataSync()));
    tf.dispose([x, output, weights, plain.value, grown.value, ...Object.values(plain.grads), ...Object.values(grown.grads)]);
    await useBackend('cpu');
  });

  it('on wasm keeps its arrays in the heap: no JavaScript buffer of N·D values a step, each step its own memory, nothing left behind', async () => {
    await useBackend('wasm');
    const backend = tf.backend();
    const rng = createRng(28);
    const n = 4;
    const pixels = 12 * 1024; // 48 K values a tensor, 192 KiB: well above the 64 KiB counted below
    const x = tf.tensor2d(Float32Array.from({ length: n * pixels }, () => Math.floor(rng.uniform() * 256) / 255), [n, pixels]);
    const output = tf.variable(tf.tensor2d(Float32Array.from({ length: n * pixels * 3 }, () => rng.uniform() * 4 - 2), [n, pixels * 3]));
    const imageWeights = tf.tensor1d([1, -2, 0.5, 3]);
    const decoder = logisticMixtureDecoder(pixels);
    const step = () => tf.variableGrads(() => tf.sum(tf.mul(decoder.logLikelihood(x, output), imageWeights)) as tf.Scalar, [output]);
    // Every typed array or ArrayBuffer of at least 64 KiB that JavaScript makes while a step runs.
    const large: number[] = [];
    const g = globalThis as unknown as Record<string, unknown>;
    const names = ['Float32Array', 'Float64Array', 'Uint8Array', 'Int32Array', 'ArrayBuffer'];
    const originals = names.map((name) => g[name] as new (...a: unknown[]) => object);
    const counted = (values: unknown): number => (typeof values === 'number' ? values : values instanceof ArrayBuffer ? 0 : ((values as { length?: number } | null)?.length ?? 0));
    names.forEach((name, k) => {
      const original = originals[k]!;
      const per = name === 'ArrayBuffer' ? 1 : (original as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      g[name] = new Proxy(original, {
        construct(target, args, newTarget) {
          if (counted(args[0]) * per >= 64 * 1024) large.push(counted(args[0]) * per);
          return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget) as object;
        },
      });
    });
    let first: ReturnType<typeof step>;
    try {
      first = step();
    } finally {
      names.forEach((name, k) => (g[name] = originals[k]));
    }
    expect(large).toEqual([]);
    const firstGrad = Array.from(first.grads[output.name]!.dataSync());
    const firstValue = first.value.dataSync()[0];
    const tensorsAfterOne = tf.memory().numTensors;
    const dataAfterOne = backend.numDataIds();
    // The next step (the same weights: the same numbers) writes new memory: the first step's results stay as they were.
    const second = step();
    expect(second.grads[output.name]!.dataId).not.toBe(first.grads[output.name]!.dataId);
    expect(Array.from(second.grads[output.name]!.dataSync())).toEqual(firstGrad);
    expect(Array.from(first.grads[output.name]!.dataSync())).toEqual(firstGrad);
    expect(first.value.dataSync()[0]).toBe(firstValue);
    // The arrays the backward pass needed are freed with the tape; a pass without a tape keeps none.
    tf.dispose([second.value, ...Object.values(second.grads)]);
    expect(tf.memory().numTensors).toBe(tensorsAfterOne);
    expect(backend.numDataIds()).toBe(dataAfterOne);
    tf.tidy(() => decoder.logLikelihood(x, output).dataSync());
    tf.tidy(() => logisticMixturePixelLogLikelihood(x, output).dataSync());
    expect(tf.memory().numTensors).toBe(tensorsAfterOne);
    expect(backend.numDataIds()).toBe(dataAfterOne);
    tf.dispose([x, output, imageWeights, first.value, ...Object.values(first.grads)]);
    await useBackend('cpu');
  });

  it('leaves mixtures (K > 1) to the tensor ops and frees everything it makes', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor2d([[0.5, 0]]);
      const output = tf.zeros([1, 2 * 6]) as tf.Tensor2D;
      expect(logisticMixturePixelLogLikelihood(x, output).shape).toEqual([1, 2]);
      const grads = tf.grad((o: tf.Tensor) => tf.sum(logisticMixturePixelLogLikelihood(tf.tensor2d([[0.5, 1]]), o as tf.Tensor2D)))(tf.zeros([1, 6]));
      expect(grads.shape).toEqual([1, 6]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
