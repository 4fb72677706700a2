import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { datasetLayouts, LIMITS, type DatasetLayout } from '@shared/config';
import { describeLayout } from '@shared/dataset-warnings';
import { ApiError } from '@shared/errors';
import { latentWidthOf } from '@shared/families';
import { suggestDecoder } from '@shared/likelihood';
import { proposeArchitecture, proposeEncoderInput } from '@shared/training-proposal';
import type { ImputeMethod } from '@shared/inference';
import type { MaskKind } from '@shared/pixel-mask';
import type { RunEvaluationEvent } from '@shared/api';
import { waitingText, type Dataset, type Project, type Run } from '@shared/types';
import { cmdHealth } from './health';
import { cmdSweep } from './sweep';
import { cmdRunHealth } from './run-health';
import { runConfigFromFlags, runFlagOptions, trainUsage } from './run-flags';
import { createCore, type Core } from '../core/core';
import { toApiError } from '../core/errors';
import { forkWorker } from '../core/jobs/spawn';
import { probeRedis, redisOptions, type RedisSettings } from '../core/jobs/remote/redis-config';
import { startWorkerHost } from '../core/jobs/remote/worker-host';
import { probeBackendsInWorker } from './doctor';
import { formatDoctorReport } from './doctor-format';
import { defaultHome } from '../core/workspace/home';
import { acquireWorkspaceLock } from '../core/workspace/lock';
import { restoreDatabase } from '../core/store/backup';
import { appPaths, appVersion } from '../paths';
import { startWebServer } from '../web/server';

const USAGE = `vae-studio — train variational autoencoders on your own images

Usage:
  vae-studio import <folder> [--name N] [--size 28] [--channels 1|3] [--fit resize|crop|pad]
                   [--labels folders|none] [--layout auto|classes|split|flat] [--background #000000] [--binarize] [--project P]
                                    layout: auto reads top-level train/test/val folders as the split (labels from
                                    the level below), other folders as classes; labels.csv / labels.json name labels
  vae-studio train --dataset <id|name> [--name N] [--project P] [--architecture mlp|conv] [--latent 16]
                   [--epochs 10] [--batch 64] [--lr 0.001] [--family vae|cvae|m2|vqvae] [--backend B] …
                                    every run setting has a flag: vae-studio train --help lists them all
  vae-studio resume <run>           continue an interrupted, killed or stopped run from its last checkpoint
  vae-studio runs [--project P] [--filter "beta<1 latent>=16 status:finished tag:faces"] [--sort KEY[:asc]]
                 [--limit 50] [--offset 0] [--group beta,latent] [--csv FILE]
                                    the runs history: filtered (keys: every run setting, status, name, dataset,
                                    tag, id, metrics such as val_loss), sorted, paged; --group gives count and
                                    mean ± sd of the final metrics per group; --csv writes the matching table
  vae-studio export <run> <path> [--format archive|tfjs|onnx] [--checkpoint best|last] [--overwrite]
                                    the run's model for other tools: one .vaestudio archive (default) or a folder;
                                    an existing file (or previous export folder) is replaced only with --overwrite
  vae-studio evaluate <run> [--k 100] [--images N|all] [--checkpoint best|last]
                                    the run's test NLL (IWAE bound) on all its test images (or the first N of
                                    the order the automatic bound reads) with k samples (default: the run's);
                                    Ctrl+C stops it and keeps the figure it had
  vae-studio import-model <path> [--project P]
                                    bring back an exported archive or folder as a run (Explore, Inpaint)
  vae-studio impute --run <id> --mask random50|top|bottom [--method pseudo-gibbs,metropolis,importance,optimize]
                   [--images 200] [--iterations 40] [--proposals 64] [--checkpoint best|last] [--seed 1]
                                    imputation error on the missing pixels of held-out images, per method,
                                    beside the per-pixel-mean floor
  vae-studio health --dataset <id|name> [--top 10] [--kind leakage|pairs|blank] [--project P]
                                    the dataset's health: near-duplicate pairs (leakage: across splits), nearly
                                    blank images, class balance, the originals' sizes; the top N of each finding
  vae-studio sweep --dataset <id|name> --grid beta=0.5,1,2 --grid latent=8,16,32 --random lr=log:1e-4..3e-3
                   [--trials 20] [--seeds 3] [--early-stop median|halving] [--concurrency 2] [--sweep-seed 1] [run settings]
                                    many runs over value lists (--grid) and ranges or choices (--random: beta=0.1..4,
                                    latent=int:8..64, architecture=mlp,conv) of any run setting; other flags set what the
                                    trials share. Progress per trial; Ctrl+C pauses the sweep
  vae-studio sweep status [<id>] | pause <id> | resume <id> | cancel <id>
  vae-studio health --dataset <id|name> --run <id> [--top 10] [--score atypical|complexity|elbo|iwae|label] [--k 8] [--rescore]
                                    score every image with the run's model (first time, or --rescore): the top N
                                    outliers by atypicality, input complexity and −ELBO/IWAE (bits/dim), and the images
                                    whose folder label the label check doubts; Ctrl+C stops the scoring
  vae-studio serve [--port 0]
  vae-studio worker --redis redis://[user:password@]host:6379 [--redis-ca FILE] [--concurrency 1] [--threads N] [--lock-ms 30000]
                                    train runs other machines send through Redis (BullMQ), headless; opens no port.
                                    A URL with a password is better given as $VAE_STUDIO_REDIS_URL (not in the process list).
                                    Its --home keeps fetched datasets; Ctrl+C leaves its runs to another worker
  vae-studio doctor                 try every compute backend (GPU first) and say why each is or is not used
  vae-studio restore-db [--from FILE]
                                    put back the newest good backup of the workspace database (or FILE) after it
                                    was found damaged; the damaged file is kept beside it

Every command takes --home <dir> (default $VAE_STUDIO_HOME or the OS app-data folder)
and --json (one JSON object per line: progress events, then a final result).
train, resume and serve take --redis URL [--redis-ca FILE]: runs go to the queue there, for
\`vae-studio worker\`s to train (rediss:// for TLS; $VAE_STUDIO_REDIS_URL, then the workspace's saved URL, when not given).`;

