import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultRunConfig, type ModelFamily, type ArchitectureKind } from '@shared/config';
import { imputeMethods, type ImputeMethod, type ImputeScore } from '@shared/inference';
import { makeMask, maskKinds, type MaskKind } from '@shared/pixel-mask';
import { permutation } from '@shared/random';
import { selectBackend } from '../backends/select';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { evaluateImputation, pixelMeans } from '../impute/evaluate';
import { createImputer } from '../impute/imputer';
import { frameOf } from '../inference/inpaint';
import { nodeBackendPlatform } from '../platform/node-backends';
import { gatherBatch, gatherLabels } from '../train/images';
import { VaeTrainer } from '../train/trainer';
import { loadDigits, type DigitSplit } from './digits';
import { BENCH_SPEC } from './measure';

/**
 * `npm run bench:impute`: how fast an imputation refines at 28×28 (target: one
 * refinement — an iteration and its pictures, as the Inpaint view gets them — within
 * 50 ms on 2 cores), and how well each method fills in missing pixels of held-out
 * binarized digits beside the per-pixel-mean floor, on a VAE trained here in seconds.
 * Prints figures beside their references; never fails on a missed target.
 * `--families vae,cvae,m2` adds a conditional VAE (imputing given each digit's true
 * class) and an M2 trained with 10 % of the labels (inferring the class), for comparison.
 */
const { values: args } = parseArgs({
  options: {
    'train-digits': { type: 'string', default: '5000' },
    'test-digits': { type: 'string', default: '500' },
    images: { type: 'string', default: '100' },
    epochs: { type: 'string', default: '10' },
    'conv-epochs': { type: 'string', default: '1' },
    iterations: { type: 'string', default: '30' },
    proposals: { type: 'string', default: '32' },
    samples: { type: 'string', default: '6' },
    refinements: { type: 'string', default: '60' },
    /** Comma-separated subsets, to study one method or mask. */
    methods: { type: 'string', default: imputeMethods.join(',') },
    masks: { type: 'string', default: maskKinds.join(',') },
    families: { type: 'string', default: 'vae' },
    'no-timing': { type: 'boolean', default: false },
  },
});
const TARGET_MS = 50;
const BATCH = 128;

/** Share of the training digits whose label an M2 model sees. */
const M2_LABELLED = 0.1;

async function trainModel(kind: ArchitectureKind, digits: DigitSplit, epochs: number, family: ModelFamily = 'vae'): Promise<{ trainer: VaeTrainer; seconds: number }> {
  const conditional = family === 'cvae' || family === 'm2';
  const trainer = new VaeTrainer({ kind, ...BENCH_SPEC, ...(conditional ? { classes: 10 } : {}) }, { ...defaultRunConfig(), seed: 1, learningRate: 1e-3, family });
  const shuffle = createRng(1, 0x51);
  // M2 keeps every tenth training digit's label (the digits are shuffled already).
  const labels = (order: Int32Array, from: number): Int32Array | undefined => {
    if (!conditional) return undefined;
    const batch = gatherLabels(digits.images, order, from, from + BATCH);
    if (family !== 'm2') return batch;
    for (let r = 0; r < BATCH; r++) if (order[from + r]! % Math.round(1 / M2_LABELLED) !== 0) batch[r] = -1;
    return batch;
  };
  const t0 = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = Int32Array.from(permutation(digits.train.length, shuffle.uniform), (i) => digits.train[i]!);
    for (let from = 0; from + BATCH <= order.length; from += BATCH) await trainer.step(gatherBatch(digits.images, order, from, from + BATCH), BATCH, labels(order, from));
  }
  return { trainer, seconds: (performance.now() - t0) / 1000 };
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

/** Per-refinement wall time (one iteration + snapshot + PNG pictures) on one test digit with the top half missing. */
async function refinementTimes(trainer: VaeTrainer, digits: DigitSplit, means: Float32Array, method: ImputeMethod): Promise<number[]> {
  const refinements = Number(args.refinements);
  const mask = makeMask('top', 28, 28, Math.random);
  const imputer = createImputer(
    { model: trainer.model, decoder: trainer.decoder, x: gatherBatch(digits.images, digits.test, 0, 1), n: 1, missing: mask, init: means },
    { method, samples: Number(args.samples), proposals: Number(args.proposals), iterations: refinements, rng: createRng(3) },
  );
  const times: number[] = [];
  try {
    for (let i = 0; i < refinements; i++) {
      const t0 = performance.now();
      await imputer.step();
      frameOf(BENCH_SPEC.image, { method, iterations: refinements }, await imputer.snapshot(), 0.5, false, 0, 0);
      times.push(performance.now() - t0);
    }
  } finally {
    imputer.dispose();
  }
  return times.slice(3); // the first calls compile kernels and warm caches
}

const fmt = (v: number | null, digits = 4): string => (v === null || !Number.isFinite(v) ? '—' : v.toFixed(digits));

