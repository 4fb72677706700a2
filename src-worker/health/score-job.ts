import { ApiError } from '@shared/errors';
import { familyOf } from '@shared/families';
import { nllFigures } from '@shared/likelihood';
import {
  complexityScore,
  encodeRunHealth,
  modelBits,
  typicalityDistance,
  typicalityStats,
  LABEL_FOLDS,
  MAX_RUN_HEALTH_RECONSTRUCTIONS,
  RECONSTRUCTIONS_PER_END,
  RUN_HEALTH_VERSION,
  type RunHealthHeader,
} from '@shared/run-health';
import type { StartHealthScoring } from '@shared/worker-protocol';
import { createRng, STREAM } from '../engine/random';
import { toErrorShape } from '../errors';
import { loadCheckpoint, prepareJob, type JobContext } from '../job';
import { dequantize } from '../objectives/iwae';
import { openTrainer } from '../train/engine-trainer';
import { iwaeImagesPerBatch } from '../train/evaluate';
import { gatherBatch, gatherLabels, pixelsPerImage } from '../train/images';
import { chooseSplit } from '../train/split';
import type { VaeTrainer } from '../train/trainer';
import { compressedBitsPerDim } from './complexity';
import { accuracyOf, crossFittedLabelCheck } from './label-check';

/** Images per forward batch (encoder and decoder once each). */
const SCORE_BATCH = 512;
/** A conditional model's p(y|x) by Bayes costs one bound per class: beyond this many classes the latent classifier answers instead. */
const MAX_BAYES_CLASSES = 20;

/**
 * Dataset health with a trained run (#22): every image of the dataset, whatever its
 * split, scored by the checkpoint — the one-sample ELBO and (k > 0) the IWAE bound, both
 * in bits/dim as the run page reports them, the compressor's bits/dim for the
 * input-complexity score, the latent mean, and p(y|x) for labelled data — then the
 * extremes reconstructed. One batch at a time (memory: the columns, 4 bytes per image
 * per value, and one batch of tensors); stop is answered between batches. The report
 * goes back encoded (src-shared/run-health.ts); stopped, nothing does.
 */
export async function runHealthJob(start: StartHealthScoring, context: JobContext): Promise<number> {
  const { send } = context;
  try {
    const { config, images } = await prepareJob(start.config, start.datasetPath, send, start.datasetSha256);
    const { checkpoint } = loadCheckpoint(start.checkpoint);
    const opened = openTrainer(config, images);
    try {
      if (opened.kind !== 'gaussian') {
        throw new ApiError('invalid_input', `Run ${start.runId} is a ${config.family}: health scoring needs a model with a Gaussian latent (VAE, conditional VAE, M2 or a flow posterior). Score the dataset with one of those runs.`, {
          field: 'runId',
        });
      }
      const trainer = opened.trainer;
      trainer.importState(checkpoint.trainer);
      const started = performance.now();
      const cpu = process.cpuUsage();
      const report = await score(start, context, trainer, config, images, checkpoint);
      if (report === null) {
        send({ type: 'done', reason: 'stopped', summary: {} });
        return 0;
      }
      report.header.seconds = Math.round((performance.now() - started) / 100) / 10;
      // CPU seconds of this process beside the wall clock: on a busy machine the two part.
      const used = process.cpuUsage(cpu);
      report.header.timings = { ...report.header.timings, cpu: Math.round((used.user + used.system) / 1e5) / 10 };
      send({ type: 'health-report', data: Buffer.from(encodeRunHealth(report)).toString('base64') });
      send({ type: 'done', reason: 'finished', summary: { health_seconds: report.header.seconds } });
      return 0;
    } finally {
      opened.trainer.dispose();
    }
  } catch (error) {
    send({ type: 'error', error: toErrorShape(error) });
    return 1;
  }
}

type Images = Awaited<ReturnType<typeof prepareJob>>['images'];