const options = {
  home: { type: 'string' },
  json: { type: 'boolean', default: false },
  project: { type: 'string' },
  name: { type: 'string' },
  size: { type: 'string' },
  channels: { type: 'string' },
  fit: { type: 'string' },
  labels: { type: 'string' },
  layout: { type: 'string' },
  background: { type: 'string' },
  binarize: { type: 'boolean', default: false },
  dataset: { type: 'string' },
  seed: { type: 'string' },
  port: { type: 'string' },
  format: { type: 'string' },
  checkpoint: { type: 'string' },
  overwrite: { type: 'boolean', default: false },
  run: { type: 'string' },
  mask: { type: 'string' },
  method: { type: 'string' },
  images: { type: 'string' },
  k: { type: 'string' },
  iterations: { type: 'string' },
  proposals: { type: 'string' },
  from: { type: 'string' },
  top: { type: 'string' },
  kind: { type: 'string' },
  redis: { type: 'string' },
  'redis-ca': { type: 'string' },
  concurrency: { type: 'string' },
  'lock-ms': { type: 'string' },
  grid: { type: 'string', multiple: true },
  random: { type: 'string', multiple: true },
  trials: { type: 'string' },
  seeds: { type: 'string' },
  'early-stop': { type: 'string' },
  'sweep-seed': { type: 'string' },
  filter: { type: 'string' },
  sort: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  group: { type: 'string' },
  csv: { type: 'string' },
  score: { type: 'string' },
  rescore: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsConfig['options'];

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'] &
  Partial<Record<string, string | boolean>>;

class Output {
  constructor(private readonly json: boolean) {}
  event(object: Record<string, unknown>, human?: string): void {
    if (this.json) process.stdout.write(`${JSON.stringify(object)}\n`);
    else if (human) process.stdout.write(`${human}\n`);
  }
}

/** Numeric flags: a typo must be an error naming the flag, not a silent NaN. */
function num(values: Values, flag: keyof Values): number | undefined {
  const raw = values[flag];
  if (raw === undefined || typeof raw !== 'string') return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw new ApiError('invalid_input', `--${String(flag)} must be a number, got "${raw}"`, { field: String(flag) });
  }
  return value;
}

function labelsFlag(raw: string | undefined): boolean {
  if (raw === undefined || raw === 'folders') return true;
  if (raw === 'none') return false;
  throw new ApiError('invalid_input', `--labels must be "folders" or "none", got "${raw}"`, { field: 'labels' });
}

function layoutFlag(raw: string | undefined): DatasetLayout | undefined {
  if (raw === undefined) return undefined;
  if ((datasetLayouts as readonly string[]).includes(raw)) return raw as DatasetLayout;
  throw new ApiError('invalid_input', `--layout must be one of ${datasetLayouts.join(', ')}, got "${raw}"`, { field: 'layout' });
}

async function projectFor(core: Core, name: string | undefined): Promise<Project> {
  const projects = await core.call('projects.list', {});
  const wanted = name ?? 'Default';
  return projects.find((p) => p.name === wanted) ?? (await core.call('projects.create', { name: wanted }));
}

function fmt(n: number | undefined, digits = 2): string {
  return n === undefined ? '—' : n.toFixed(digits);
}

