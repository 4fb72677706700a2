import type { GpuAdapterInfo } from './backend-report';
import type { ImportSettings, RunConfig } from './config';
import type { ApiErrorShape } from './errors';
import type { ImportedModel } from './model-card';

export interface Project {
  id: number;
  name: string;
  createdAt: string;
  runCount: number;
  datasetCount: number;
}

export interface Dataset {
  id: number;
  projectId: number;
  name: string;
  sourcePath: string;
  width: number;
  height: number;
  channels: 1 | 3;
  count: number;
  labels: string[];
  /** Images per label, same order as `labels`. */
  labelCounts: number[];
  skipped: SkippedFile[];
  settings: ImportSettings;
  splitCounts: SplitCounts;
  stats: ImportStats;
  /** What may make training on it disappointing or its figures meaningless (src-shared/dataset-warnings.ts). */
  warnings: DatasetWarning[];
  /** The dataset this one refreshed, when it is a re-import. */
  previousId: number | null;
  contentHash: string;
  createdAt: string;
}

export interface SplitCounts {
  train: number;
  validation: number;
  test: number;
}

export type SplitName = keyof SplitCounts;

/** How an import read its folder (src-main/core/datasets/layout.ts). */
export interface LayoutInfo {
  /** What the folder was read as (`auto` resolved). */
  kind: 'classes' | 'split' | 'flat';
  /** True when `auto` chose `kind`; false when the import asked for it. */
  detected: boolean;
  /** The split folders found, as named on disk, per split (empty unless kind is `split`). */
  splitFolders: Record<SplitName, string[]>;
  /** Splits with no folder of their own, drawn from the training images at the import's fractions. */
  drawn: SplitName[];
  labelSource: 'folders' | 'sidecar' | 'none';
  /** The labels.csv / labels.json the labels came from. */
  sidecar?: string;
  /** Images the sidecar does not name: imported unlabelled. */
  unlabelled: number;
  /** Images left out because they lie outside the split folders. */
  outside: number;
  /** `auto` saw split folders beside other folders and read them all as classes: these. */
  mixed?: string[];
}

export interface DatasetWarning {
  code: 'tiny' | 'no-train' | 'no-validation' | 'no-test' | 'small-classes' | 'imbalance' | 'upscaled' | 'unlabelled' | 'mixed-layout';
  message: string;
}

/** A folder looked at before importing it (datasets.inspect): what the import would read, without decoding. */
export interface FolderInspection {
  folder: string;
  layout: LayoutInfo;
  /** Image files found. */
  images: number;
  /** Image files per split folder; `drawn`: those whose split the import draws at random. */
  splitFiles: Record<SplitName | 'drawn', number>;
  /** Every label with its image files, sorted by name. */
  classes: { label: string; files: number }[];
  /** Files that are not images, unreadable entries and the like. */
  skipped: number;
  /**
   * The first of them (INSPECT_SKIPPED_LISTED at most; paths relative to the folder) with
   * why, so the form says what will be left out before the import, not after it.
   */
  skippedFiles: SkippedFile[];
}

/** How many skipped files datasets.inspect names; the rest are counted. */
export const INSPECT_SKIPPED_LISTED = 20;

