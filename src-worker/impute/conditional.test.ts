import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRunConfig, type RunConfig } from '@shared/config';
import { imputeMethods, type ImputeMethod } from '@shared/inference';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { sidedBlobs } from '../testing/synthetic';
import { gatherBatch, gatherLabels } from '../train/images';
import { modelSpec } from '../train/model-spec';
import { VaeTrainer } from '../train/trainer';
import { evaluateImputation, pixelMeans } from './evaluate';
import { createImputer, type ImputeOptions, type ImputeProblem } from './imputer';

/**
 * Imputation with models that take the image's class: a cVAE and an M2 trained for a
 * few hundred steps on 8×8 blobs whose class says the side (0: left half, 1: right).
 */
const SIZE = 8;
const D = SIZE * SIZE;

const data = sidedBlobs(240);
const train = Int32Array.from({ length: 200 }, (_, i) => i);
const heldOut = Int32Array.from({ length: 40 }, (_, i) => 200 + i);
const means = pixelMeans(data, train);
let cvae: VaeTrainer;
let m2: VaeTrainer;

async function trained(family: RunConfig['family']): Promise<VaeTrainer> {
  const config = { ...defaultRunConfig(), family, hidden: 32, latent: 2, learningRate: 3e-3, seed: 3 };
  const trainer = new VaeTrainer(modelSpec(config, data), config);
  for (let step = 0; step < 300; step++) {
    const from = (step * 20) % 200;
    await trainer.step(gatherBatch(data, train, from, from + 20), 20, gatherLabels(data, train, from, from + 20));
  }
  return trainer;
}

beforeAll(async () => {
  await useBackend('wasm');
  cvae = await trained('cvae');
  m2 = await trained('m2');
}, 120_000);

afterAll(() => {
  cvae?.dispose();
  m2?.dispose();
});

function problem(trainer: VaeTrainer, indices: ArrayLike<number>, missing: Uint8Array, labels?: ArrayLike<number>): ImputeProblem {
  return {
    model: trainer.model,
    decoder: trainer.decoder,
    classifier: trainer.classifier,
    x: gatherBatch(data, indices, 0, indices.length),
    n: indices.length,
    missing,
    init: means,
    ...(labels ? { labels } : {}),
  };
}

const options = (method: ImputeMethod, overrides: Partial<ImputeOptions> = {}): ImputeOptions => ({
  method,
  samples: 4,
  proposals: 32,
  iterations: 12,
  rng: createRng(7),
  ...overrides,
});

async function run(p: ImputeProblem, o: ImputeOptions) {
  const before = tf.memory().numTensors;
  const imputer = createImputer(p, o);
  try {
    await imputer.snapshot();
    for (let i = 0; i < o.iterations; i++) await imputer.step();
    return await imputer.snapshot();
  } finally {
    imputer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }
}

/** Column of the centre of mass of image `r` of `pixels`, 0…7. */
function centreColumn(pixels: Float32Array, r: number): number {
  let mass = 0;
  let moment = 0;
  for (let i = 0; i < D; i++) {
    mass += pixels[r * D + i]!;
    moment += pixels[r * D + i]! * (i % SIZE);
  }
  return moment / mass;
}

/** Mask of the pixels in columns [from, to). */
function columns(from: number, to: number): Uint8Array {
  return Uint8Array.from({ length: D }, (_, i) => (i % SIZE >= from && i % SIZE < to ? 1 : 0));
}

const everything = new Uint8Array(D).fill(1);

describe.each([
  ['cvae', () => cvae, [1] as number[] | undefined],
  ['m2 with a label', () => m2, [1]],
  ['m2 inferring the label', () => m2, undefined],
] as const)('%s', (_name, model, label) => {
  for (const method of imputeMethods) {
    it(`${method}: a mask with nothing missing gives back the input exactly, and no tensor is left behind`, async () => {
      const p = problem(model(), [heldOut[1]!], new Uint8Array(D), label);
      const snapshot = await run(p, options(method, { iterations: 3 }));
      expect(Array.from(snapshot.mean)).toEqual(Array.from(p.x));
      expect(snapshot.std.every((v) => v === 0)).toBe(true);
    });

    it(`${method}: fills the missing pixels in [0, 1] and leaves the tensor count unchanged`, async () => {
      const missing = columns(0, 4);
      const p = problem(model(), [heldOut[1]!], missing, label);
      const snapshot = await run(p, options(method));
      for (let i = 0; i < D; i++) {
        if (missing[i]) expect(snapshot.mean[i]).toBeGreaterThanOrEqual(0);
        if (missing[i]) expect(snapshot.mean[i]).toBeLessThanOrEqual(1);
        else expect(snapshot.mean[i]).toBe(p.x[i]);
      }
      if (label) expect(snapshot.classProbabilities).toBeNull();
      else {
        const probabilities = Array.from(snapshot.classProbabilities ?? []);
        expect(probabilities).toHaveLength(2);
        expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        probabilities.forEach((q) => expect(q).toBeGreaterThanOrEqual(0));
      }
    });
  }
});