async function cmdImport(core: Core, values: Values, positionals: string[], out: Output): Promise<void> {
  const folder = positionals[0];
  if (!folder) throw new ApiError('invalid_input', 'import needs a folder: vae-studio import <folder>', { field: 'folder' });
  const project = await projectFor(core, values.project);
  const unsubscribe = core.subscribe((m) => {
    if (m.event === 'dataset.progress') {
      const p = m.payload;
      out.event({ type: 'progress', ...p }, p.phase === 'decoding' ? `  ${p.done}/${p.total} images (${p.ratePerSec.toFixed(0)}/s)` : undefined);
    }
  });
  try {
    const dataset = await core.call('datasets.import', {
      projectId: project.id,
      folder,
      name: values.name,
      size: num(values, 'size'),
      channels: num(values, 'channels'),
      fit: values.fit,
      background: values.background,
      binarize: values.binarize,
      labels: labelsFlag(values.labels),
      layout: layoutFlag(values.layout),
    });
    const layout = dataset.stats.layout;
    out.event(
      { type: 'result', command: 'import', projectId: project.id, dataset },
      `Imported ${dataset.count} images as dataset #${dataset.id} "${dataset.name}" (${dataset.width}×${dataset.height}×${dataset.channels}, ` +
        `${dataset.labels.length} labels; train/validation/test ${dataset.splitCounts.train}/${dataset.splitCounts.validation}/${dataset.splitCounts.test}) ` +
        `in ${dataset.stats.seconds.toFixed(1)} s, ${dataset.skipped.length} files skipped.` +
        dataset.skipped.map((s) => `\n  skipped ${s.path}: ${s.reason}`).join('') +
        (layout ? `\n${describeLayout(layout, dataset.settings)}` : '') +
        dataset.warnings.map((w) => `\nwarning: ${w.message}`).join(''),
    );
  } finally {
    unsubscribe();
  }
}

async function datasetFor(core: Core, values: Values, command: string): Promise<{ project: Project; dataset: Dataset }> {
  if (!values.dataset) throw new ApiError('invalid_input', `${command} needs --dataset <id|name>`, { field: 'dataset' });
  const project = await projectFor(core, values.project);
  const datasets = await core.call('datasets.list', { projectId: project.id });
  const dataset = datasets.find((d) => String(d.id) === values.dataset || d.name === values.dataset);
  if (!dataset) {
    throw new ApiError('not_found', `No dataset "${values.dataset}" in project "${project.name}". Import one first.`, { field: 'dataset' });
  }
  return { project, dataset };
}

/** The run settings the flags ask for; no --decoder: the one the dataset's pixels call for, as the form picks it (src-shared/likelihood.ts). */
function configFor(values: Values, dataset: Dataset): { config: ReturnType<typeof runConfigFromFlags>; suggested: ReturnType<typeof suggestDecoder> | null } {
  // One flag per run setting (run-flags.ts); the core checks the values against the schema.
  const config = runConfigFromFlags(values);
  const suggested = config.decoder === undefined ? suggestDecoder(dataset) : null;
  if (suggested) config.decoder = suggested.decoder;
  return { config, suggested };
}

async function cmdTrain(core: Core, values: Values, out: Output): Promise<void> {
  const { project, dataset } = await datasetFor(core, values, 'train');
  const { config, suggested } = configFor(values, dataset);
  // The model proposed for this image size, as the form fills it in, when no --architecture is given.
  const model = config.architecture === undefined ? proposeArchitecture(dataset) : null;
  if (model) config.architecture = model.architecture;
  // The encoder input proposed for this model and image size (src-shared/training-proposal.ts), as the form fills it in, when
  // the flag is not given; not centred is the absent field's meaning. Only here, not for sweeps: a sweep's grid may change
  // the model the proposal was made for.
  const input = proposeEncoderInput(dataset, config);
  const centred = config.encoderInput === undefined && input.encoderInput === 'centred';
  if (centred) config.encoderInput = input.encoderInput;

  const run = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, name: values.name, config });
  out.event(
    { type: 'started', runId: run.id, architecture: run.config.architecture, convArch: run.config.convArch, decoder: run.config.decoder, convNorm: run.config.convNorm, learningRate: run.config.learningRate, encoderInput: run.config.encoderInput },
    `Training run #${run.id} "${run.name}" on "${dataset.name}"…` +
      (model ? `\nModel ${run.config.architecture} (${run.config.convArch ?? 'classic'} preset): ${model.reason}` : '') +
      (suggested ? `\nDecoder ${run.config.decoder}: ${suggested.reason}` : '') +
      (centred ? `\n${input.reason}` : ''),
  );
  await followRun(core, run.id, 'train', out);
}

/** Resumes an interrupted, killed, crashed or stopped run from its last checkpoint. */
async function cmdResume(core: Core, values: Values, positionals: string[], out: Output): Promise<void> {
  const raw = positionals[0];
  const runId = Number(raw);
  if (!raw || !Number.isInteger(runId) || runId <= 0) {
    throw new ApiError('invalid_input', 'resume needs a run id: vae-studio resume <run>', { field: 'run' });
  }
  const run = await core.call('runs.resume', { runId });
  out.event({ type: 'started', runId }, `Resuming run #${runId} "${run.name}" from epoch ${run.epochsDone}…`);
  await followRun(core, runId, 'resume', out);
}

