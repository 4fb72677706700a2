import { describe, expect, it } from 'vitest';
import { tf } from '../../engine/tf';
import { createRng } from '../../engine/random';
import { useBackend } from '../../testing/setup';

/** Run `fn` on a backend from fresh seeded inputs and read the result back. */
async function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor): Promise<Float32Array> {
  await useBackend(backend);
  return tf.tidy(() => fn().dataSync() as Float32Array);
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(createRng(seed).normals(size), shape);
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1e-6;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale).toBeLessThan(1e-4);
}

describe('wasm BatchMatMul with transposes (routed to XNNPACK)', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 7, 5], [2, 3, 7], true, true],
  ];
  for (const [aShape, bShape, ta, tb] of cases) {
    it(`a${JSON.stringify(aShape)}${ta ? 'ᵀ' : ''} · b${JSON.stringify(bShape)}${tb ? 'ᵀ' : ''} matches cpu`, async () => {
      const f = (): tf.Tensor => tf.matMul(randomTensor(aShape, 1) as tf.Tensor2D, randomTensor(bShape, 2) as tf.Tensor2D, ta, tb);
      expectClose(await on('wasm', f), await on('cpu', f));
      const before = tf.memory().numTensors;
      await on('wasm', f);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('wasm a·bᵀ with b the larger operand, computed as (b·aᵀ)ᵀ', () => {
  // The backward pass of a dense layer: dY [rows, out] · Wᵀ (W [in, out], new every step).
  // Bit for bit what transposing b first gives (each output the same sum in the same
  // order), so a run's numbers do not change; the shapes of the conv VAEs' wide layers too.
  const cases: [number[], number[]][] = [
    [[64, 3136], [256, 3136]],
    [[64, 256], [3136, 256]],
    [[7, 33], [40, 33]],
    [[1, 5], [9, 5]],
    [[64, 12288], [256, 12288]],
  ];
  for (const [aShape, bShape] of cases) {
    it(`a${JSON.stringify(aShape)} · b${JSON.stringify(bShape)}ᵀ`, async () => {
      const swapped = await on('wasm', () => tf.matMul(randomTensor(aShape, 5) as tf.Tensor2D, randomTensor(bShape, 6) as tf.Tensor2D, false, true));
      const direct = await on('wasm', () => tf.matMul(randomTensor(aShape, 5) as tf.Tensor2D, tf.transpose(randomTensor(bShape, 6)) as tf.Tensor2D));
      expect(swapped.length).toBe(aShape[0]! * bShape[0]!);
      expect(Buffer.from(swapped.buffer).equals(Buffer.from(direct.buffer))).toBe(true);
      expectClose(swapped, await on('cpu', () => tf.matMul(randomTensor(aShape, 5) as tf.Tensor2D, randomTensor(bShape, 6) as tf.Tensor2D, false, true)));
      const before = tf.memory().numTensors;
      await on('wasm', () => tf.matMul(randomTensor(aShape, 5) as tf.Tensor2D, randomTensor(bShape, 6) as tf.Tensor2D, false, true));
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('wasm Conv2DBackpropFilter (dilated-conv kernel) matches cpu', () => {
  type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
  const cases: { x: [number, number, number, number]; k: [number, number]; outC: number; stride: [number, number]; pad: Pad }[] = [
    { x: [2, 8, 8, 3], k: [3, 3], outC: 4, stride: [1, 1], pad: 'same' },
    { x: [2, 8, 8, 1], k: [4, 4], outC: 5, stride: [2, 2], pad: 'same' },
    { x: [2, 9, 7, 2], k: [4, 4], outC: 3, stride: [2, 2], pad: 'same' },
    { x: [3, 10, 10, 4], k: [3, 3], outC: 2, stride: [2, 2], pad: 'valid' },
    { x: [1, 7, 9, 1], k: [2, 3], outC: 2, stride: [3, 2], pad: 'valid' },
    { x: [2, 6, 6, 2], k: [3, 3], outC: 2, stride: [1, 2], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  ];
  for (const c of cases) {
    it(`x${JSON.stringify(c.x)} k${c.k.join('×')} stride ${c.stride.join(',')} pad ${JSON.stringify(c.pad)}`, async () => {
      const f = (): tf.Tensor => {
        const x = randomTensor(c.x, 3) as tf.Tensor4D;
        const filter = randomTensor([c.k[0], c.k[1], c.x[3], c.outC], 4) as tf.Tensor4D;
        const probe = (w: tf.Tensor): tf.Tensor => {
          const y = tf.conv2d(x, w as tf.Tensor4D, c.stride, c.pad);
          // A non-uniform dy so every filter tap gets a distinct gradient.
          return tf.sum(tf.mul(y, randomTensor(y.shape, 5)));
        };
        return tf.grad(probe)(filter);
      };
      expectClose(await on('wasm', f), await on('cpu', f));
    });
  }

  it('also serves conv2dTranspose (filter gradient with dy and x swapped)', async () => {
    const f = (): tf.Tensor => {
      const x = randomTensor([2, 4, 4, 6], 6) as tf.Tensor4D;
      const probe = (w: tf.Tensor): tf.Tensor => {
        const y = tf.conv2dTranspose(x, w as tf.Tensor4D, [2, 8, 8, 3], 2, 'same');
        return tf.sum(tf.mul(y, randomTensor(y.shape, 7)));
      };
      return tf.grad(probe)(randomTensor([4, 4, 3, 6], 8) as tf.Tensor4D);
    };
    expectClose(await on('wasm', f), await on('cpu', f));
  });
});

describe('wasm Conv2DBackpropInput (phase-decomposed) matches cpu', () => {
  type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
  const cases: { x: [number, number, number, number]; k: [number, number]; outC: number; stride: number; pad: Pad }[] = [
    { x: [2, 8, 8, 3], k: [4, 4], outC: 5, stride: 2, pad: 'same' },
    { x: [2, 14, 14, 4], k: [4, 4], outC: 3, stride: 2, pad: 'same' },
    { x: [2, 9, 7, 2], k: [3, 3], outC: 3, stride: 2, pad: 'same' },
    { x: [1, 10, 11, 2], k: [3, 2], outC: 2, stride: 3, pad: 'valid' },
    { x: [2, 6, 6, 2], k: [3, 3], outC: 4, stride: 1, pad: 'same' },
    { x: [2, 7, 6, 2], k: [5, 4], outC: 2, stride: 2, pad: 'valid' },
    { x: [1, 8, 8, 1], k: [3, 3], outC: 2, stride: 2, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] },
  ];
  for (const c of cases) {
    it(`x${JSON.stringify(c.x)} k${c.k.join('×')} stride ${c.stride} pad ${JSON.stringify(c.pad)}`, async () => {
      const f = (): tf.Tensor => {
        const filter = randomTensor([c.k[0], c.k[1], c.x[3], c.outC], 4) as tf.Tensor4D;
        const probe = (x: tf.Tensor): tf.Tensor => {
          const y = tf.conv2d(x as tf.Tensor4D, filter, c.stride, c.pad);
          return tf.sum(tf.mul(y, randomTensor(y.shape, 5)));
        };
        return tf.grad(probe)(randomTensor(c.x, 3) as tf.Tensor4D);
      };
      expectClose(await on('wasm', f), await on('cpu', f));
    });
  }

  it('reuses prepared filters only for the same filter data: a variable update is seen at once', async () => {
    await useBackend('wasm');
    const dy = randomTensor([1, 7, 7, 6], 1) as tf.Tensor4D;
    const filter = tf.variable(randomTensor([4, 4, 3, 6], 2));
    const deconv = (): Float32Array => tf.tidy(() => tf.conv2dTranspose(dy, filter as tf.Tensor4D, [1, 14, 14, 3], 2, 'same').dataSync() as Float32Array);
    const first = deconv();
    expect(deconv()).toEqual(first);
    filter.assign(randomTensor([4, 4, 3, 6], 3));
    const second = deconv();
    const [dyValues, filterValues] = [Array.from(dy.dataSync()), Array.from(filter.dataSync())];
    await useBackend('cpu');
    const reference = tf.tidy(
      () =>
        tf.conv2dTranspose(tf.tensor4d(dyValues, dy.shape), tf.tensor4d(filterValues, [4, 4, 3, 6]), [1, 14, 14, 3], 2, 'same').dataSync() as Float32Array,
    );
    expectClose(second, reference);
    expect(second).not.toEqual(first);
    await useBackend('wasm');
    tf.dispose([dy, filter]);
  });

  it('computes conv2dTranspose forward like cpu', async () => {
    const f = (): tf.Tensor =>
      tf.conv2dTranspose(randomTensor([2, 7, 7, 6], 1) as tf.Tensor4D, randomTensor([4, 4, 3, 6], 2) as tf.Tensor4D, [2, 14, 14, 3], 2, 'same');
    expectClose(await on('wasm', f), await on('cpu', f));
  });
});

describe('wasm Identity and same-dtype Cast (share data)', () => {
  it('a clone shares its source’s data, outlives it, and the tape’s clones leave gradients and memory as on cpu', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const source = tf.tensor2d([
      [1, -2],
      [3, 4],
    ]);
    const buffersBefore = tf.memory().numDataBuffers;
    const copy = tf.clone(source);
    // Shared: no new buffer; the clone keeps the values after its source is freed.
    expect(tf.memory().numDataBuffers).toBe(buffersBefore);
    expect(copy.dataId).toBe(source.dataId);
    source.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, -2, 3, 4]);
    copy.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // A cast to the dtype it has shares too; a real conversion still converts.
    const ints = tf.tensor1d([1.5, -2.5, 3]);
    const same = tf.cast(ints, 'float32');
    expect(same.dataId).toBe(ints.dataId);
    expect(Array.from(tf.cast(ints, 'int32').dataSync())).toEqual([1, -2, 3]);
    tf.dispose([ints, same]);
    // Strings still copy through the stock kernel.
    const words = tf.tensor(['a', 'b']);
    expect(tf.clone(words).dataSync()).toEqual(['a', 'b']);
    tf.dispose(words);
    // Products and quotients record clones of their inputs for the gradient: same gradient as cpu.
    const f = (): tf.Tensor => {
      const a = randomTensor([3, 4], 1);
      const b = randomTensor([3, 4], 2);
      return tf.grad((x: tf.Tensor) => tf.sum(tf.div(tf.mul(tf.mul(x, b), x), tf.add(tf.abs(b), 1))))(a);
    };
    expectClose(await on('wasm', f), await on('cpu', f));
  });
});
