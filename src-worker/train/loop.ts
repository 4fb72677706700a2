import type { RunConfig } from '@shared/config';
import { familyOf } from '@shared/families';
import { ApiError } from '@shared/errors';
import { permutation, type Split } from '@shared/random';
import type { MetricPoint, RunProgress } from '@shared/types';
import type { EpochSummary } from '@shared/worker-protocol';
import { createRng, STREAM } from '../engine/random';
import { learningRateAt, objectiveAt } from '../objectives/schedule';
import { RECONSTRUCTION_COUNT, reconstructionGrid, SAMPLE_COUNT, type ArtifactKind } from './artifacts';
import type { TrainingCheckpoint } from './checkpoint-state';
import { summarizeEvaluation, klDimMetric } from './epoch-report';
import { budgetedIwaeBound, classificationAccuracy, elboSums, iwaeSummary } from './evaluate';
import { evaluationBudgetMs } from './eval-budget';
import { estimateEtaSeconds, type EpochCost } from './eta';
import { keepLabels, labelledBatch, resolveClassifierWeight } from './semi-supervised';
import { gatherBatch, gatherLabels, type ImageSet } from './images';
import type { RasterImage } from './grid';
import { createParallelTrainer, type ParallelOptions } from './engine-trainer';

/**
 * The training loop: epochs of shuffled minibatches; after each epoch a validation
 * pass, image grids and a checkpoint; after the last one the IWAE bound on the test
 * split. Everything is reported through a listener. Knows nothing of processes or
 * files (the worker entry maps the listener onto the protocol) and uses no Node API,
 * so it can run in a browser worker too.
 */

export type { ArtifactKind } from './artifacts';

/** What the loop reports as it goes: the run's progress without the run id. */
export type TrainProgress = Omit<RunProgress, 'runId'>;

export interface TrainListener {
  /** Per-step points, bundled (at most one call per metricsIntervalMs, plus flushes). */
  metrics(points: MetricPoint[]): void;
  progress(progress: TrainProgress): void;
  epoch(summary: EpochSummary): void;
  image(kind: ArtifactKind, epoch: number, image: RasterImage): void;
  /** After every finished epoch: the state a resume continues from. */
  checkpoint(checkpoint: TrainingCheckpoint): void;
}

export interface TrainOptions {
  config: RunConfig;
  images: ImageSet;
  /** `test` (may be empty) is only read by the IWAE evaluation after the last epoch. */
  split: Split & { test?: Int32Array };
  listener: TrainListener;
  /** Polled after every step and evaluation batch. */
  shouldStop: () => boolean;
  /** Lets queued messages (stop, pause, ping, heartbeat timers) run between steps. */
  yieldToEventLoop: () => Promise<void>;
  /** Resolves at once unless the run is paused, then when it is resumed or stopped. */
  waitWhilePaused?: () => Promise<void>;
  /** Continue from this checkpoint instead of fresh weights. */
  resume?: TrainingCheckpoint;
  /** Data-parallel steps across threads (absent: one thread, no replica). */
  parallel?: ParallelOptions;
  metricsIntervalMs?: number;
  progressIntervalMs?: number;
  now?: () => number;
}

export interface TrainResult {
  reason: 'finished' | 'stopped';
  summary: Record<string, number>;
}

export { RECONSTRUCTION_COUNT, SAMPLE_COUNT };

