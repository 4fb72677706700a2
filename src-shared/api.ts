import { z } from 'zod';
import { importSettingsShape, LIMITS, runConfigSchema, runRequestConfigSchema } from './config';
import { MAX_FILTER_LENGTH } from './run-filter';
import type {
  AppInfo,
  Artifact,
  CheckpointInfo,
  Dataset,
  FolderInspection,
  ImportProgress,
  MetricPage,
  MetricPoint,
  Project,
  RemoteSettings,
  Run,
  RunProgress,
  RunStatus,
} from './types';
import type { ApiErrorShape } from './errors';
import type { FolderListing } from './folder-browser';
import { exportFormats, type ModelExportResult } from './model-card';
import { sweepRequestShape, type Sweep, type SweepStatus, type SweepTrial } from './sweep';
import { MAX_HEALTH_PAGE, type DatasetHealthAnswer, type HealthSummary } from './health';
import { MAX_NEIGHBOURS, MAX_RUN_HEALTH_PAGE, type RunHealthAnswer, type RunHealthEvent, type RunHealthImage } from './run-health';
import { checkpointChoice, inferRequestSchemas, type ImputeFrame, type InferResults, type ModelSessionInfo } from './inference';

const id = z.number().int().positive();
const name = z.string().trim().min(1).max(LIMITS.nameLength);
/** Which trained model answers an Explore or Inpaint request. */
const modelRef = { runId: id, checkpoint: checkpointChoice };
/** A key of the filter language (a setting, column or metric); the core checks it against FILTER_KEYS. */
const historyKey = z.string().min(1).max(80);
const historyFilter = { filter: z.string().max(MAX_FILTER_LENGTH).default('') };
/** Artifacts per page of runs.artifacts. */
export const MAX_ARTIFACTS_PAGE = 1000;
/** Runs per page of runs.query. */
export const MAX_RUNS_PAGE = 500;
/** Trials per page of sweeps.get. */
export const MAX_SWEEP_TRIALS_PAGE = 500;
/**
 * Metric points in a page of runs.metrics when the request names no limit: a few
 * milliseconds of the core's time each (docs/PERFORMANCE.md, "Reloading a long run"),
 * so a 150 000-point history never holds up other requests or a frame for long.
 */
export const METRIC_PAGE_POINTS = 10_000;
export const METRIC_PAGE_MAX = 100_000;
const explore = <S extends z.ZodRawShape>(schema: z.ZodObject<S>) => z.object({ ...modelRef, ...schema.shape }).strict();

/**
 * Every request the core answers: name → input schema. Adapters validate with these
 * before a handler sees anything, so a handler can trust its input.
 */
