import type { RunConfig } from '@shared/config';
import { familyOf } from '@shared/families';
import { ApiError } from '@shared/errors';
import { permutation, type Split } from '@shared/random';
import type { MetricPoint, RunProgress } from '@shared/types';
import type { EpochSummary } from '@shared/worker-protocol';
import { createRng, STREAM } from '../engine/random';
import { learningRateAt, objectiveAt } from '../objectives/schedule';
import { RECONSTRUCTION_COUNT, reconstructionGrid, SAMPLE_COUNT, type ArtifactKind } from './epoch-images';
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

export type { ArtifactKind } from './epoch-images';

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

/** Refuses what cannot train: no training images, a checkpoint past the run's epochs. */
function checkTrainable(config: RunConfig, split: TrainOptions['split'], resume: TrainingCheckpoint | undefined): void {
  if (split.train.length === 0) {
    throw new ApiError('invalid_input', 'The dataset has no images to train on.', { field: 'datasetPath' });
  }
  if (resume !== undefined && resume.epoch > config.epochs) {
    throw new ApiError('invalid_input', `The checkpoint is from epoch ${resume.epoch}, past the run's ${config.epochs} epochs.`, {
      field: 'epochs',
    });
  }
}

/**
 * Evenly spaced through the held-out images: datasets are stored folder by folder, so
 * the first few would all show one class.
 */
function spreadIndices(from: Int32Array, count: number): Int32Array {
  const n = Math.min(count, from.length);
  return Int32Array.from({ length: n }, (_, i) => from[Math.floor((i * from.length) / n)]!);
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, images, split, resume } = options;
  // The run's clock starts before its trainer (and its threads) are made, as it always has.
  const started = (options.now ?? (() => performance.now()))();
  checkTrainable(config, split, resume);
  // A semi-supervised family (M2) keeps a fraction of the training labels; the rest train unlabelled.
  const semi = familyOf(config).labels === 'some' ? keepLabels(images, split.train, config.labelFraction, config.seed) : null;
  const trainerConfig = semi ? { ...config, classifierWeight: resolveClassifierWeight(config, semi, split.train.length) } : config;
  const { trainer, threads } = await createParallelTrainer(trainerConfig, images, options.parallel);
  try {
    return await new TrainingRun(options, trainer, semi, threads, started).run();
  } finally {
    trainer.dispose();
  }
}

type Trainer = Awaited<ReturnType<typeof createParallelTrainer>>['trainer'];
type KeptLabels = ReturnType<typeof keepLabels>;

/**
 * One call of train(): the counters a checkpoint carries, the epoch under way, and the
 * named steps of the loop — epochs of steps, each epoch's evaluation, images and
 * checkpoint, then the test bound and (M2) the test accuracy.
 */
class TrainingRun {
  private readonly config: RunConfig;
  private readonly images: ImageSet;
  private readonly split: TrainOptions['split'];
  private readonly listener: TrainListener;
  private readonly now: () => number;
  private readonly metricsInterval: number;
  private readonly progressInterval: number;
  private readonly started: number;
  private readonly shuffle: ReturnType<typeof createRng>;
  private readonly nTrain: number;
  private readonly stepsPerEpoch: number;
  /** Without a validation split the evaluation runs on training images, its figures named train_*. */
  private readonly evalIndices: Int32Array;
  private readonly evalPrefix: 'val' | 'train';
  private readonly reconIndices: Int32Array;
  private readonly elapsedBefore: number;
  private readonly control: { shouldStop: () => boolean; yieldToEventLoop: () => Promise<void>; waitWhilePaused: () => Promise<void> };

  // What a checkpoint carries, from it on resume.
  private step: number;
  private epochsDone: number;
  private trainedImages: number;
  private trainMs: number;
  private bestEvalLoss: number | null;

  private pending: MetricPoint[] = [];
  private lastFlush: number;
  private lastProgress = -Infinity;
  private latestEval: Record<string, number> = {};
  private epochSums = { loss: 0, recon: 0, kl: 0, images: 0 };
  /** Time held paused is left out of every epoch's cost, so the ETA neither grows nor drains while the run waits. */
  private pausedMs = 0;
  private readonly recentEpochs: EpochCost[] = [];
  /** The epoch under way: steps done, and when it started (on the pause-free clock). */
  private epochSteps = 0;
  private epochStartActive = 0;