function nonFinite(value: number, epoch: number, step: number): ApiError {
  const what = Number.isNaN(value) ? 'NaN' : 'infinite';
  return new ApiError('worker_failed', `Loss became ${what} at epoch ${epoch} step ${step} — try a lower learning rate`, {
    field: 'learningRate',
    epoch,
    step,
  });
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, images, split, listener, resume } = options;
  const now = options.now ?? (() => performance.now());
  const metricsInterval = options.metricsIntervalMs ?? 200;
  const progressInterval = options.progressIntervalMs ?? 250;
  const started = now();
  const waitUnlessPaused = options.waitWhilePaused ?? (() => Promise.resolve());
  // Time held paused is left out of every epoch's cost, so the ETA neither grows nor
  // drains while the run waits.
  let pausedMs = 0;
  const waitWhilePaused = async (): Promise<void> => {
    const from = now();
    await waitUnlessPaused();
    pausedMs += now() - from;
  };

  if (split.train.length === 0) {
    throw new ApiError('invalid_input', 'The dataset has no images to train on.', { field: 'datasetPath' });
  }
  if (resume !== undefined && resume.epoch > config.epochs) {
    throw new ApiError('invalid_input', `The checkpoint is from epoch ${resume.epoch}, past the run's ${config.epochs} epochs.`, {
      field: 'epochs',
    });
  }
  // A semi-supervised family (M2) keeps a fraction of the training labels; the rest train unlabelled.
  const semi = familyOf(config).labels === 'some' ? keepLabels(images, split.train, config.labelFraction, config.seed) : null;
  const trainerConfig = semi ? { ...config, classifierWeight: resolveClassifierWeight(config, semi, split.train.length) } : config;
  const { trainer, threads } = await createParallelTrainer(trainerConfig, images, options.parallel);
  try {
    const nTrain = split.train.length;
    const { batchSize, epochs } = config;
    const stepsPerEpoch = Math.ceil(nTrain / batchSize);
    // Without a validation split the evaluation runs on training images and its
    // figures are named train_* so nobody mistakes them for held-out numbers.
    const evalIndices = split.validation.length > 0 ? split.validation : split.train;
    const evalPrefix = split.validation.length > 0 ? 'val' : 'train';
    // Evenly spaced through the held-out images: datasets are stored folder by folder,
    // so the first few would all show one class.
    const reconIndices = Int32Array.from({ length: Math.min(RECONSTRUCTION_COUNT, evalIndices.length) }, (_, i) =>
      evalIndices[Math.floor((i * evalIndices.length) / Math.min(RECONSTRUCTION_COUNT, evalIndices.length))]!,
    );
    const shuffle = createRng(config.seed, STREAM.shuffle);

    // Everything below that a checkpoint carries starts from it on resume.
    if (resume) {
      trainer.importState(resume.trainer);
      shuffle.setState(resume.shuffle);
    }
    const elapsedBefore = resume?.progress.elapsedMs ?? 0;
    const elapsed = (): number => elapsedBefore + (now() - started);
    let step = resume?.step ?? 0;
    let epochsDone = resume?.epoch ?? 0;
    let trainedImages = resume?.progress.trainedImages ?? 0;
    let trainMs = resume?.progress.trainMs ?? 0;
    let bestEvalLoss = resume?.progress.bestEvalLoss ?? null;
    const startEpoch = epochsDone + 1;
    let pending: MetricPoint[] = [];
    let lastFlush = now();
    let lastProgress = -Infinity;
    let latestEval: Record<string, number> = {};
    let epochSums = { loss: 0, recon: 0, kl: 0, images: 0 };
    let stopped = false;

    const flushMetrics = (): void => {
      if (pending.length > 0) listener.metrics(pending);
      pending = [];
      lastFlush = now();
    };
    const imagesPerSec = (): number => (trainMs > 0 ? (trainedImages * 1000) / trainMs : 0);
    const recentEpochs: EpochCost[] = [];
    /** The epoch under way: steps done, and when it started (on the pause-free clock). */
    let epochSteps = 0;
    let epochStartActive = 0;
    const activeNow = (): number => now() - pausedMs;
    const progress = (epoch: number): void => {
      const rate = imagesPerSec();
      listener.progress({
        phase: 'training',
        epoch,
        epochs,
        step,
        stepsPerEpoch,
        imagesPerSec: round1(rate),
        etaSeconds: estimateEtaSeconds({
          recent: recentEpochs,
          stepsDone: epochSteps,
          stepsPerEpoch,
          epochMs: activeNow() - epochStartActive,
          epochsLeft: epochs - epochsDone,
          trainMs,
          testBound: (split.test?.length ?? 0) > 0,
          evalImages: evalIndices.length,
          imagesPerSec: rate,
        }),
      });
      lastProgress = now();
    };
    const control = { shouldStop: options.shouldStop, yieldToEventLoop: options.yieldToEventLoop, waitWhilePaused };

    for (let epoch = startEpoch; epoch <= epochs && !stopped; epoch++) {
      const epochStart = now();
      epochStartActive = activeNow();
      epochSteps = 0;
      const epochTrainMsBefore = trainMs;
      const perm = permutation(nTrain, shuffle.uniform);
      const order = Int32Array.from(perm, (i) => split.train[i] ?? 0);
      epochSums = { loss: 0, recon: 0, kl: 0, images: 0 };
      trainer.beginEpoch?.(epoch);

      for (let s = 0; s < stepsPerEpoch; s++) {
        const from = s * batchSize;
        const to = Math.min(nTrain, from + batchSize);
        const t0 = now();
        let rows: Int32Array = order.subarray(from, to);
        let labels = trainer.classes > 0 ? gatherLabels(images, order, from, to) : undefined;
        if (semi && labels) {
          // Hidden labels become −1; a labelled batch joins every step (Kingma 2014).
          labels = labels.map((label, i) => (semi.isKept[rows[i]!] ? label : -1));
          const extra = labelledBatch(semi, epoch, s, batchSize, config.seed);
          rows = Int32Array.from([...rows, ...extra]);
          labels = Int32Array.from([...labels, ...gatherLabels(images, extra, 0, extra.length)]);
        }
        const stats = await trainer.step(gatherBatch(images, rows, 0, rows.length), rows.length, labels);
        trainMs += now() - t0;
        step++;
        epochSteps++;
        if (!Number.isFinite(stats.loss)) throw nonFinite(stats.loss, epoch, step);
        const n = to - from;
        trainedImages += n;
        epochSums.loss += stats.loss * n;
        epochSums.recon += stats.recon * n;
        epochSums.kl += stats.kl * n;
        epochSums.images += n;
        const t = Math.round(elapsed());
        pending.push(
          { step, epoch, name: 'loss', value: stats.loss, t },
          { step, epoch, name: 'recon', value: stats.recon, t },
          { step, epoch, name: 'kl', value: stats.kl, t },
          ...Object.entries(stats.extra ?? {}).map(([name, value]) => ({ step, epoch, name, value, t })),
        );
        if (now() - lastFlush >= metricsInterval) flushMetrics();
        if (now() - lastProgress >= progressInterval) progress(epoch);
        await options.yieldToEventLoop();
        await waitWhilePaused();
        if (options.shouldStop()) {
          stopped = true;
          break;
        }
      }
      flushMetrics();
      if (stopped) break;
      epochsDone = epoch;
      const stepsEndActive = activeNow();

      const sums = await elboSums(trainer, images, evalIndices, config.seed, control);
      if (sums === null) {
        stopped = true;
        break;
      }
      const evaluation = summarizeEvaluation(sums, evalPrefix);
      if (!Number.isFinite(evaluation.elbo)) throw nonFinite(evaluation.elbo, epoch, step);
      const epochImages = epochSums.images;
      const epochTrainMs = trainMs - epochTrainMsBefore;
      const settings = objectiveAt(config, step);
      const sigma = await trainer.decoderSigma();
      latestEval = {
        ...evaluation.figures,
        // Per epoch: wall time of the epoch (steps + validation), training throughput, schedules.
        epoch_seconds: (now() - epochStart) / 1000,
        elapsed_seconds: elapsed() / 1000,
        images_per_sec: epochTrainMs > 0 ? round1((epochImages * 1000) / epochTrainMs) : 0,
        lr: learningRateAt(config, step),
        ...(config.objective === 'capacity' ? { capacity: settings.capacity } : { kl_weight: settings.klWeight }),
        ...(sigma !== null && config.decoderVariance !== 'fixed' ? { decoder_sigma: sigma } : {}),
      };
      const t = Math.round(elapsed());
      const point = (name: string, value: number): MetricPoint => ({ step, epoch, name, value, t });
      listener.metrics([
        ...Object.entries(latestEval).map(([name, value]) => point(name, value)),
        ...Array.from(evaluation.klPerDim, (value, j) => point(klDimMetric(j), value)),
      ]);
      const trainMeans = {
        train_loss: epochSums.loss / epochSums.images,
        train_recon: epochSums.recon / epochSums.images,
        train_kl: epochSums.kl / epochSums.images,
      };
      listener.epoch({ epoch, step, metrics: { ...latestEval, ...trainMeans } });
      listener.image('reconstructions', epoch, await reconstructionGrid(trainer, images, reconIndices));
      const drawn = await trainer.epochImages({
        images,
        seed: config.seed,
        imageIndex: evalIndices[0] ?? 0,
        dimsByKl: evaluation.dimsByKl,
        ...(sums.codeCounts && { codeCounts: sums.codeCounts }),
      });
      for (const { kind, image } of drawn) listener.image(kind, epoch, image);

      const evalLoss = -evaluation.elbo;
      const isBest = bestEvalLoss === null || evalLoss < bestEvalLoss;
      if (isBest) bestEvalLoss = evalLoss;
      listener.checkpoint({
        epoch,
        step,
        trainer: await trainer.exportState(),
        shuffle: shuffle.getState(),
        progress: { elapsedMs: elapsed(), trainedImages, trainMs, evalLoss, bestEvalLoss, isBest },
      });
      recentEpochs.push({ trainMs: stepsEndActive - epochStartActive, tailMs: activeNow() - stepsEndActive });
      epochSteps = 0;
      epochStartActive = activeNow();
      progress(epoch);
    }

    const summary: Record<string, number> = {
      epochs: epochsDone,
      steps: step,
      imagesPerSec: round1(imagesPerSec()),
      threads,
      ...latestEval,
    };
    if (epochSums.images > 0) {
      summary['loss'] = epochSums.loss / epochSums.images;
      summary['recon'] = epochSums.recon / epochSums.images;
      summary['kl'] = epochSums.kl / epochSums.images;
    }

    const test = split.test ?? new Int32Array(0);
    // Stop while the test bound runs: training is complete and checkpointed, so the run
    // ends finished, with the bound over the images read so far (marked partial) or
    // none; a full evaluation from the run page or `vae-studio evaluate` completes it.
    let evaluationStopped = false;
    if (!stopped && test.length > 0) {
      summary['train_seconds'] = Math.round(trainMs) / 1000;
      const budgeted = await budgetedIwaeBound(trainer, images, test, config, config.iwaeSamples, evaluationBudgetMs(trainMs), {
        ...control,
        now,
        progress: (p) =>
          listener.progress({
            phase: 'evaluating',
            epoch: epochsDone,
            epochs,
            step,
            stepsPerEpoch,
            imagesPerSec: round1(p.imagesPerSec),
            etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
            evaluated: { done: p.done, total: p.total, k: p.k },
          }),
      });
      const result = budgeted?.result ?? null;
      evaluationStopped = result === null || result.partial;
      if (result !== null && budgeted !== null) {
        const figures: Record<string, number> = {
          ...iwaeSummary(result, config.decoder, test.length),
          iwae_budget_seconds: Math.round(budgeted.budgetMs) / 1000,
          iwae_seconds: Math.round(result.seconds * 10 + budgeted.probeMs / 100) / 10,
        };
        const t = Math.round(elapsed());
        listener.metrics(
          ['test_nll', 'test_bpd', 'iwae_k'].map((name) => ({ step, epoch: epochsDone, name, value: figures[name]!, t })),
        );
        Object.assign(summary, figures);
      }
    }
    if (!stopped && !evaluationStopped && semi && test.length > 0 && trainer.classify) {
      const accuracy = await classificationAccuracy({ classify: trainer.classify.bind(trainer) }, images, test, control);
      if (accuracy !== null) {
        // Accuracy beside the share of labels it was trained with.
        const figures = { test_accuracy: accuracy, label_fraction: semi.fraction, labelled_images: semi.kept.length };
        const t = Math.round(elapsed());
        listener.metrics(Object.entries(figures).map(([name, value]) => ({ step, epoch: epochsDone, name, value, t })));
        Object.assign(summary, figures);
      }
    }
    summary['seconds'] = Math.round(elapsed()) / 1000;
    return { reason: stopped ? 'stopped' : 'finished', summary };
  } finally {
    trainer.dispose();
  }
}