export interface ImportStats {
  /** Image files found. */
  scanned: number;
  /** Decoded in this import. */
  decoded: number;
  /** Taken unchanged from the previous version of the dataset. */
  reused: number;
  duplicates: number;
  skipped: number;
  seconds: number;
  /** Versus the previous version: files that appeared or disappeared. */
  added?: number;
  removed?: number;
  /** How the folder was read (absent on datasets imported before layouts). */
  layout?: LayoutInfo;
  /** Kept images whose original size is known, and those of them smaller than the chosen size (upscaled). */
  measured?: number;
  upscaled?: number;
  /**
   * Whether every stored pixel value is 0 or 255 (`binary`) or not (`8-bit`): the default
   * decoder follows it (src-shared/likelihood.ts). Absent on datasets imported before the check.
   */
  pixelLevels?: 'binary' | '8-bit';
  /** Images left out by hand (datasets.exclude) from the version this one was made from. */
  excluded?: number;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export const runStatuses = [
  'queued',
  'running',
  /** Held between two steps by runs.pause; the worker process and its queue slot stay. */
  'paused',
  'finished',
  'cancelled',
  'failed',
  'crashed',
  'killed',
  'oom',
  'interrupted',
] as const;
export type RunStatus = (typeof runStatuses)[number];

export const activeStatuses: readonly RunStatus[] = ['queued', 'running', 'paused'];

/**
 * Ended without finishing: runs.resume re-queues these, continuing from their last
 * checkpoint (or from the start when none was written yet).
 */
export const resumableStatuses: readonly RunStatus[] = ['interrupted', 'killed', 'crashed', 'oom', 'cancelled', 'failed'];

/** A saved model state of a run: `last` after every epoch, `best` by validation loss. */
export interface CheckpointInfo {
  runId: number;
  kind: 'last' | 'best';
  epoch: number;
  step: number;
  bytes: number;
  createdAt: string;
}

export interface Run {
  id: number;
  projectId: number;
  datasetId: number;
  datasetName: string;
  name: string;
  /** The run's settings; the schema's defaults where they cannot be read (see configError). */
  config: RunConfig;
  /**
   * Set when the stored settings cannot be read (not JSON, or not a valid config): why.
   * The run is still listed, with its metrics and images, but `config` is only the
   * defaults then: nothing trains, resumes, evaluates or exports from it.
   */
  configError?: string;
  status: RunStatus;
  backend: string | null;
  /** Why faster backends were not used, in the order they were tried. */
  backendNotes: string[];
  /** The GPU the run trains on (backend webgpu). */
  backendAdapter?: GpuAdapterInfo;
  error: ApiErrorShape | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  epochsDone: number;
  lastStep: number;
  /** Final or latest figures: loss, val_elbo, ... */
  summary: Record<string, number>;
  notes: string;
  tags: string[];
  /** Set on a run brought in by models.import: its model card and where it came from. */
  imported?: ImportedModel;
  /** While an on-demand evaluation (runs.evaluate) of this run is under way: what it computes. */
  evaluating?: { iwaeSamples: number; images: number | 'all' };
  /** The sweep this run is a trial of (sweeps.get). */
  sweepId?: number;
  /** Sent to a Redis queue that no `vae-studio worker` is connected to (gone once one takes it): see waitingText. */
  waiting?: RunWait;
}

/** A remote run nobody can train yet: the queue's Redis (scheme, host and port only) and since when no worker has been connected. */
export interface RunWait {
  redis: string;
  since: string;
}

/** "waiting for a worker on redis://host:6379 (none connected for 42s)": one wording for the app and the CLI. */
export function waitingText(wait: RunWait, nowMs: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(wait.since)) / 1000));
  const span = seconds < 120 ? `${seconds}s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;
  return `waiting for a worker on ${wait.redis} (none connected for ${span})`;
}

export interface MetricPoint {
  step: number;
  epoch: number;
  name: string;
  value: number;
  /** Milliseconds since the run started. */
  t: number;
}

/** One metric's stored points, column by column, in step order (a page of runs.metrics). */
export interface MetricColumns {
  name: string;
  step: number[];
  epoch: number[];
  value: number[];
  /** Milliseconds since the run started. */
  t: number[];
}

/** Where a page of runs.metrics starts: after this metric's point at this step (names in code-point order). */
export interface MetricCursor {
  name: string;
  step: number;
}

/**
 * A page of a run's stored metric points (runs.metrics): whole metrics and a part of
 * one, in name order. `next`: where the following page starts (send it as `after`);
 * null when this page holds the last point.
 */
export interface MetricPage {
  series: MetricColumns[];
  next: MetricCursor | null;
}

export interface Artifact {
  id: number;
  runId: number;
  kind: string;
  epoch: number;
  /** PNG as a data URL, ready for an <img> (left out when asked with `inline: false`). */
  dataUrl?: string;
  /** Where an adapter that serves artifacts has it, relative to the app (web mode: `artifacts/<id>`). */
  url: string;
}

export interface ImportProgress {
  jobId: string;
  phase: 'scanning' | 'decoding' | 'writing' | 'done';
  done: number;
  total: number;
  ratePerSec: number;
  etaSeconds: number | null;
}

export interface RunProgress {
  runId: number;
  /** `evaluating`: the IWAE bound on the test split (end of training, or runs.evaluate). */
  phase: 'training' | 'evaluating';
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  imagesPerSec: number;
  etaSeconds: number | null;
  /**
   * While evaluating: test images scored so far of those this bound reads, and its k
   * (done 0 while a first batch prices a budgeted bound).
   */
  evaluated?: { done: number; total: number; k: number };
  /** Resident memory of the worker process (bytes), added by the supervisor from its heartbeats. */
  memoryBytes?: number;
}

/**
 * Where runs train: here (no Redis URL) or on \`vae-studio worker\`s through a Redis queue.
 * `source`: 'flag' when the command line's --redis overrides the saved URL for this session.
 */
export interface RemoteSettings {
  /** With its password masked as `***`: sent back unchanged, that keeps the saved password. */
  redisUrl: string | null;
  /** PEM file of the CA for a rediss:// server with a private certificate. */
  redisCaFile: string | null;
  source: 'none' | 'saved' | 'flag';
  /** settings.setRemote: saved, but the Redis did not answer (runs wait for it). */
  notice?: string;
}

export interface AppInfo {
  version: string;
  mode: 'electron' | 'web' | 'cli';
  home: string;
  sampleDatasetPath: string;
}