export const requestSchemas = {
  'app.info': z.object({}).strict(),
  /** Where new runs train (Settings page): the saved Redis URL, if any. */
  'settings.get': z.object({}).strict(),
  /**
   * Save the Redis URL runs are sent to (null: train here again). Checked before it is
   * saved (redis:// or rediss://, a readable CA file); runs already sent stay where they are.
   */
  'settings.setRemote': z
    .object({ redisUrl: z.string().trim().min(1).max(2048).nullable(), redisCaFile: z.string().trim().min(1).max(4096).nullable() })
    .strict(),
  'projects.list': z.object({}).strict(),
  'projects.create': z.object({ name }).strict(),
  'datasets.list': z.object({ projectId: id.optional() }).strict(),
  'datasets.import': z
    .object({
      projectId: id,
      folder: z.string().min(1).max(4096),
      name: name.optional(),
      ...importSettingsShape,
      /** Echoed in progress events so a caller can match them. */
      jobId: z.string().min(1).max(64).optional(),
    })
    .strict(),
  /**
   * What importing a folder would read, without decoding: the layout (detected under
   * `auto`, or as asked), its classes and the image files per split folder.
   */
  'datasets.inspect': z
    .object({
      folder: z.string().min(1).max(4096),
      layout: importSettingsShape.layout,
      labels: importSettingsShape.labels,
      validationFraction: importSettingsShape.validationFraction,
      testFraction: importSettingsShape.testFraction,
    })
    .strict(),
  /** Re-import a dataset's folder: unchanged files are reused, added/removed ones picked up. */
  'datasets.refresh': z.object({ datasetId: id, jobId: z.string().min(1).max(64).optional() }).strict(),
  /**
   * A dataset that runs were trained on is refused unless `withRuns` asks to delete those
   * runs too (none of them may be training); `runsDeleted` says how many went with it.
   */
  'datasets.delete': z.object({ datasetId: id, withRuns: z.boolean().optional() }).strict(),
  'datasets.skippedCsv': z.object({ datasetId: id }).strict(),
  'datasets.cancelImport': z.object({ jobId: z.string().min(1).max(64) }).strict(),
  /** `perClass` also answers one strip of that many images per label (`classes`). */
  'datasets.preview': z
    .object({
      datasetId: id,
      count: z.number().int().min(1).max(256).default(32),
      perClass: z.number().int().min(1).max(32).optional(),
    })
    .strict(),
  /**
   * One page of a dataset's health findings (near-duplicate pairs, the pairs among them
   * that straddle splits, nearly blank images), ranked as stored or by image index; a
   * filter keeps items with an image in `split` or labelled `label`. `thumbnails` adds a
   * PNG data URL per image. Answers `computed: false` for a dataset imported before health
   * reports (datasets.computeHealth makes one).
   */
  'datasets.health': z
    .object({
      datasetId: id,
      kind: z.enum(['pairs', 'leakage', 'blank']).default('pairs'),
      sort: z.enum(['rank', 'index']).default('rank'),
      split: z.enum(['train', 'validation', 'test']).optional(),
      label: z.string().min(1).max(200).optional(),
      offset: z.number().int().min(0).max(10_000_000).default(0),
      limit: z.number().int().min(1).max(MAX_HEALTH_PAGE).default(50),
      thumbnails: z.boolean().default(false),
    })
    .strict(),
  /** The stored health findings as CSV: one row per image per finding (path, split, label, finding, score, reason). */
  'datasets.healthCsv': z.object({ datasetId: id }).strict(),
  /** Compute (or compute again) a dataset's health report from its packed images; answers its summary. */
  'datasets.computeHealth': z.object({ datasetId: id }).strict(),
  /**
   * A new version of a dataset without the images at `indices` (as datasets.health names
   * them); the dataset itself, its files and its runs are left as they are.
   */
  'datasets.exclude': z
    .object({ datasetId: id, indices: z.array(z.number().int().min(0)).min(1).max(100_000), name: name.optional() })
    .strict(),
  'runs.list': z.object({ projectId: id.optional() }).strict(),
  /**
   * The runs history, one page at a time: runs matching `filter` (the filter language of
   * @shared/run-filter, e.g. `beta<1 latent>=16 status:finished tag:faces`), sorted by
   * any setting, column or metric (`sort`), and how many match in all. A filter that does
   * not parse is refused with `details.token` naming the term at fault.
   */
  'runs.query': z
    .object({
      projectId: id.optional(),
      ...historyFilter,
      sort: historyKey.default('id'),
      descending: z.boolean().default(true),
      offset: z.number().int().min(0).max(10_000_000).default(0),
      limit: z.number().int().min(1).max(MAX_RUNS_PAGE).default(100),
    })
    .strict(),
  /** Matching runs grouped by settings (e.g. all but the seed): count, and mean ± sd of each final metric (default loss, val_loss, test_nll, test_bpd) per group. */
  'runs.groups': z
    .object({
      projectId: id.optional(),
      ...historyFilter,
      by: z.array(historyKey).min(1).max(4),
      metrics: z.array(historyKey).min(1).max(16).optional(),
      limit: z.number().int().min(1).max(1000).default(200),
    })
    .strict(),
  /** Numbers per matching run for `keys` (enums as choice index), at most `limit` runs spread over the set: parallel coordinates. */
  'runs.points': z
    .object({
      projectId: id.optional(),
      ...historyFilter,
      keys: z.array(historyKey).min(1).max(32),
      limit: z.number().int().min(2).max(5000).default(1000),
    })
    .strict(),
  /**
   * Which settings mattered for `metric` over the matching runs: per setting that varies,
   * Pearson and Spearman correlation and a random forest's permutation importance.
   */
  'runs.importance': z.object({ projectId: id.optional(), ...historyFilter, metric: historyKey.default('val_loss') }).strict(),
  /** The matching runs as CSV, sorted as the table: columns, every setting, the final metrics. */
  'runs.csv': z
    .object({ projectId: id.optional(), ...historyFilter, sort: historyKey.default('id'), descending: z.boolean().default(true) })
    .strict(),
  'runs.get': z.object({ runId: id }).strict(),
  'runs.create': z
    .object({
      projectId: id,
      datasetId: id,
      name: name.optional(),
      config: runRequestConfigSchema,
    })
    .strict(),
  'runs.cancel': z.object({ runId: id }).strict(),
  /**
   * Re-queue a run that ended without finishing (resumableStatuses): the same run
   * continues from its last checkpoint, so its curves continue without a seam.
   */
  'runs.resume': z.object({ runId: id }).strict(),
  /** Hold a running run after its current step (status 'paused'); runs.unpause continues it. */
  'runs.pause': z.object({ runId: id }).strict(),
  'runs.unpause': z.object({ runId: id }).strict(),
  /**
   * IWAE bound on the test split for a run's saved model (its best checkpoint unless
   * `checkpoint` says 'last'), with k = iwaeSamples (default: the run's), on all the test
   * images or the first `images` of the fixed order the automatic bound reads. Answers at
   * once; progress arrives as run.progress (phase 'evaluating'), the result as
   * run.evaluation and run.metrics events. runs.cancel stops it, keeping the figure
   * stored before.
   */
  'runs.evaluate': z
    .object({
      runId: id,
      iwaeSamples: z.number().int().min(LIMITS.iwaeSamples.min).max(LIMITS.iwaeSamples.max).optional(),
      images: z.union([z.literal('all'), z.number().int().min(1).max(10_000_000)]).default('all'),
      checkpoint: z.enum(['best', 'last']).default('best'),
    })
    .strict(),
  /**
   * Dataset health with a run: score every image of the run's dataset (train, validation
   * and test) with its best (or last) checkpoint — −ELBO, the IWAE bound with
   * `iwaeSamples` (0: not computed; default 8 for datasets of up to 5 000 images, else
   * 0), the input-complexity score, the latent means and the label check. Answers at
   * once; progress and the end arrive as run.health events; runs.cancelHealth stops it.
   */
  'runs.scoreHealth': z
    .object({
      runId: id,
      iwaeSamples: z.number().int().min(0).max(LIMITS.iwaeSamples.max).optional(),
      checkpoint: z.enum(['best', 'last']).default('best'),
    })
    .strict(),
  'runs.cancelHealth': z.object({ runId: id }).strict(),
  /**
   * One page of a run's health ranking: by atypicality (the outlier score: model and
   * compressor bits/dim jointly against the training images'), input complexity, plain
   * −ELBO, the IWAE bound, or the label check (lowest probability of the folder label
   * first); `order` best turns it round. Filters keep one split or one folder label;
   * `thumbnails` adds each image, its stored reconstruction and error map as data URLs.
   */
  'runs.health': z
    .object({
      runId: id,
      score: z.enum(['atypical', 'complexity', 'elbo', 'iwae', 'label']).default('atypical'),
      order: z.enum(['worst', 'best']).default('worst'),
      split: z.enum(['train', 'validation', 'test']).optional(),
      label: z.string().min(1).max(200).optional(),
      offset: z.number().int().min(0).max(10_000_000).default(0),
      limit: z.number().int().min(1).max(MAX_RUN_HEALTH_PAGE).default(50),
      thumbnails: z.boolean().default(false),
    })
    .strict(),
  /** The `k` images nearest to image `index` by latent mean (Euclidean), from the run's health scores. */
  'runs.healthNeighbours': z
    .object({ runId: id, index: z.number().int().min(0).max(100_000_000), k: z.number().int().min(1).max(MAX_NEIGHBOURS).default(8), thumbnails: z.boolean().default(false) })
    .strict(),
  /** A run's health ranking as CSV (path, split, label, score, reason), every image in ranking order. */
  'runs.healthCsv': z.object({ runId: id, score: z.enum(['atypical', 'complexity', 'elbo', 'iwae', 'label']).default('atypical') }).strict(),
  'runs.checkpoints': z.object({ runId: id }).strict(),
  'runs.delete': z.object({ runId: id }).strict(),
  /**
   * A run's stored metric points after `afterStep` (all: -1), a page of at most `limit`
   * at a time, column by column; ask again with `after` = the answer's `next` until it is
   * null (MetricPage).
   */
  'runs.metrics': z
    .object({
      runId: id,
      names: z.array(z.string().min(1).max(64)).max(64).optional(),
      afterStep: z.number().int().min(-1).optional(),
      after: z.object({ name: z.string().min(1).max(64), step: z.number().int().min(-1) }).strict().optional(),
      limit: z.number().int().min(1).max(METRIC_PAGE_MAX).default(METRIC_PAGE_POINTS),
    })
    .strict(),
  /** Rename a run, or change its notes and tags. */
  'runs.update': z
    .object({
      runId: id,
      name: name.optional(),
      notes: z.string().max(20_000).optional(),
      tags: z.array(z.string().trim().min(1).max(40)).max(20).optional(),
    })
    .strict(),
  /**
   * A run's image grids. `epoch` picks one epoch (the step slider), `latest` only the
   * newest of each kind; without either, all of them, a page at a time (`offset`,
   * `limit`). `inline: false` leaves the images out: each has a `url` the adapter serves
   * (web mode: GET /artifacts/<id>), so a long history does not travel as base64.
   */
  'runs.artifacts': z
    .object({
      runId: id,
      kind: z.string().min(1).max(64).optional(),
      epoch: z.number().int().min(0).optional(),
      latest: z.boolean().optional(),
      inline: z.boolean().default(true),
      offset: z.number().int().min(0).max(10_000_000).default(0),
      limit: z.number().int().min(1).max(MAX_ARTIFACTS_PAGE).default(MAX_ARTIFACTS_PAGE),
    })
    .strict(),
  /** Which epochs have images, per kind, without the images themselves. */
  /** The epochs with images, per kind; `afterEpoch` keeps only later ones (a live view's new tail). */
  'runs.artifactEpochs': z.object({ runId: id, afterEpoch: z.number().int().min(0).optional() }).strict(),
  /**
   * A sweep: runs of `config` over the grid and random settings (src-shared/sweep.ts
   * parses the tokens; an error names the field, e.g. `grid.1`), each repeated over
   * `seeds`, `concurrency` of them training at once, poor ones stopped early when asked.
   */
  'sweeps.create': z
    .object({
      projectId: id,
      datasetId: id,
      name: name.optional(),
      config: runConfigSchema.default(runConfigSchema.parse({})),
      ...sweepRequestShape,
    })
    .strict(),
  'sweeps.list': z.object({ projectId: id.optional() }).strict(),
  /**
   * A sweep with one page of its trials, oldest first (status, swept values, best
   * validation loss, why stopped early); its counts and best trial cover every trial.
   */
  'sweeps.get': z
    .object({
      sweepId: id,
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(MAX_SWEEP_TRIALS_PAGE).default(MAX_SWEEP_TRIALS_PAGE),
    })
    .strict(),
  /** Hold the whole sweep: running trials pause, queued ones leave the queue, nothing new starts. */
  'sweeps.pause': z.object({ sweepId: id }).strict(),
  /** Continue a paused sweep (or one interrupted by closing the app): its held trials go on from their checkpoints. */
  'sweeps.resume': z.object({ sweepId: id }).strict(),
  /** Stop the whole sweep: its queued and training trials are cancelled; finished ones stay. */
  'sweeps.cancel': z.object({ sweepId: id }).strict(),
  /**
   * Export a run's model (best or last checkpoint): `archive` writes one .vaestudio file
   * at `path` (a folder gets <run name>.vaestudio in it), `tfjs` / `onnx` a new or empty
   * folder. Both hold the model card, README, samples, metrics and what import needs.
   * An existing target is refused (`conflict`, `details.exists`, `details.path`) unless
   * `overwrite` (an archive, or a folder holding a previous export); a target inside the
   * workspace is always refused.
   */
  'models.export': z
    .object({
      runId: id,
      checkpoint: checkpointChoice,
      path: z.string().trim().min(1).max(4096),
      format: z.enum(exportFormats).default('archive'),
      overwrite: z.boolean().default(false),
    })
    .strict(),
  /** Import a .vaestudio archive or export folder into a project as a finished run with its held-out images. */
  'models.import': z.object({ projectId: id, path: z.string().trim().min(1).max(4096) }).strict(),
  /**
   * Explore a run's saved model. The first request opens a model session (a worker
   * process holding the checkpoint) that later ones reuse; it closes when idle.
   */
  'explore.info': z.object(modelRef).strict(),
  'explore.images': explore(inferRequestSchemas.images),
  'explore.traverse': explore(inferRequestSchemas.traverse),
  'explore.latentMap': explore(inferRequestSchemas.latentMap),
  'explore.interpolate': explore(inferRequestSchemas.interpolate),
  'explore.samples': explore(inferRequestSchemas.samples),
  'explore.codes': explore(inferRequestSchemas.codes),
  'explore.generateClass': explore(inferRequestSchemas.generateClass),
  'explore.swapClass': explore(inferRequestSchemas.swapClass),
  /** Close a run's model sessions now (they also close after a few idle minutes). */
  'explore.close': z.object({ runId: id }).strict(),
  /**
   * Inpainting: impute the masked pixels of one image with a run's model. Answers the
   * final frame; frames while it refines arrive as `inpaint.progress` with `jobId`.
   */
  'inpaint.run': z.object({ ...modelRef, jobId: z.string().min(1).max(64), ...inferRequestSchemas.impute.shape }).strict(),
  /** Stop an inpainting job at its next refinement (it then fails with code 'cancelled'). */
  'inpaint.cancel': z.object({ jobId: z.string().min(1).max(64) }).strict(),
  /**
   * An image file preprocessed like the run's dataset (size, channels, fit, background,
   * binarize), ready for inpaint.run: by `path`, or by its bytes (`data`, base64).
   */
  'inpaint.prepareImage': z
    .object({
      runId: id,
      path: z.string().min(1).max(4096).optional(),
      data: z.string().min(1).max(1_000_000).optional(),
      name: z.string().max(255).optional(),
    })
    .strict()
    .refine((v) => (v.path === undefined) !== (v.data === undefined), { message: 'give either path or data', path: ['path'] }),
  /** Imputation error of every method vs per-pixel means, on held-out images (`vae-studio impute`). */
  'inpaint.evaluate': explore(inferRequestSchemas.imputeEvaluate),
} as const;