/** Prints a run's progress until its worker has gone, then its result; Ctrl+C stops it politely. */
async function followRun(core: Core, runId: number, command: string, out: Output): Promise<void> {
  let lastStatus = '';
  let lastWait = '';
  const unsubscribe = core.subscribe((m) => {
    if (m.event === 'run.progress' && m.payload.runId === runId) {
      out.event({ type: 'progress', ...m.payload }, undefined);
    } else if (m.event === 'run.status' && m.payload.runId === runId && (m.payload.run.waiting?.since ?? '') !== lastWait && m.payload.status === lastStatus) {
      // Said once when the queue has no worker, and once more when one takes the run.
      const wait = m.payload.run.waiting;
      lastWait = wait?.since ?? '';
      if (wait) out.event({ type: 'status', runId, status: m.payload.status, waiting: wait }, `  ${waitingText(wait)}`);
      else out.event({ type: 'status', runId, status: m.payload.status, waiting: null }, '  a worker took it');
    } else if (m.event === 'run.status' && m.payload.runId === runId && m.payload.status !== lastStatus) {
      lastStatus = m.payload.status;
      lastWait = m.payload.run.waiting?.since ?? '';
      out.event({ type: 'status', runId, status: m.payload.status, backend: m.payload.run.backend }, `  status: ${m.payload.status}${m.payload.run.backend ? ` (backend ${m.payload.run.backend})` : ''}`);
    } else if (m.event === 'run.metrics' && m.payload.runId === runId) {
      const epochEnd = m.payload.points.filter((p) => p.name === 'val_loss');
      for (const p of epochEnd) out.event({ type: 'epoch', runId, epoch: p.epoch, step: p.step, val_loss: p.value }, `  epoch ${p.epoch}: validation loss ${p.value.toFixed(2)} nats`);
    }
  });
  const stop = (): void => void core.call('runs.cancel', { runId });
  process.once('SIGINT', stop);
  try {
    await core.runs.settled(runId);
    const final: Run = await core.call('runs.get', { runId });
    out.event(
      { type: 'result', command, run: final },
      `Run #${final.id} ${final.status}: loss ${fmt(final.summary.loss)}, validation loss ${fmt(final.summary.val_loss)} nats` +
        (final.summary.test_nll !== undefined
          ? `, test NLL ${fmt(final.summary.test_nll)} nats (${fmt(final.summary.test_bpd, 3)} bits/dim, IWAE k=${final.summary.iwae_k}` +
            (final.summary.test_images === undefined ? ')' : ` on ${final.summary.test_images} of ${final.summary.test_images_total ?? final.summary.test_images} test images)`) +
            (final.summary.test_nll_partial === 1 ? ', stopped before the end' : '')
          : '') +
        (final.error ? `\n  ${final.error.message}` : ''),
    );
    if (final.status !== 'finished') process.exitCode = 1;
  } finally {
    process.off('SIGINT', stop);
    unsubscribe();
  }
}

/** A run's status, or what it waits for when it is on a queue no worker is connected to. */
const runState = (run: Pick<Run, 'status' | 'waiting'>): string => (run.waiting ? waitingText(run.waiting) : run.status);

async function cmdRuns(core: Core, values: Values, out: Output): Promise<void> {
  const projects = await core.call('projects.list', {});
  const project = values.project ? projects.find((p) => p.name === values.project) : undefined;
  if (values.project && !project) throw new ApiError('not_found', `No project "${values.project}"`, { field: 'project' });
  const history = values.filter !== undefined || values.sort !== undefined || values.limit !== undefined || values.offset !== undefined;
  if (values.group !== undefined || values.csv !== undefined || history) {
    await cmdRunsHistory(core, values, out, project?.id);
    return;
  }
  const runs = await core.call('runs.list', { projectId: project?.id });
  const lines = runs.map(
    (r) => `#${r.id}\t${r.name}\t${r.datasetName}\t${r.config.architecture}/z${latentWidthOf(r.config)}\t${runState(r)}\tloss ${fmt(r.summary.loss)}\tval ${fmt(r.summary.val_loss)}\t${r.backend ?? '—'}`,
  );
  out.event({ type: 'result', command: 'runs', runs }, runs.length ? lines.join('\n') : 'No runs yet.');
}

/** `runs` with --filter, --sort, --group or --csv: the history queries (runs.query, runs.groups, runs.csv). */
async function cmdRunsHistory(core: Core, values: Values, out: Output, projectId: number | undefined): Promise<void> {
  const filter = typeof values.filter === 'string' ? values.filter : '';
  const [sortKey, direction] = (typeof values.sort === 'string' ? values.sort : 'id').split(':');
  if (direction !== undefined && direction !== 'asc' && direction !== 'desc') {
    throw new ApiError('invalid_input', `--sort takes KEY, KEY:asc or KEY:desc, got "${String(values.sort)}"`, { field: 'sort' });
  }
  const sort = { sort: sortKey!, descending: direction !== 'asc' };
  if (typeof values.csv === 'string') {
    const { csv, rows } = await core.call('runs.csv', { projectId, filter, ...sort });
    writeFileSync(values.csv, csv);
    out.event({ type: 'result', command: 'runs', csv: values.csv, rows }, `Wrote ${rows} run${rows === 1 ? '' : 's'} to ${values.csv}`);
    return;
  }
  if (typeof values.group === 'string') {
    const by = values.group.split(',').map((key) => key.trim()).filter(Boolean);
    const answer = await core.call('runs.groups', { projectId, filter, by });
    const lines = answer.groups.map((group) => {
      const metrics = Object.entries(group.metrics)
        .map(([name, m]) => `${name} ${fmt(m.mean ?? undefined)}${m.sd !== null ? ` ± ${fmt(m.sd)}` : ''}`)
        .join('\t');
      return `${by.map((key, i) => `${key}=${group.values[i] ?? '—'}`).join(' ')}\t${group.count} run${group.count === 1 ? '' : 's'}\t${metrics}`;
    });
    out.event({ type: 'result', command: 'runs', ...answer }, lines.length ? lines.join('\n') : 'No run matches.');
    return;
  }
  const page = await core.call('runs.query', { projectId, filter, ...sort, limit: num(values, 'limit') ?? 50, offset: num(values, 'offset') ?? 0 });
  const lines = page.runs.map(
    (r) => `#${r.id}\t${r.name}\t${r.datasetName}\t${r.config.architecture}/z${latentWidthOf(r.config)}\tβ ${r.config.beta}\t${runState(r)}\tloss ${fmt(r.summary.loss)}\tval ${fmt(r.summary.val_loss)}`,
  );
  const shown = page.runs.length ? `${page.offset + 1}–${page.offset + page.runs.length} of ${page.total}` : `none of ${page.total}`;
  out.event({ type: 'result', command: 'runs', ...page }, [...lines, `(${shown} matching runs)`].join('\n'));
}