  constructor(
    private readonly options: TrainOptions,
    private readonly trainer: Trainer,
    private readonly semi: KeptLabels | null,
    private readonly threads: number,
    started: number,
  ) {
    const { config, split, resume } = options;
    this.config = config;
    this.images = options.images;
    this.split = split;
    this.listener = options.listener;
    this.now = options.now ?? (() => performance.now());
    this.metricsInterval = options.metricsIntervalMs ?? 200;
    this.progressInterval = options.progressIntervalMs ?? 250;
    this.started = started;
    this.lastFlush = this.now();
    this.nTrain = split.train.length;
    this.stepsPerEpoch = Math.ceil(this.nTrain / config.batchSize);
    this.evalIndices = split.validation.length > 0 ? split.validation : split.train;
    this.evalPrefix = split.validation.length > 0 ? 'val' : 'train';
    this.reconIndices = spreadIndices(this.evalIndices, RECONSTRUCTION_COUNT);
    this.shuffle = createRng(config.seed, STREAM.shuffle);
    if (resume) {
      this.trainer.importState(resume.trainer);
      this.shuffle.setState(resume.shuffle);
    }
    this.elapsedBefore = resume?.progress.elapsedMs ?? 0;
    this.step = resume?.step ?? 0;
    this.epochsDone = resume?.epoch ?? 0;
    this.trainedImages = resume?.progress.trainedImages ?? 0;
    this.trainMs = resume?.progress.trainMs ?? 0;
    this.bestEvalLoss = resume?.progress.bestEvalLoss ?? null;
    const waitUnlessPaused = options.waitWhilePaused ?? (() => Promise.resolve());
    const waitWhilePaused = async (): Promise<void> => {
      const from = this.now();
      await waitUnlessPaused();
      this.pausedMs += this.now() - from;
    };
    this.control = { shouldStop: options.shouldStop, yieldToEventLoop: options.yieldToEventLoop, waitWhilePaused };
  }

  async run(): Promise<TrainResult> {
    let stopped = false;
    for (let epoch = this.epochsDone + 1; epoch <= this.config.epochs && !stopped; epoch++) {
      const epochStart = this.now();
      const epochTrainMsBefore = this.trainMs;
      stopped = (await this.trainEpoch(epoch)) === 'stopped';
      if (stopped) break;
      this.epochsDone = epoch;
      stopped = (await this.endEpoch(epoch, epochStart, epochTrainMsBefore)) === 'stopped';
    }
    const summary = this.summary();
    const evaluationStopped = stopped ? true : await this.testBound(summary);
    if (!stopped && !evaluationStopped) await this.testAccuracy(summary);
    summary['seconds'] = Math.round(this.elapsed()) / 1000;
    return { reason: stopped ? 'stopped' : 'finished', summary };
  }

  private elapsed(): number {
    return this.elapsedBefore + (this.now() - this.started);
  }

  private activeNow(): number {
    return this.now() - this.pausedMs;
  }

  private imagesPerSec(): number {
    return this.trainMs > 0 ? (this.trainedImages * 1000) / this.trainMs : 0;
  }

  private flushMetrics(): void {
    if (this.pending.length > 0) this.listener.metrics(this.pending);
    this.pending = [];
    this.lastFlush = this.now();
  }

  private progress(epoch: number): void {
    const rate = this.imagesPerSec();
    this.listener.progress({
      phase: 'training',
      epoch,
      epochs: this.config.epochs,
      step: this.step,
      stepsPerEpoch: this.stepsPerEpoch,
      imagesPerSec: round1(rate),
      etaSeconds: estimateEtaSeconds({
        recent: this.recentEpochs,
        stepsDone: this.epochSteps,
        stepsPerEpoch: this.stepsPerEpoch,
        epochMs: this.activeNow() - this.epochStartActive,
        epochsLeft: this.config.epochs - this.epochsDone,
        trainMs: this.trainMs,
        testBound: (this.split.test?.length ?? 0) > 0,
        evalImages: this.evalIndices.length,
        imagesPerSec: rate,
      }),
    });
    this.lastProgress = this.now();
  }

  /** One epoch of shuffled minibatches; 'stopped' when asked to stop between steps. */
  private async trainEpoch(epoch: number): Promise<'done' | 'stopped'> {
    this.epochStartActive = this.activeNow();
    this.epochSteps = 0;
    const perm = permutation(this.nTrain, this.shuffle.uniform);
    const order = Int32Array.from(perm, (i) => this.split.train[i] ?? 0);
    this.epochSums = { loss: 0, recon: 0, kl: 0, images: 0 };
    this.trainer.beginEpoch?.(epoch);
    for (let s = 0; s < this.stepsPerEpoch; s++) {
      await this.trainStep(epoch, s, order);
      if (this.now() - this.lastFlush >= this.metricsInterval) this.flushMetrics();
      if (this.now() - this.lastProgress >= this.progressInterval) this.progress(epoch);
      await this.control.yieldToEventLoop();
      await this.control.waitWhilePaused();
      if (this.options.shouldStop()) {
        this.flushMetrics();
        return 'stopped';
      }
    }
    this.flushMetrics();
    return 'done';
  }