export type RequestName = keyof typeof requestSchemas;

export type RunEvaluationEvent =
  | { runId: number; state: 'started'; iwaeSamples: number; images: number | 'all' }
  | { runId: number; state: 'finished'; summary: Record<string, number> }
  /** Stopped by runs.cancel: nothing was stored. */
  | { runId: number; state: 'cancelled' }
  | { runId: number; state: 'failed'; error: ApiErrorShape };
export type RequestInput<N extends RequestName> = z.input<(typeof requestSchemas)[N]>;
export type ParsedInput<N extends RequestName> = z.output<(typeof requestSchemas)[N]>;

export interface DatasetPreview {
  datasetId: number;
  width: number;
  height: number;
  channels: number;
  /** PNG data URL of a grid of the first images, one per cell. */
  gridDataUrl: string;
  labels: string[];
  /** Only when asked with `perClass`: per label (in `labels` order, empty ones left out) its first images. */
  classes?: { label: string; gridDataUrl: string; shown: number }[];
}

export interface RequestOutputs {
  'app.info': AppInfo;
  'settings.get': RemoteSettings;
  'settings.setRemote': RemoteSettings;
  'projects.list': Project[];
  'projects.create': Project;
  'datasets.list': Dataset[];
  'datasets.import': Dataset;
  'datasets.inspect': FolderInspection;
  'datasets.refresh': Dataset;
  'datasets.delete': { deleted: number; runsDeleted: number };
  'datasets.skippedCsv': { filename: string; csv: string };
  'datasets.cancelImport': { cancelled: boolean };
  'datasets.preview': DatasetPreview;
  'datasets.health': DatasetHealthAnswer;
  'datasets.computeHealth': { datasetId: number; summary: HealthSummary };
  'datasets.exclude': Dataset;
  'datasets.healthCsv': { filename: string; csv: string };
  'runs.list': Run[];
  'runs.query': { runs: Run[]; total: number; offset: number };
  'runs.groups': { groups: RunGroup[]; total: number; by: string[] };
  'runs.points': RunPoints;
  'runs.importance': { metric: string; runs: number; settings: SettingImportance[] };
  'runs.csv': { filename: string; csv: string; rows: number };
  'runs.get': Run;
  'runs.create': Run;
  'runs.cancel': Run;
  'runs.resume': Run;
  'runs.pause': Run;
  'runs.unpause': Run;
  'runs.evaluate': { runId: number; iwaeSamples: number; images: number | 'all'; checkpoint: CheckpointInfo };
  'runs.scoreHealth': { runId: number; iwaeSamples: number; checkpoint: CheckpointInfo };
  'runs.cancelHealth': { cancelled: boolean };
  'runs.health': RunHealthAnswer;
  'runs.healthNeighbours': { runId: number; index: number; neighbours: (RunHealthImage & { distance: number })[] };
  'runs.healthCsv': { filename: string; csv: string };
  'runs.checkpoints': CheckpointInfo[];
  'runs.delete': { deleted: number };
  'runs.metrics': MetricPage;
  'runs.update': Run;
  'runs.artifacts': Artifact[];
  'runs.artifactEpochs': Record<string, number[]>;
  'sweeps.create': Sweep;
  'sweeps.list': Sweep[];
  /** `totalTrials`: how many trial runs the sweep has so far; `trials` starts at `offset`. */
  'sweeps.get': { sweep: Sweep; trials: SweepTrial[]; offset: number; totalTrials: number };
  'sweeps.pause': Sweep;
  'sweeps.resume': Sweep;
  'sweeps.cancel': Sweep;
  'models.export': ModelExportResult;
  'models.import': Run;
  'explore.info': ExploreInfo;
  'explore.images': InferResults['images'];
  'explore.traverse': InferResults['traverse'];
  'explore.latentMap': InferResults['latentMap'];
  'explore.interpolate': InferResults['interpolate'];
  'explore.samples': InferResults['samples'];
  'explore.codes': InferResults['codes'];
  'explore.generateClass': InferResults['generateClass'];
  'explore.swapClass': InferResults['swapClass'];
  'explore.close': { closed: number };
  'inpaint.run': InferResults['impute'];
  'inpaint.cancel': { cancelled: boolean };
  'inpaint.prepareImage': PreparedImage;
  'inpaint.evaluate': InferResults['imputeEvaluate'];
}