describe('the label of a conditional model', () => {
  it.each(imputeMethods)('%s: a cVAE draws the class it is given (blob on the left for 0, on the right for 1)', async (method) => {
    const image = [heldOut[0]!];
    const left = await run(problem(cvae, image, everything, [0]), options(method));
    const right = await run(problem(cvae, image, everything, [1]), options(method));
    expect(centreColumn(left.mean, 0)).toBeLessThan(3.5);
    expect(centreColumn(right.mean, 0)).toBeGreaterThan(3.5);
  });

  it('refuses a label the model does not have, and a missing one for a cVAE, naming the field', () => {
    const p = problem(cvae, [heldOut[0]!], columns(0, 4), [2]);
    const refusal = expect.objectContaining({ code: 'invalid_input', details: { field: 'label' } });
    expect(() => createImputer(p, options('importance'))).toThrow(refusal);
    expect(() => createImputer({ ...p, labels: [-1] }, options('metropolis'))).toThrow(refusal);
    expect(() => createImputer({ ...p, labels: undefined }, options('optimize'))).toThrow(/choose the class/);
    expect(() => createImputer({ ...problem(m2, [heldOut[0]!], columns(0, 4)), labels: [0.5] }, options('pseudo-gibbs'))).toThrow(refusal);
  });

  it.each(imputeMethods)('%s: M2 without a label finds the class from the observed half (the blob is in it)', async (method) => {
    // Images 200… alternate classes: the observed half is the one the blob sits in.
    const images = [heldOut[0]!, heldOut[1]!, heldOut[2]!, heldOut[3]!];
    const missing = new Uint8Array(images.length * D);
    images.forEach((index, r) => missing.set(columns(data.labels![index] === 0 ? 4 : 0, data.labels![index] === 0 ? 8 : 4), r * D));
    const snapshot = await run(problem(m2, images, missing), options(method, { samples: method === 'importance' ? 0 : 4 }));
    const probabilities = snapshot.classProbabilities!;
    images.forEach((index, r) => {
      expect(probabilities[r * 2]! + probabilities[r * 2 + 1]!).toBeCloseTo(1, 4);
      expect(probabilities[r * 2 + data.labels![index]!]).toBeGreaterThan(0.5);
    });
  });

  it('with every pixel missing, importance sampling recovers p(y | nothing) = p(y), uniform', async () => {
    const missing = new Uint8Array(2 * D).fill(1);
    const o = options('importance', { samples: 0, proposals: 256, iterations: 50, rng: createRng(9) });
    const p = (await run(problem(m2, [heldOut[0]!, heldOut[1]!], missing), o)).classProbabilities!;
    for (let r = 0; r < 2; r++) expect(p[r * 2]!).toBeCloseTo(0.5, 1);
  });

  it('M2 with the label of some images given reports those one-hot beside the inferred ones', async () => {
    const images = [heldOut[0]!, heldOut[1]!];
    const missing = new Uint8Array(2 * D).fill(1);
    const snapshot = await run(problem(m2, images, missing, [1, -1]), options('importance'));
    expect(Array.from(snapshot.classProbabilities!.subarray(0, 2))).toEqual([0, 1]);
    expect(snapshot.classProbabilities![2]! + snapshot.classProbabilities![3]!).toBeCloseTo(1, 4);
  });
});

describe('evaluation of conditional models', () => {
  it('scores a cVAE with the true labels and M2 without, both beating the per-pixel mean, and reports the inferred class accuracy', async () => {
    const indices = heldOut.subarray(0, 20);
    const common = { images: data, indices, means, mask: 'random50' as const, methods: ['importance', 'metropolis'] as const, iterations: 12, proposals: 32, seed: 1 };
    const before = tf.memory().numTensors;
    const conditioned = await evaluateImputation({ ...common, model: cvae.model, decoder: cvae.decoder, labels: { truth: data.labels!, infer: false } });
    const inferred = await evaluateImputation({
      ...common,
      model: m2.model,
      decoder: m2.decoder,
      classifier: m2.classifier,
      labels: { truth: data.labels!, infer: true },
    });
    expect(tf.memory().numTensors).toBe(before);
    for (const report of [conditioned, inferred]) {
      const floor = report.scores.find((s) => s.method === 'pixel-mean')!;
      for (const s of report.scores) if (s !== floor) expect(s.mse).toBeLessThan(floor.mse);
    }
    expect(conditioned.scores.every((s) => s.labelAccuracy === null)).toBe(true);
    // Chance is 50 %; half the pixels show the side of the blob.
    for (const s of inferred.scores.filter((s) => s.method !== 'pixel-mean')) expect(s.labelAccuracy).toBeGreaterThan(0.8);
  });
});