function runIdArg(raw: string | undefined, usage: string): number {
  const runId = Number(raw);
  if (!raw || !Number.isInteger(runId) || runId <= 0) throw new ApiError('invalid_input', `${usage} needs a run id`, { field: 'run' });
  return runId;
}

/** Writes a run's model as an archive or a tfjs / onnx folder (models.export). */
async function cmdExport(core: Core, values: Values, positionals: string[], out: Output): Promise<void> {
  const runId = runIdArg(positionals[0], 'export <run> <path>');
  const path = positionals[1];
  if (!path) throw new ApiError('invalid_input', 'export needs a destination: vae-studio export <run> <path>', { field: 'path' });
  const result = await core.call('models.export', { runId, path, format: values.format, checkpoint: values.checkpoint, overwrite: values.overwrite });
  const { card } = result;
  out.event(
    { type: 'result', command: 'export', ...result },
    `Exported run #${runId} (${result.checkpoint.kind} checkpoint, epoch ${result.checkpoint.epoch}) as ${result.format} to ${result.path}: ` +
      `${(result.bytes / 1e6).toFixed(2)} MB, ${result.files.length} files` +
      (card.metrics.testNll !== null ? `; test NLL ${fmt(card.metrics.testNll)} nats` : ''),
  );
}

/** Scores every imputation method on a run's held-out images (inpaint.evaluate). */
async function cmdImpute(core: Core, values: Values, out: Output): Promise<void> {
  const runId = runIdArg(values.run, 'impute --run <id> --mask random50|top|bottom');
  if (!values.mask) throw new ApiError('invalid_input', 'impute needs --mask random50, top or bottom', { field: 'mask' });
  const methods = values.method?.split(',').map((m) => m.trim()).filter((m) => m !== '');
  // The core validates these (zod) and names the flag in its error.
  const result = await core.call('inpaint.evaluate', {
    runId,
    checkpoint: values.checkpoint as 'best' | 'last' | undefined,
    mask: values.mask as MaskKind,
    methods: methods as ImputeMethod[] | undefined,
    images: num(values, 'images'),
    iterations: num(values, 'iterations'),
    proposals: num(values, 'proposals'),
    seed: num(values, 'seed'),
  });
  const floor = result.scores.find((s) => s.method === 'pixel-mean');
  const lines = result.scores.map(
    (s) =>
      `  ${s.method.padEnd(14)} MSE ${s.mse.toFixed(4)}` +
      (floor && s !== floor ? ` (${((s.mse / floor.mse) * 100).toFixed(0)} % of the floor)` : '  (floor)') +
      (s.accuracy !== null ? `  accuracy ${(s.accuracy * 100).toFixed(1)} %` : '') +
      (s.labelAccuracy !== null ? `  class right ${(s.labelAccuracy * 100).toFixed(1)} %` : '') +
      `  ${s.seconds.toFixed(1)} s`,
  );
  const labels = { none: '', given: ', each given its true class', inferred: ', classes inferred (not given)' }[result.labels];
  out.event(
    { type: 'result', command: 'impute', runId, ...result },
    `Run #${runId}, mask ${result.mask} (${(result.missingFraction * 100).toFixed(0)} % missing), ${result.images} ${result.split} images${labels}, ` +
      `${result.iterations} iterations:\n${lines.join('\n')}`,
  );
}

function imagesFlag(raw: string | undefined): number | 'all' | undefined {
  if (raw === undefined || raw === 'all') return raw;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < 1) {
    throw new ApiError('invalid_input', `--images must be a whole number of test images or "all", got "${raw}"`, { field: 'images' });
  }
  return value;
}

/**
 * The test NLL of a run's saved model (runs.evaluate): all the test images with the k
 * asked unless told fewer. Prints progress, then the figure; Ctrl+C stops it.
 */