export interface MetricStats {
  /** Runs in the group with this metric. */
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null below two runs. */
  sd: number | null;
}

export interface RunGroup {
  /** The group's value per `by` key, in order (null: runs without one). */
  values: (string | number | null)[];
  count: number;
  metrics: Record<string, MetricStats>;
  /** Its newest run. */
  newestRunId: number;
}

export interface RunPoints {
  keys: string[];
  ids: number[];
  /** Per run (as `ids`), per key: the number, an enum's choice index, or null. */
  values: (number | null)[][];
  /** Matching runs in all (ids holds at most the request's limit, spread evenly). */
  total: number;
}

export interface SettingImportance {
  key: string;
  pearson: number | null;
  spearman: number | null;
  /** Share (0‥1, summing to 1) of a random forest's permutation importance. */
  importance: number;
}

/** An opened image file as the run's model sees it. */
export interface PreparedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** base64 of the width·height·channels bytes, HWC (inpaint.run's `image.pixels`). */
  pixels: string;
  dataUrl: string;
}

/** A model session as Explore sees it: the model's shape, its checkpoint, the dataset's label names. */
export interface ExploreInfo extends ModelSessionInfo {
  runId: number;
  checkpoint: CheckpointInfo;
  labels: string[];
}

export type RequestOutput<N extends RequestName> = RequestOutputs[N];