function printScores(mask: string, scores: ImputeScore[], binary: boolean): void {
  const floor = scores.find((s) => s.method === 'pixel-mean')!;
  console.log(`\nMask ${mask}: imputation error on the missing pixels (floor: per-pixel mean of the training digits)`);
  console.log(`  ${'method'.padEnd(14)} ${'MSE'.padStart(8)} ${'vs floor'.padStart(9)} ${binary ? 'accuracy'.padStart(9) : ''} ${'seconds'.padStart(8)}`);
  for (const s of scores) {
    const ratio = s === floor ? '' : `${((s.mse / floor.mse) * 100).toFixed(0)} %`;
    console.log(
      `  ${s.method.padEnd(14)} ${fmt(s.mse).padStart(8)} ${ratio.padStart(9)} ${binary ? fmt(s.accuracy, 3).padStart(9) : ''} ${s.seconds.toFixed(1).padStart(8)}` +
        (s.labelAccuracy !== null ? `  class right ${(s.labelAccuracy * 100).toFixed(1)} %` : ''),
    );
  }
  const mse = (m: string): number => scores.find((s) => s.method === m)?.mse ?? NaN;
  const ran = (m: ImputeMethod): boolean => scores.some((s) => s.method === m);
  const checks: [string, boolean, boolean][] = [
    ['every method beats the per-pixel mean', true, scores.every((s) => s === floor || s.mse < floor.mse)],
    ['Metropolis-within-Gibbs beats pseudo-Gibbs (Mattei & Frellsen 2018)', ran('metropolis') && ran('pseudo-gibbs'), mse('metropolis') < mse('pseudo-gibbs')],
    ['importance-weighted beats pseudo-Gibbs (Mattei & Frellsen 2019)', ran('importance') && ran('pseudo-gibbs'), mse('importance') < mse('pseudo-gibbs')],
  ];
  for (const [what, applies, holds] of checks) if (applies) console.log(`  ${holds ? 'holds' : 'DOES NOT hold'}: ${what}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const selection = await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  console.log(`VAE Studio imputation bench — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.versions.node}, backend ${selection.backend}`);
  const digits = loadDigits(Number(args['train-digits']), Number(args['test-digits']));
  const means = pixelMeans(digits.images, digits.train);
  console.log(`Data: the mnist package's digits binarized at 0.5, ${digits.train.length} to train, ${digits.test.length} held out.`);
  console.log(`Models: 28×28×1, latent ${BENCH_SPEC.latent}, hidden ${BENCH_SPEC.hidden}, Bernoulli ELBO, Adam 1e-3, batch ${BATCH}.\n`);

  const mlp = await trainModel('mlp', digits, Number(args.epochs));
  console.log(`Trained the MLP VAE for ${args.epochs} epochs in ${mlp.seconds.toFixed(1)} s.`);
  const methods = args.methods.split(',') as ImputeMethod[];
  const masks = args.masks.split(',') as MaskKind[];
  if (!args['no-timing']) await timing(mlp.trainer, digits, means);

  const images = Math.min(Number(args.images), digits.test.length);
  console.log(`\nQuality: ${images} held-out digits, ${args.iterations} iterations; chains/restarts 4 (pseudo-Gibbs, Metropolis, optimize), ` +
    `${args.proposals} proposals per iteration (importance, 25 % from the prior). MLP VAE.`);
  const families = args.families.split(',') as ModelFamily[];
  for (const family of families) {
    const model = family === 'vae' ? mlp : await trainModel('mlp', digits, Number(args.epochs), family);
    if (family !== 'vae') {
      const how = family === 'cvae' ? 'imputing given each digit\'s true class' : `${M2_LABELLED * 100} % of the training labels, inferring the class`;
      console.log(`\nTrained the MLP ${family} for ${args.epochs} epochs in ${model.seconds.toFixed(1)} s (${how}).`);
    } else if (families.length > 1) console.log('\nMLP VAE:');
    for (const mask of masks) {
      const report = await evaluateImputation({
        model: model.trainer.model,
        decoder: model.trainer.decoder,
        ...(family === 'vae' ? {} : { labels: { truth: digits.images.labels!, infer: family === 'm2' }, classifier: model.trainer.classifier }),
        images: digits.images,
        indices: digits.test.subarray(0, images),
        means,
        mask,
        methods,
        iterations: Number(args.iterations),
        proposals: Number(args.proposals),
        seed: 1,
      });
      printScores(mask, report.scores, report.binary);
    }
    if (model !== mlp) model.trainer.dispose();
  }
  mlp.trainer.dispose();
  console.log(`\nWhole bench: ${((performance.now() - started) / 1000).toFixed(0)} s (tfjs-core ${tf.version_core}).`);
}

async function timing(mlp: VaeTrainer, digits: DigitSplit, means: Float32Array): Promise<void> {
  const conv = await trainModel('conv', digits, Number(args['conv-epochs']));
  console.log(`Trained the conv VAE for ${args['conv-epochs']} epochs in ${conv.seconds.toFixed(1)} s (timing only).`);
  console.log(`\nRefinement time at 28×28 (one iteration + mean, ${args.samples} imputations and uncertainty map as PNGs; ` +
    `importance: ${args.proposals} proposals), ms — target ≤ ${TARGET_MS} ms`);
  console.log(`  ${'method'.padEnd(14)} ${'MLP median'.padStart(10)} ${'p95'.padStart(7)} ${'conv median'.padStart(12)} ${'p95'.padStart(7)}  target`);
  for (const method of imputeMethods) {
    const a = await refinementTimes(mlp, digits, means, method);
    const b = await refinementTimes(conv.trainer, digits, means, method);
    const worst = Math.max(quantile(a, 0.95), quantile(b, 0.95));
    console.log(
      `  ${method.padEnd(14)} ${quantile(a, 0.5).toFixed(1).padStart(10)} ${quantile(a, 0.95).toFixed(1).padStart(7)} ` +
        `${quantile(b, 0.5).toFixed(1).padStart(12)} ${quantile(b, 0.95).toFixed(1).padStart(7)}  ${worst <= TARGET_MS ? 'met' : 'MISSED'}`,
    );
  }
  conv.trainer.dispose();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