async function cmdEvaluate(core: Core, values: Values, positionals: string[], out: Output): Promise<void> {
  const runId = runIdArg(positionals[0], 'evaluate <run>');
  const k = num(values, 'k');
  const { min, max } = LIMITS.iwaeSamples;
  if (k !== undefined && (!Number.isInteger(k) || k < min || k > max)) {
    throw new ApiError('invalid_input', `--k must be a whole number of importance samples from ${min} to ${max}, got "${values.k}"`, { field: 'k' });
  }
  const images = imagesFlag(values.images);
  let outcome: RunEvaluationEvent | null = null;
  let shownTenth = -1;
  const unsubscribe = core.subscribe((m) => {
    if (m.event === 'run.progress' && m.payload.runId === runId && m.payload.evaluated) {
      const { done, total, k: samples } = m.payload.evaluated;
      const tenth = total > 0 ? Math.floor((10 * done) / total) : 0;
      out.event({ type: 'progress', ...m.payload }, tenth > shownTenth ? `  ${done}/${total} test images (k = ${samples})` : undefined);
      shownTenth = Math.max(shownTenth, tenth);
    } else if (m.event === 'run.evaluation' && m.payload.runId === runId && m.payload.state !== 'started') {
      outcome = m.payload;
    }
  });
  const stop = (): void => void core.call('runs.cancel', { runId });
  try {
    const answer = await core.call('runs.evaluate', { runId, iwaeSamples: k, images, checkpoint: values.checkpoint as 'best' | 'last' | undefined });
    process.once('SIGINT', stop);
    out.event(
      { type: 'started', command: 'evaluate', ...answer },
      `Evaluating run #${runId} (${answer.checkpoint.kind} checkpoint, epoch ${answer.checkpoint.epoch}) on ${answer.images === 'all' ? 'all its' : `${answer.images}`} test images, k = ${answer.iwaeSamples}…`,
    );
    await core.runs.evaluationSettled(runId);
    const settled = outcome as RunEvaluationEvent | null;
    if (settled?.state === 'finished') {
      const s = settled.summary;
      out.event(
        { type: 'result', command: 'evaluate', runId, summary: s },
        `Run #${runId}: test NLL ${fmt(s.test_nll)} nats (${fmt(s.test_bpd, 3)} bits/dim) on ${s.test_images} of ${s.test_images_total ?? s.test_images} test images, ` +
          `IWAE k = ${s.iwae_k}, in ${fmt(s.iwae_seconds, 1)} s${s.iwae_threads !== undefined && s.iwae_threads > 1 ? ` on ${s.iwae_threads} threads` : ''}`,
      );
      return;
    }
    if (settled?.state === 'failed') throw new ApiError(settled.error.code, settled.error.message, settled.error.details);
    throw new ApiError('cancelled', `The evaluation of run #${runId} was stopped; the run keeps the test NLL it had.`, { field: 'run' });
  } finally {
    process.off('SIGINT', stop);
    unsubscribe();
  }
}

/** Imports an exported archive or folder into a project (models.import). */
async function cmdImportModel(core: Core, values: Values, positionals: string[], out: Output): Promise<void> {
  const path = positionals[0];
  if (!path) throw new ApiError('invalid_input', 'import-model needs an archive or folder: vae-studio import-model <path>', { field: 'path' });
  const project = await projectFor(core, values.project);
  const run = await core.call('models.import', { projectId: project.id, path });
  out.event(
    { type: 'result', command: 'import-model', projectId: project.id, run },
    `Imported "${run.name}" as run #${run.id} in project "${project.name}" with dataset "${run.datasetName}".`,
  );
}

/**
 * What closing the app does to the runs it holds, in words: training (or paused) runs
 * are stopped and marked interrupted — Resume continues each from its last checkpoint —
 * and queued runs stay queued and start when VAE Studio starts again.
 */
export function shutdownReport(runs: readonly Pick<Run, 'id' | 'name' | 'status'>[], signal: string): { object: Record<string, unknown>; human: string } {
  const interrupted = runs.filter((r) => r.status === 'running' || r.status === 'paused');
  const queued = runs.filter((r) => r.status === 'queued');
  const names = (list: typeof runs): string => list.map((r) => `"${r.name}" (#${r.id})`).join(', ');
  const lines = [`VAE Studio stopped (${signal}).`];
  if (interrupted.length > 0) {
    lines.push(
      `${interrupted.length === 1 ? 'The run that was training' : `The ${interrupted.length} runs that were training`}, ${names(interrupted)}, ` +
        `${interrupted.length === 1 ? 'is' : 'are'} marked interrupted: Resume on its page (or \`vae-studio resume <id>\`) continues from the last checkpoint.`,
    );
  }
  if (queued.length > 0) {
    lines.push(`${queued.length === 1 ? 'The queued run' : `The ${queued.length} queued runs`}, ${names(queued)}, will start when VAE Studio starts again.`);
  }
  if (interrupted.length === 0 && queued.length === 0) lines.push('No run was training.');
  return {
    object: { type: 'stopped', signal, interrupted: interrupted.map((r) => r.id), queued: queued.map((r) => r.id) },
    human: lines.join('\n'),
  };
}