  /** Step s of the epoch: its batch (M2: hidden labels as −1, plus a labelled batch), one optimizer step, its points. */
  private async trainStep(epoch: number, s: number, order: Int32Array): Promise<void> {
    const { batchSize } = this.config;
    const from = s * batchSize;
    const to = Math.min(this.nTrain, from + batchSize);
    const t0 = this.now();
    let rows: Int32Array = order.subarray(from, to);
    let labels = this.trainer.classes > 0 ? gatherLabels(this.images, order, from, to) : undefined;
    if (this.semi && labels) {
      const semi = this.semi;
      // Hidden labels become −1; a labelled batch joins every step (Kingma 2014).
      labels = labels.map((label, i) => (semi.isKept[rows[i]!] ? label : -1));
      const extra = labelledBatch(semi, epoch, s, batchSize, this.config.seed);
      rows = Int32Array.from([...rows, ...extra]);
      labels = Int32Array.from([...labels, ...gatherLabels(this.images, extra, 0, extra.length)]);
    }
    const stats = await this.trainer.step(gatherBatch(this.images, rows, 0, rows.length), rows.length, labels);
    this.trainMs += this.now() - t0;
    this.step++;
    this.epochSteps++;
    if (!Number.isFinite(stats.loss)) throw nonFinite(stats.loss, epoch, this.step);
    const n = to - from;
    this.trainedImages += n;
    this.epochSums.loss += stats.loss * n;
    this.epochSums.recon += stats.recon * n;
    this.epochSums.kl += stats.kl * n;
    this.epochSums.images += n;
    const t = Math.round(this.elapsed());
    const step = this.step;
    this.pending.push(
      { step, epoch, name: 'loss', value: stats.loss, t },
      { step, epoch, name: 'recon', value: stats.recon, t },
      { step, epoch, name: 'kl', value: stats.kl, t },
      ...Object.entries(stats.extra ?? {}).map(([name, value]) => ({ step, epoch, name, value, t })),
    );
  }

  /** After an epoch: the validation pass and its figures, image grids, a checkpoint. */
  private async endEpoch(epoch: number, epochStart: number, epochTrainMsBefore: number): Promise<'done' | 'stopped'> {
    const { config, images, trainer, listener, step } = this;
    const stepsEndActive = this.activeNow();
    const sums = await elboSums(trainer, images, this.evalIndices, config.seed, this.control);
    if (sums === null) return 'stopped';
    const evaluation = summarizeEvaluation(sums, this.evalPrefix);
    if (!Number.isFinite(evaluation.elbo)) throw nonFinite(evaluation.elbo, epoch, step);
    const epochImages = this.epochSums.images;
    const epochTrainMs = this.trainMs - epochTrainMsBefore;
    const settings = objectiveAt(config, step);
    const sigma = await trainer.decoderSigma();
    this.latestEval = {
      ...evaluation.figures,
      // Per epoch: wall time of the epoch (steps + validation), training throughput, schedules.
      epoch_seconds: (this.now() - epochStart) / 1000,
      elapsed_seconds: this.elapsed() / 1000,
      images_per_sec: epochTrainMs > 0 ? round1((epochImages * 1000) / epochTrainMs) : 0,
      lr: learningRateAt(config, step),
      ...(config.objective === 'capacity' ? { capacity: settings.capacity } : { kl_weight: settings.klWeight }),
      ...(sigma !== null && config.decoderVariance !== 'fixed' ? { decoder_sigma: sigma } : {}),
    };
    const t = Math.round(this.elapsed());
    const point = (name: string, value: number): MetricPoint => ({ step, epoch, name, value, t });
    listener.metrics([
      ...Object.entries(this.latestEval).map(([name, value]) => point(name, value)),
      ...Array.from(evaluation.klPerDim, (value, j) => point(klDimMetric(j), value)),
    ]);
    const means = this.epochSums;
    const trainMeans = { train_loss: means.loss / means.images, train_recon: means.recon / means.images, train_kl: means.kl / means.images };
    listener.epoch({ epoch, step, metrics: { ...this.latestEval, ...trainMeans } });
    listener.image('reconstructions', epoch, await reconstructionGrid(trainer, images, this.reconIndices));
    const drawn = await trainer.epochImages({
      images,
      seed: config.seed,
      imageIndex: this.evalIndices[0] ?? 0,
      dimsByKl: evaluation.dimsByKl,
      ...(sums.codeCounts && { codeCounts: sums.codeCounts }),
    });
    for (const { kind, image } of drawn) listener.image(kind, epoch, image);

    const evalLoss = -evaluation.elbo;
    const isBest = this.bestEvalLoss === null || evalLoss < this.bestEvalLoss;
    if (isBest) this.bestEvalLoss = evalLoss;
    listener.checkpoint({
      epoch,
      step,
      trainer: await trainer.exportState(),
      shuffle: this.shuffle.getState(),
      progress: { elapsedMs: this.elapsed(), trainedImages: this.trainedImages, trainMs: this.trainMs, evalLoss, bestEvalLoss: this.bestEvalLoss, isBest },
    });
    this.recentEpochs.push({ trainMs: stepsEndActive - this.epochStartActive, tailMs: this.activeNow() - stepsEndActive });
    this.epochSteps = 0;
    this.epochStartActive = this.activeNow();
    this.progress(epoch);
    return 'done';
  }