/** Events pushed from the core to every subscriber (renderer, CLI). */
export interface EventPayloads {
  'run.status': { runId: number; status: RunStatus; run: Run };
  'run.metrics': { runId: number; points: MetricPoint[] };
  'run.progress': RunProgress;
  'run.artifact': { runId: number; artifact: Artifact };
  /** An on-demand evaluation (runs.evaluate) started, finished (summary: test_nll, test_bpd, iwae_k, test_images, …), was cancelled or failed. */
  'run.evaluation': RunEvaluationEvent;
  /** Dataset health scoring with a run (runs.scoreHealth): started, progress, finished, cancelled or failed. */
  'run.health': RunHealthEvent;
  'dataset.progress': ImportProgress;
  /** A sweep changed status (its trials' changes arrive as run.status with run.sweepId). */
  'sweep.status': { sweepId: number; status: SweepStatus };
  /** An inpainting job refined its picture. */
  'inpaint.progress': { jobId: string; runId: number; frame: ImputeFrame };
}

export type EventName = keyof EventPayloads;

export interface EventMessage<E extends EventName = EventName> {
  event: E;
  payload: EventPayloads[E];
}

export type AnyEventMessage = { [E in EventName]: EventMessage<E> }[EventName];

/** The full typed API as a caller sees it. */
export type StudioApi = {
  [N in RequestName]: (input: RequestInput<N>) => Promise<RequestOutput<N>>;
};