/** Serves until SIGINT/SIGTERM, closes the server and the core, and says what became of the runs. */
async function cmdServe(core: Core, values: Values, out: Output, closeCore: () => Promise<void>): Promise<void> {
  const server = await startWebServer(core, { port: num(values, 'port') ?? 0, rendererDir: appPaths.renderer });
  out.event(
    { type: 'listening', url: server.url, port: server.port, home: core.workspace.home },
    `VAE Studio is serving on ${server.url}\nOpen that URL in a browser (it carries this launch's access token). Ctrl+C stops.`,
  );
  // Ctrl+C under `npm start` arrives twice (the terminal's, and the one the launcher
  // forwards): later signals must not end the process half-way through closing.
  let stopWith: (signal: NodeJS.Signals) => void = () => {};
  const onSignal = (signal: NodeJS.Signals): void => stopWith(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    stopWith = (received) => {
      stopWith = () => {};
      resolve(received);
    };
  });
  out.event({ type: 'stopping', signal }, 'Stopping VAE Studio…');
  // The runs it holds, read before closing ends them, and the core closed with no I/O
  // between: a worker that Ctrl+C already ended cannot start the next queued run.
  const runs = await core.call('runs.list', {}).catch(() => [] as Run[]);
  await Promise.all([closeCore(), server.close()]);
  const report = shutdownReport(runs, signal);
  out.event(report.object, report.human);
  // The handlers stay (ignoring further signals) until the process exits: a second Ctrl+C
  // that arrives after closing finished must not end it by the default action either.
}

/** Puts a backup back as the workspace database (after it was found damaged). */
function cmdRestoreDb(home: string, values: Values, out: Output): void {
  const lock = acquireWorkspaceLock(home, 'command line: restore-db');
  try {
    const result = restoreDatabase(join(home, 'studio.db'), values.from === undefined ? undefined : resolve(values.from));
    out.event(
      { type: 'result', command: 'restore-db', ...result },
      `Restored the workspace database from ${result.restored} (taken ${result.takenAt}). Work done after that backup is not in it; ` +
        `runs that were training then show as interrupted and can be resumed.` +
        (result.keptAside.length ? `\nThe replaced file is kept as ${result.keptAside[0]}.` : ''),
    );
  } finally {
    lock.release();
  }
}

/**
 * A Redis that can never work (wrong password, an ACL user without the commands needed, a
 * certificate the CA does not vouch for) is refused before anything starts, naming the URL
 * without its password; one that does not answer is waited for, saying so.
 */
async function checkRedis(settings: RedisSettings, out: Output): Promise<void> {
  const probe = await probeRedis(settings, 'redis', 'redis-ca');
  if (!probe.reachable) out.event({ type: 'warning', message: probe.message }, probe.message);
}

function redisFlags(values: Values): RedisSettings {
  const settings: RedisSettings = { url: values.redis ?? '', ...(values['redis-ca'] !== undefined && { caFile: resolve(values['redis-ca']) }) };
  redisOptions(settings); // a bad URL or CA file is refused here, naming the flag
  return settings;
}

/** The commands that send runs to Redis or take them from it. */
const REDIS_COMMANDS = ['worker', 'train', 'resume', 'serve', 'sweep'];
/** Where a Redis URL with a password can be given without showing it to every user who lists processes. */
export const REDIS_URL_ENV = 'VAE_STUDIO_REDIS_URL';

/**
 * --redis, or else $VAE_STUDIO_REDIS_URL for the commands that take a Redis. A password in
 * --redis itself is warned about: a command line is readable by every user of the machine.
 */
function redisFromEnvironment(command: string, values: Values, out: Output): void {
  if (!REDIS_COMMANDS.includes(command)) return;
  if (values.redis !== undefined) {
    let password = '';
    try {
      password = new URL(values.redis).password;
    } catch {
      // not a URL: redisFlags refuses it, naming the flag
    }
    if (password) {
      const message = `The password in --redis can be read by anyone who lists this machine's processes: set ${REDIS_URL_ENV} instead${command === 'worker' ? '' : ' (or save the URL in Settings)'}.`;
      out.event({ type: 'warning', message }, message);
    }
    return;
  }
  const fromEnvironment = process.env[REDIS_URL_ENV];
  if (fromEnvironment) values.redis = fromEnvironment;
}