  /** The run's figures: its counters, the last evaluation, and the last epoch's training means. */
  private summary(): Record<string, number> {
    const summary: Record<string, number> = {
      epochs: this.epochsDone,
      steps: this.step,
      imagesPerSec: round1(this.imagesPerSec()),
      threads: this.threads,
      ...this.latestEval,
    };
    const sums = this.epochSums;
    if (sums.images > 0) {
      summary['loss'] = sums.loss / sums.images;
      summary['recon'] = sums.recon / sums.images;
      summary['kl'] = sums.kl / sums.images;
    }
    return summary;
  }

  /**
   * The IWAE bound on the test split, within its budget, into `summary`. Stop while it
   * runs: training is complete and checkpointed, so the run ends finished, with the bound
   * over the images read so far (marked partial) or none; a full evaluation from the run
   * page or `vae-studio evaluate` completes it. Answers whether it was stopped.
   */
  private async testBound(summary: Record<string, number>): Promise<boolean> {
    const { config, listener, step, epochsDone } = this;
    const test = this.split.test ?? new Int32Array(0);
    if (test.length === 0) return false;
    summary['train_seconds'] = Math.round(this.trainMs) / 1000;
    // Data-parallel training's replicas hold the final weights: the bound spreads over them.
    const threads = this.trainer.iwaeThreads ? await this.trainer.iwaeThreads() : null;
    const budgeted = await budgetedIwaeBound(this.trainer, this.images, test, config, config.iwaeSamples, evaluationBudgetMs(this.trainMs), {
      ...this.control,
      threads,
      now: this.now,
      progress: (p) =>
        listener.progress({
          phase: 'evaluating',
          epoch: epochsDone,
          epochs: config.epochs,
          step,
          stepsPerEpoch: this.stepsPerEpoch,
          imagesPerSec: round1(p.imagesPerSec),
          etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
          evaluated: { done: p.done, total: p.total, k: p.k },
        }),
    });
    const result = budgeted?.result ?? null;
    if (result !== null && budgeted !== null) {
      const figures: Record<string, number> = {
        ...iwaeSummary(result, config.decoder, test.length, threads?.count ?? 1),
        iwae_budget_seconds: Math.round(budgeted.budgetMs) / 1000,
        iwae_seconds: Math.round(result.seconds * 10 + budgeted.probeMs / 100) / 10,
      };
      const t = Math.round(this.elapsed());
      listener.metrics(['test_nll', 'test_bpd', 'iwae_k'].map((name) => ({ step, epoch: epochsDone, name, value: figures[name]!, t })));
      Object.assign(summary, figures);
    }
    return result === null || result.partial;
  }

  /** M2: the classifier's accuracy on the test split, beside the share of labels it was trained with. */
  private async testAccuracy(summary: Record<string, number>): Promise<void> {
    const test = this.split.test ?? new Int32Array(0);
    const trainer = this.trainer;
    if (!this.semi || test.length === 0 || !trainer.classify) return;
    const accuracy = await classificationAccuracy({ classify: trainer.classify.bind(trainer) }, this.images, test, this.control);
    if (accuracy === null) return;
    const figures = { test_accuracy: accuracy, label_fraction: this.semi.fraction, labelled_images: this.semi.kept.length };
    const t = Math.round(this.elapsed());
    this.listener.metrics(Object.entries(figures).map(([name, value]) => ({ step: this.step, epoch: this.epochsDone, name, value, t })));
    Object.assign(summary, figures);
  }
}