/**
 * What a transport moves: a request by name, answered by an envelope, and a stream of
 * events. The Electron preload and the web client both implement this.
 */
export interface StudioBridge {
  invoke(name: string, input: unknown): Promise<{ ok: true; value: unknown } | { ok: false; error: ApiErrorShape }>;
  onEvent(listener: (message: AnyEventMessage) => void): () => void;
  /** Artifacts are served by URL (`Artifact.url`: web mode's GET /artifacts/<id>, the desktop's vae-studio-artifact://); else they come inlined. */
  artifactUrls?: boolean;
  /** Desktop only: the native folder picker; resolves null when the user cancels. */
  pickFolder?(): Promise<string | null>;
  /** Web mode only: one level of the server's folders with image counts, for the in-page folder browser. */
  listFolders?(path: string | null): Promise<{ ok: true; value: FolderListing } | { ok: false; error: ApiErrorShape }>;
  /** Desktop only: a save dialog for a model archive (.vaestudio); null when cancelled. */
  pickSavePath?(defaultName: string): Promise<string | null>;
  /** Desktop only: an open dialog for a model archive (.vaestudio); null when cancelled. */
  pickModelFile?(): Promise<string | null>;
  /** Desktop only: show image `index` of a dataset in the system's file manager (its imported file, never a copy). */
  showImageInFolder?(datasetId: number, index: number): Promise<{ ok: true } | { ok: false; error: ApiErrorShape }>;
  /** Desktop only: the file-system path of a dropped file or folder. */
  pathForFile?(file: File): string;
  /**
   * Transports that can lose the core (web mode: the loopback server) say when they lose
   * it and when they have it back; events sent meanwhile are gone, so views catch up.
   */
  onConnection?(listener: (online: boolean) => void): () => void;
}

/**
 * Requests that only read: after a dropped connection a transport may send them again
 * once the core answers, where a repeated write (create, cancel…) could act twice.
 */
export const readOnlyRequests: ReadonlySet<RequestName> = new Set<RequestName>([
  'app.info',
  'settings.get',
  'projects.list',
  'datasets.list',
  'datasets.health',
  'runs.health',
  'runs.healthNeighbours',
  'runs.list',
  'runs.query',
  'runs.groups',
  'runs.points',
  'runs.importance',
  'runs.csv',
  'runs.get',
  'runs.metrics',
  'runs.artifacts',
  'runs.artifactEpochs',
  'runs.checkpoints',
  'sweeps.list',
  'sweeps.get',
]);

export function isRequestName(value: string): value is RequestName {
  return Object.prototype.hasOwnProperty.call(requestSchemas, value);
}

/** Event emission throttle for UI subscribers (DESIGN: ≤ 10 events/s per run). */
export const UI_EVENT_INTERVAL_MS = 100;