async function score(
  start: StartHealthScoring,
  context: JobContext,
  trainer: VaeTrainer,
  config: Awaited<ReturnType<typeof prepareJob>>['config'],
  images: Images,
  checkpoint: ReturnType<typeof loadCheckpoint>['checkpoint'],
): Promise<Parameters<typeof encodeRunHealth>[0] | null> {
  const { send } = context;
  const n = images.count;
  const D = pixelsPerImage(images.shape);
  const latent = trainer.latent;
  const family = familyOf(config);
  const conditional = family.labels === 'all';
  const classes = images.classes ?? (images.labels.length ? Math.max(0, ...images.labels) + 1 : 0);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const split = new Uint8Array(n);
  const runSplit = chooseSplit(n, images.split, config);
  runSplit.validation.forEach((i) => (split[i] = 1));
  runSplit.test.forEach((i) => (split[i] = 2));

  const elbo = new Float32Array(n);
  const compress = new Float32Array(n);
  const means = new Float32Array(n * latent);
  const k = Math.max(0, start.iwaeSamples);
  const iwae = k > 0 ? new Float32Array(n) : null;
  const rng = createRng(config.seed, STREAM.health);
  const bpd = (logLikelihood: number): number => nllFigures(logLikelihood, D, config.decoder).bitsPerDim;
  const scratch = new Uint8Array(images.shape.height * (images.shape.width * images.shape.channels + 1));
  const timings = { model: 0, iwae: 0, compress: 0, labels: 0, reconstructions: 0 };
  let lastProgress = 0;
  const progress = (phase: 'scoring' | 'labels' | 'reconstructions', done: number, total: number, force = false): void => {
    const now = performance.now();
    if (!force && now - lastProgress < 250) return;
    lastProgress = now;
    send({ type: 'health-progress', phase, done, total });
  };
  const interrupted = async (): Promise<boolean> => {
    await context.yieldToEventLoop();
    return context.shouldStop();
  };

  progress('scoring', 0, n, true);
  const bayes = conditional && classes > 1 && classes <= MAX_BAYES_CLASSES && start.labelCheck !== false ? new Float32Array(n * classes) : null;
  for (let from = 0; from < n; from += SCORE_BATCH) {
    const to = Math.min(n, from + SCORE_BATCH);
    const rows = to - from;
    const clean = gatherBatch(images, order, from, to);
    const input = config.decoder === 'gaussian' ? dequantize(clean, rng) : clean;
    const labels = conditional ? gatherLabels(images, order, from, to) : undefined;
    const t0 = performance.now();
    const scoredBatch = await trainer.scoreBatch(input, rows, rng, labels, true, clean);
    for (let r = 0; r < rows; r++) elbo[from + r] = bpd(scoredBatch.elbo[r]!);
    means.set(scoredBatch.means!, from * latent);
    timings.model += performance.now() - t0;
    if (bayes) {
      // log p(x|y) by its bound for every class; p(y|x) ∝ p(x|y) with a uniform prior.
      const perClass: Float64Array[] = [];
      for (let c = 0; c < classes; c++) perClass.push(await trainer.elboPerImage(input, rows, createRng(config.seed + from, STREAM.health), new Int32Array(rows).fill(c)));
      for (let r = 0; r < rows; r++) {
        const max = Math.max(...perClass.map((v) => v[r]!));
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += Math.exp(perClass[c]![r]! - max);
        for (let c = 0; c < classes; c++) bayes[(from + r) * classes + c] = Math.exp(perClass[c]![r]! - max) / sum;
      }
    }
    if (iwae) {
      const tIwae = performance.now();
      const per = iwaeImagesPerBatch(D, k);
      for (let at = 0; at < rows; at += per) {
        const m = Math.min(per, rows - at);
        const part = input.subarray(at * D, (at + m) * D);
        const ll = await trainer.iwaeLogLikelihood(part, m, k, rng, labels?.subarray(at, at + m));
        for (let r = 0; r < m; r++) iwae[from + at + r] = bpd(ll[r]!);
      }
      timings.iwae += performance.now() - tIwae;
    }
    const t1 = performance.now();
    for (let r = 0; r < rows; r++) {
      const i = from + r;
      compress[i] = compressedBitsPerDim(images.pixels.subarray(i * D, (i + 1) * D), images.shape.width, images.shape.height, images.shape.channels, scratch);
    }
    timings.compress += performance.now() - t1;
    progress('scoring', to, n);
    if (await interrupted()) return null;
  }
  progress('scoring', n, n, true);
  const t2 = performance.now();

  // The label check.
  let labelSource: RunHealthHeader['labelSource'] = null;
  let probabilities: Float32Array | null = null;
  let labelAccuracy: number | null = null;
  const labelled = images.labels.some((l) => l >= 0) && classes > 1 && start.labelCheck !== false;
  if (labelled) {
    if (trainer.classes > 0 && family.labels === 'some') {
      labelSource = 'm2';
      probabilities = new Float32Array(n * classes);
      for (let from = 0; from < n; from += SCORE_BATCH) {
        const to = Math.min(n, from + SCORE_BATCH);
        probabilities.set((await trainer.classify(gatherBatch(images, order, from, to), to - from)).probabilities, from * classes);
        progress('labels', to, n);
        if (await interrupted()) return null;
      }
    } else if (bayes) {
      labelSource = 'cvae';
      probabilities = bayes;
    } else if (!conditional) {
      labelSource = 'latent-classifier';
      const fitted = await crossFittedLabelCheck(means, n, latent, images.labels, {
        folds: LABEL_FOLDS,
        classes,
        seed: config.seed,
        tick: async (done, total) => {
          progress('labels', done, total);
          return interrupted();
        },
      });
      if (fitted === null) return null;
      probabilities = fitted.probabilities;
    }
    if (probabilities) labelAccuracy = accuracyOf(probabilities, images.labels, n, classes);
  }
  let labelProb: Float32Array | null = null;
  let predicted: Int32Array | null = null;
  let predictedProb: Float32Array | null = null;
  if (probabilities) {
    labelProb = new Float32Array(n).fill(NaN);
    predicted = new Int32Array(n);
    predictedProb = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (probabilities[i * classes + c]! > probabilities[i * classes + best]!) best = c;
      predicted[i] = best;
      predictedProb[i] = probabilities[i * classes + best]!;
      const label = images.labels[i]!;
      if (label >= 0 && label < classes) labelProb[i] = probabilities[i * classes + label]!;
    }
  }

  timings.labels = performance.now() - t2;
  const t3 = performance.now();
  // Reconstructions of each ranking's extremes (what the Health page shows beside them).
  const typical = typicalityStats({ elbo, iwae, compress, split });
  const rankings: ((i: number) => number)[] = [
    (i) => typicalityDistance(typical, modelBits({ elbo, iwae }, i), compress[i]!),
    (i) => complexityScore({ elbo, iwae, compress }, i),
    (i) => elbo[i]!,
  ];
  if (iwae) rankings.push((i) => iwae[i]!);
  if (labelProb) rankings.push((i) => (Number.isNaN(labelProb[i]!) ? 2 : -labelProb[i]!));
  const chosen = new Set<number>();
  for (const key of rankings) {
    const sorted = Array.from(order).sort((a, b) => key(b) - key(a));
    for (const i of [...sorted.slice(0, RECONSTRUCTIONS_PER_END), ...sorted.slice(-RECONSTRUCTIONS_PER_END)]) {
      if (chosen.size < MAX_RUN_HEALTH_RECONSTRUCTIONS) chosen.add(i);
    }
  }
  const reconIndex = Int32Array.from([...chosen].sort((a, b) => a - b));
  const recon = new Uint8Array(reconIndex.length * D);
  for (let from = 0; from < reconIndex.length; from += SCORE_BATCH) {
    const to = Math.min(reconIndex.length, from + SCORE_BATCH);
    const labels = conditional ? gatherLabels(images, reconIndex, from, to) : undefined;
    const mean = await trainer.reconstruct(gatherBatch(images, reconIndex, from, to), to - from, labels);
    for (let j = 0; j < mean.length; j++) recon[from * D + j] = Math.max(0, Math.min(255, Math.round(mean[j]! * 255)));
    progress('reconstructions', to, reconIndex.length);
    if (await interrupted()) return null;
  }

  timings.reconstructions = performance.now() - t3;
  return {
    header: {
      timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v / 100) / 10])),
      version: RUN_HEALTH_VERSION,
      runId: start.runId,
      computedAt: new Date().toISOString(),
      checkpoint: { epoch: checkpoint.epoch, step: checkpoint.step },
      count: n,
      latent,
      shape: { width: images.shape.width, height: images.shape.height, channels: images.shape.channels },
      decoder: config.decoder,
      iwaeSamples: k,
      labelSource,
      labelAccuracy,
      seconds: 0,
    },
    split,
    elbo,
    iwae,
    compress,
    means,
    labelProb,
    predicted,
    predictedProb,
    reconIndex,
    recon,
  };
}