/** `vae-studio worker`: trains runs from the queue until Ctrl+C (or SIGTERM). */
async function cmdWorker(home: string, values: Values, out: Output): Promise<number> {
  if (values.redis === undefined) throw new ApiError('invalid_input', 'worker needs --redis redis://host:6379 (the Redis the app sends runs to)', { field: 'redis' });
  const positive = (flag: 'concurrency' | 'threads' | 'lock-ms', min: number, max: number): number | undefined => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new ApiError('invalid_input', `--${flag} must be a whole number from ${min} to ${max}, not "${String(raw)}"`, { field: flag });
    return value;
  };
  const concurrency = positive('concurrency', 1, 64);
  const threads = positive('threads', 1, LIMITS.threads.max);
  const lockMs = positive('lock-ms', 1000, 600_000);
  const redis = redisFlags(values);
  await checkRedis(redis, out);
  const host = await startWorkerHost({
    redis,
    // Not the workspace's own folders: a worker may share a machine (and a home) with the app.
    home: join(home, 'remote-worker'),
    spawn: forkWorker,
    workerEntry: appPaths.workerEntry,
    ...(concurrency !== undefined && { concurrency }),
    ...(threads !== undefined && { threads }),
    ...(lockMs !== undefined && { lockMs }),
    log: (event, human) => out.event(event, human),
  });
  const stop = (): void => void host.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await host.closed;
  out.event({ type: 'result', command: 'worker' }, 'worker stopped; the runs it held continue on another worker');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...runFlagOptions, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const values = parsed.values as Values;
  const [command, ...rest] = parsed.positionals;
  if (values.help && command === 'train') {
    process.stdout.write(`${trainUsage()}\n`);
    return 0;
  }
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const out = new Output(values.json);
  const home = values.home ?? defaultHome();
  let core: Core | null = null;
  let closing: Promise<void> | null = null;
  const closeCore = (): Promise<void> => (closing ??= core?.close() ?? Promise.resolve());
  try {
    if (command === 'doctor') {
      const report = await probeBackendsInWorker(forkWorker, appPaths.workerEntry);
      out.event({ type: 'result', command: 'doctor', report }, formatDoctorReport(report, appVersion));
      return report.chosen === null ? 1 : 0;
    }
    if (command === 'restore-db') {
      cmdRestoreDb(home, values, out);
      return 0;
    }
    redisFromEnvironment(command, values, out);
    if (command === 'worker') return await cmdWorker(home, values, out);
    if (values.redis === undefined && values['redis-ca'] !== undefined) {
      throw new ApiError('invalid_input', '--redis-ca needs --redis rediss://host:port', { field: 'redis-ca' });
    }
    const redis = values.redis === undefined ? undefined : redisFlags(values);
    if (redis && !['train', 'resume', 'serve', 'sweep'].includes(command)) {
      throw new ApiError('invalid_input', `--redis is for the commands that start runs (train, resume, serve, sweep), not ${command}`, { field: 'redis' });
    }
    if (!['import', 'train', 'resume', 'runs', 'serve', 'export', 'import-model', 'impute', 'evaluate', 'health', 'sweep'].includes(command)) {
      throw new ApiError('invalid_input', `Unknown command "${command}". Run vae-studio --help.`, { field: 'command' });
    }
    if (redis) await checkRedis(redis, out);
    core = createCore({
      home,
      mode: command === 'serve' ? 'web' : 'cli',
      // Export only reads: it works beside a running app.
      allowReadOnly: command === 'runs' || command === 'export' || command === 'impute' || (command === 'sweep' && rest[0] === 'status'),
      instanceLabel: command === 'serve' ? 'web server' : `command line: ${command}`,
      version: appVersion,
      workerEntry: appPaths.workerEntry,
      importWorkerEntry: appPaths.importWorkerEntry,
      sampleDatasetPath: appPaths.sampleDataset,
      ...(redis && { redis }),
    });
    if (command === 'import') await cmdImport(core, values, rest, out);
    else if (command === 'train') await cmdTrain(core, values, out);
    else if (command === 'resume') await cmdResume(core, values, rest, out);
    else if (command === 'runs') await cmdRuns(core, values, out);
    else if (command === 'export') await cmdExport(core, values, rest, out);
    else if (command === 'import-model') await cmdImportModel(core, values, rest, out);
    else if (command === 'impute') await cmdImpute(core, values, out);
    else if (command === 'evaluate') await cmdEvaluate(core, values, rest, out);
    else if (command === 'sweep') {
      let target: Promise<{ project: Project; dataset: Dataset }> | null = null;
      const pick = (): Promise<{ project: Project; dataset: Dataset }> => (target ??= datasetFor(core!, values, 'sweep'));
      const dataset = rest.length === 0 ? (await pick()).dataset : null;
      const code = await cmdSweep(
        core,
        rest,
        {
          projectId: async () => (await pick()).project.id,
          datasetId: async () => (await pick()).dataset.id,
          config: dataset ? configFor(values, dataset).config : {},
          flags: {
            grid: values.grid ?? [],
            random: values.random ?? [],
            trials: num(values, 'trials'),
            seeds: num(values, 'seeds'),
            concurrency: num(values, 'concurrency'),
            earlyStop: values['early-stop'],
            sweepSeed: num(values, 'sweep-seed'),
            name: values.name,
          },
        },
        (o, h) => out.event(o, h),
      );
      if (code !== 0) process.exitCode = code;
    } else if (command === 'health' && values.run !== undefined) {
      await cmdRunHealth(core, { dataset: values.dataset, project: values.project, run: values.run, top: num(values, 'top'), score: values.score, k: num(values, 'k'), rescore: values.rescore }, (o, h) => out.event(o, h));
    } else if (command === 'health') await cmdHealth(core, { dataset: values.dataset, project: values.project, top: num(values, 'top'), kind: values.kind }, (o, h) => out.event(o, h));
    else await cmdServe(core, values, out, closeCore);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    const shape = toApiError(error).toJSON();
    if (values.json) process.stdout.write(`${JSON.stringify({ type: 'error', error: shape })}\n`);
    else process.stderr.write(`error: ${shape.message}\n`);
    return 1;
  } finally {
    await closeCore();
  }
}
