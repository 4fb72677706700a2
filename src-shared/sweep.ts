import { z } from 'zod';
import { runConfigObject, runConfigSchema, type RunConfig, type RunConfigInput } from './config';
import type { RunSetting } from './families';
import { mulberry32, permutation } from './random';
import { runSettings, settingFlag, settingRange, type RunSettingInfo } from './run-settings';
import type { RunWait } from './types';

/**
 * Sweeps: many runs of one dataset over value lists (grid) and ranges (random search) of
 * any run setting, each repeated over seeds. The one parser of sweep definitions: the
 * CLI's flags, the API's request and the new-run form's "Sweep…" all hand it the same
 * tokens (`beta=0.5,1,2`, `lr=log:1e-4..3e-3`) and show its errors, which name the token.
 */

/** Most trials (setting combinations) and runs (trials × seeds) one sweep may plan. */
export const SWEEP_LIMITS = {
  trials: 1000,
  seeds: 100,
  runs: 10_000,
  concurrency: 16,
  /** Grid or random dimensions, and values one of them lists. */
  dimensions: 32,
  values: 1000,
  tokenLength: 4000,
} as const;

export const sweepStatuses = ['running', 'paused', 'finished', 'cancelled', 'failed'] as const;
export type SweepStatus = (typeof sweepStatuses)[number];

export const earlyStopRules = ['median', 'halving'] as const;
export type EarlyStopRule = (typeof earlyStopRules)[number];

/**
 * Stopping poor trials on validation loss. `median` (Golovin et al. 2017, Vizier): at
 * epoch e ≥ grace, a trial whose best validation loss so far is worse than the median of
 * the finished trials' best by epoch e is stopped, once `minFinished` trials finished.
 * `halving` (asynchronous successive halving, Li et al. 2018): at rungs e = grace·ηᵏ, a
 * trial not in the best 1/η of the trials that reached that rung is stopped.
 */
export type EarlyStop = { rule: 'median'; grace: number; minFinished: number } | { rule: 'halving'; grace: number; eta: number };

/** A setting's value in a sweep: what the config schema takes for it. */
export type SweepValue = number | string;

export type SweepDimension =
  | { setting: RunSetting; mode: 'grid'; values: SweepValue[] }
  | { setting: RunSetting; mode: 'choice'; values: SweepValue[] }
  | { setting: RunSetting; mode: 'range'; min: number; max: number; log: boolean; integer: boolean };

/** A sweep as it is asked for (CLI flags, API, form): tokens and counts, checked by parseSweep. */
export const sweepRequestShape = {
  grid: z.array(z.string().max(SWEEP_LIMITS.tokenLength)).max(SWEEP_LIMITS.dimensions).default([]),
  random: z.array(z.string().max(SWEEP_LIMITS.tokenLength)).max(SWEEP_LIMITS.dimensions).default([]),
  /** Setting combinations to try; absent: every grid combination (required with random settings). */
  trials: z.number().int().min(1).max(SWEEP_LIMITS.trials).optional(),
  /** Each trial runs with this many seeds: the base config's seed, +1, +2 … */
  seeds: z.number().int().min(1).max(SWEEP_LIMITS.seeds).default(1),
  /** Trials training at once. */
  concurrency: z.number().int().min(1).max(SWEEP_LIMITS.concurrency).default(2),
  /** `median`, `halving`, or with settings: `median:grace=2,finished=5`, `halving:eta=2`. */
  earlyStop: z.string().max(200).optional(),
  /** Seed of the random draws (and of the grid subset a budget picks). */
  sweepSeed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
};
export const sweepRequestSchema = z.object(sweepRequestShape).strict();
export type SweepRequest = z.output<typeof sweepRequestSchema>;
export type SweepRequestInput = z.input<typeof sweepRequestSchema>;

/** A parsed sweep: its dimensions and the rest, ready to expand. */
export interface SweepSpec {
  dimensions: SweepDimension[];
  trials: number;
  seeds: number;
  concurrency: number;
  earlyStop: EarlyStop | null;
  sweepSeed: number;
}

/** One run a sweep plans: trial t with repeat r, the values of the swept settings, and its full config. */
export interface PlannedRun {
  trial: number;
  repeat: number;
  settings: Partial<Record<RunSetting, SweepValue>>;
  config: RunConfig;
}

/** A sweep definition that cannot be used; `field` names the request field and index (`grid.1`). */
export class SweepError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

const SETTINGS: ReadonlyMap<string, RunSettingInfo> = (() => {
  const byName = new Map<string, RunSettingInfo>();
  for (const info of runSettings()) {
    byName.set(info.key, info);
    byName.set(settingFlag(info.key), info);
  }
  return byName;
})();

/** The run setting a token names (its own name, or its CLI flag: `lr`, `flow-steps`). */
function settingOf(name: string, where: string): RunSettingInfo {
  const info = SETTINGS.get(name.trim());
  if (!info) {
    throw new SweepError(`${where}: "${name.trim()}" is not a run setting; \`vae-studio train --help\` lists them all (e.g. beta, latent, lr, architecture)`, '');
  }
  return info;
}

/** A value for a setting as the config schema takes it, or a SweepError saying why not. */
function parseValue(info: RunSettingInfo, raw: string, where: string): SweepValue {
  const text = raw.trim();
  if (text === '') throw new SweepError(`${where}: an empty value for ${info.key}`, '');
  const value: SweepValue = info.kind === 'choice' ? text : Number(text);
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new SweepError(`${where}: "${text}" is not a number; ${info.key} takes ${settingRange(info)}`, '');
  }
  const field = (runConfigObject.shape as Record<string, z.ZodType>)[info.key]!;
  const checked = field.safeParse(value);
  if (!checked.success) {
    throw new SweepError(`${where}: ${info.key} = ${text} is refused (${checked.error.issues[0]?.message ?? 'invalid'}); it takes ${settingRange(info)}`, '');
  }
  return value;
}

function splitToken(token: string, where: string): [RunSettingInfo, string] {
  const at = token.indexOf('=');
  if (at <= 0) throw new SweepError(`${where}: "${token}" should read setting=values, e.g. beta=0.5,1,2`, '');
  return [settingOf(token.slice(0, at), where), token.slice(at + 1)];
}

function parseList(info: RunSettingInfo, body: string, where: string): SweepValue[] {
  const parts = body.split(',');
  if (parts.length > SWEEP_LIMITS.values) throw new SweepError(`${where}: ${parts.length} values; at most ${SWEEP_LIMITS.values} per setting`, '');
  const values = parts.map((part) => parseValue(info, part, where));
  const seen = new Set<SweepValue>();
  for (const v of values) {
    if (seen.has(v)) throw new SweepError(`${where}: ${info.key} = ${v} is listed twice`, '');
    seen.add(v);
  }
  return values;
}

/** `beta=0.5,1,2`: every listed value is tried. */
export function parseGridToken(token: string, where = `grid "${token}"`): SweepDimension {
  const [info, body] = splitToken(token, where);
  if (body.includes('..')) throw new SweepError(`${where}: a grid lists values (beta=0.5,1,2); a range (${info.key}=${body}) is a random setting`, '');
  return { setting: info.key, mode: 'grid', values: parseList(info, body, where) };
}

/**
 * `lr=log:1e-4..3e-3` (log-uniform), `beta=0.1..4` (uniform), `latent=int:8..64` (whole
 * numbers; an integer setting always draws whole numbers), `architecture=mlp,conv` (one
 * of the listed values at random).
 */
export function parseRandomToken(token: string, where = `random "${token}"`): SweepDimension {
  const [info, body] = splitToken(token, where);
  if (!body.includes('..')) return { setting: info.key, mode: 'choice', values: parseList(info, body, where) };
  if (info.kind === 'choice') throw new SweepError(`${where}: ${info.key} is a choice (${settingRange(info)}); list the values: ${info.key}=${info.choices!.slice(0, 2).join(',')}`, '');
  const match = /^\s*(?:(log|int|logint|log-int):)?(.*?)\.\.(.*)$/.exec(body)!;
  const prefix = match[1] ?? '';
  const log = prefix.startsWith('log');
  const integer = info.kind === 'integer' || prefix.endsWith('int');
  const min = parseValue(info, match[2]!, where) as number;
  const max = parseValue(info, match[3]!, where) as number;
  if (!(min < max)) throw new SweepError(`${where}: the range ${min}..${max} is empty; write the smaller value first`, '');
  if (log && min <= 0) throw new SweepError(`${where}: a log range needs a lower end above 0, got ${min}`, '');
  if (integer && Math.ceil(min) > Math.floor(max)) throw new SweepError(`${where}: no whole number lies in ${min}..${max}`, '');
  return { setting: info.key, mode: 'range', min, max, log, integer };
}

/** `median`, `halving`, `median:grace=2,finished=5`, `halving:eta=2,grace=1`. */
export function parseEarlyStop(text: string): EarlyStop {
  const [rule, options = ''] = text.trim().split(/:(.*)/s) as [string, string?];
  if (!(earlyStopRules as readonly string[]).includes(rule)) {
    throw new SweepError(`early stop "${text}": the rule is median or halving`, 'earlyStop');
  }
  const stop: EarlyStop = rule === 'median' ? { rule: 'median', grace: 1, minFinished: 3 } : { rule: 'halving', grace: 1, eta: 3 };
  const allowed: Record<string, [key: string, min: number]> =
    rule === 'median' ? { grace: ['grace', 1], finished: ['minFinished', 1] } : { grace: ['grace', 1], eta: ['eta', 2] };
  for (const pair of options.split(',').filter((p) => p.trim() !== '')) {
    const [name = '', raw = ''] = pair.split('=').map((s) => s.trim());
    const target = allowed[name];
    const value = Number(raw);
    if (!target) throw new SweepError(`early stop "${text}": ${rule} takes ${Object.keys(allowed).join(' and ')}, not "${name}"`, 'earlyStop');
    if (raw === '' || !Number.isInteger(value) || value < target[1] || value > 10_000) {
      throw new SweepError(`early stop "${text}": ${name} must be a whole number ≥ ${target[1]}, got "${raw}"`, 'earlyStop');
    }
    (stop as unknown as Record<string, number>)[target[0]] = value;
  }
  return stop;
}

/** Parses a sweep request; throws SweepError naming the field (`grid.1`) and token. */
export function parseSweep(request: SweepRequest): SweepSpec {
  const dimensions: SweepDimension[] = [];
  const seen = new Map<RunSetting, string>();
  const add = (dimension: SweepDimension, field: string): void => {
    const earlier = seen.get(dimension.setting);
    if (earlier) throw new SweepError(`${field}: ${dimension.setting} is already swept by ${earlier}; give each setting once`, field);
    seen.set(dimension.setting, field);
    dimensions.push(dimension);
  };
  const each = (tokens: string[], kind: 'grid' | 'random'): void =>
    tokens.forEach((token, i) => {
      const field = `${kind}.${i}`;
      try {
        add(kind === 'grid' ? parseGridToken(token) : parseRandomToken(token), field);
      } catch (error) {
        if (error instanceof SweepError && error.field === '') throw new SweepError(error.message, field);
        throw error;
      }
    });
  each(request.grid, 'grid');
  each(request.random, 'random');
  if (dimensions.length === 0) throw new SweepError('a sweep needs at least one setting to vary: a grid (beta=0.5,1,2) or a random one (lr=log:1e-4..3e-3)', 'grid');
  if (request.seeds > 1 && seen.has('seed')) throw new SweepError(`seeds: the seed is swept by ${seen.get('seed')}; repeat over seeds (seeds > 1) or sweep seed, not both`, 'seeds');
  const grid = dimensions.filter((d) => d.mode === 'grid');
  const hasRandom = dimensions.length > grid.length;
  // The grid's size from its lists alone, before anything is enumerated.
  let combinations = 1;
  for (const d of grid) {
    combinations *= (d as { values: SweepValue[] }).values.length;
    if (combinations > SWEEP_LIMITS.runs) {
      throw new SweepError(`grid: more than ${SWEEP_LIMITS.runs} combinations; a sweep plans at most ${SWEEP_LIMITS.trials} trials — shorten a list or give --trials with random settings`, 'grid');
    }
  }
  let trials = request.trials;
  if (trials === undefined) {
    if (hasRandom) throw new SweepError('trials: random settings need a trial budget (how many combinations to draw), e.g. --trials 20', 'trials');
    trials = combinations;
  } else if (!hasRandom && trials > combinations) {
    throw new SweepError(`trials: the grid has ${combinations} combinations, fewer than the ${trials} trials asked; ask for ${combinations} or fewer, or repeat them with seeds`, 'trials');
  }
  if (trials > SWEEP_LIMITS.trials) throw new SweepError(`trials: ${trials} combinations; a sweep plans at most ${SWEEP_LIMITS.trials} trials`, 'trials');
  if (trials * request.seeds > SWEEP_LIMITS.runs) {
    throw new SweepError(`seeds: ${trials} trials × ${request.seeds} seeds is ${trials * request.seeds} runs; a sweep plans at most ${SWEEP_LIMITS.runs}`, 'seeds');
  }
  let earlyStop: EarlyStop | null = null;
  if (request.earlyStop !== undefined && request.earlyStop.trim() !== '' && request.earlyStop.trim() !== 'none') earlyStop = parseEarlyStop(request.earlyStop);
  return { dimensions, trials, seeds: request.seeds, concurrency: request.concurrency, earlyStop, sweepSeed: request.sweepSeed };
}

/** A drawn number at 3 significant digits (lr 0.000312, not 0.00031234987), kept in range. */
function roundDrawn(value: number, d: Extract<SweepDimension, { mode: 'range' }>): number {
  const rounded = d.integer ? Math.round(value) : Number(value.toPrecision(3));
  return Math.min(d.max, Math.max(d.min, rounded));
}

function draw(d: SweepDimension, random: () => number): SweepValue {
  if (d.mode !== 'range') return d.values[Math.floor(random() * d.values.length)]!;
  const u = random();
  if (d.integer) {
    // Whole numbers equally likely (log: each equally likely per octave of the range).
    const lo = Math.ceil(d.min);
    const hi = Math.floor(d.max);
    const drawn = d.log ? Math.floor(Math.exp(Math.log(lo) + u * (Math.log(hi + 1) - Math.log(lo)))) : lo + Math.floor(u * (hi - lo + 1));
    return Math.min(hi, Math.max(lo, drawn));
  }
  return roundDrawn(d.log ? Math.exp(Math.log(d.min) + u * (Math.log(d.max) - Math.log(d.min))) : d.min + u * (d.max - d.min), d);
}

/**
 * The runs a sweep plans, in the order they are queued: trial by trial, each trial's
 * seeds together. Grid combinations go in order (a budget under the grid's size takes a
 * subset shuffled by the sweep seed; over it, with random settings, the grid repeats);
 * random settings are drawn from the sweep seed, so the same sweep plans the same runs.
 * Every config is checked by the run config schema; one it refuses names its trial.
 */
export function expandSweep(spec: SweepSpec, base: RunConfigInput): PlannedRun[] {
  const grid = spec.dimensions.filter((d): d is Extract<SweepDimension, { mode: 'grid' }> => d.mode === 'grid');
  const random = spec.dimensions.filter((d) => d.mode !== 'grid');
  const combinations = grid.reduce((n, d) => n * d.values.length, 1);
  const rng = mulberry32(spec.sweepSeed);
  const order = spec.trials < combinations && random.length === 0 ? permutation(combinations, rng) : null;
  const planned: PlannedRun[] = [];
  for (let trial = 0; trial < spec.trials; trial++) {
    let index = order ? order[trial]! : trial % combinations;
    const settings: Partial<Record<RunSetting, SweepValue>> = {};
    // Odometer order: the last grid setting changes fastest.
    for (let k = grid.length - 1; k >= 0; k--) {
      const d = grid[k]!;
      settings[d.setting] = d.values[index % d.values.length]!;
      index = Math.floor(index / d.values.length);
    }
    for (const d of random) settings[d.setting] = draw(d, rng);
    const ordered = Object.fromEntries(spec.dimensions.map((d) => [d.setting, settings[d.setting]!])) as typeof settings;
    for (let repeat = 0; repeat < spec.seeds; repeat++) {
      const checked = runConfigSchema.safeParse(plannedInput(base, { repeat, settings: ordered }, spec.seeds));
      if (!checked.success) {
        const issue = checked.error.issues[0]!;
        const values = Object.entries(ordered).map(([k, v]) => `${k}=${v}`).join(' ');
        throw new SweepError(`trial ${trial + 1} (${values}): ${issue.path.join('.') || 'config'}: ${issue.message}. Change the sweep or the base settings so every combination is valid.`, 'grid');
      }
      planned.push({ trial, repeat, settings: ordered, config: checked.data });
    }
  }
  return planned;
}

/** A planned run's config before the schema's defaults: the base, the swept values, and its seed (base seed + repeat). */
export function plannedInput(base: RunConfigInput, entry: { repeat: number; settings: Partial<Record<RunSetting, SweepValue>> }, seeds: number): RunConfigInput {
  const baseSeed = typeof base.seed === 'number' ? base.seed : 1;
  return { ...base, ...entry.settings, ...(seeds > 1 ? { seed: baseSeed + entry.repeat } : {}) } as RunConfigInput;
}

/** The swept values of a run in a few characters: "beta=0.5 latent=16 lr=0.000312". */
export function describeSettings(settings: Partial<Record<RunSetting, SweepValue>>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Tokens of a sweep for the form's editor: the value lists or range of each swept setting. */
export function tokenOf(d: SweepDimension): string {
  if (d.mode !== 'range') return `${d.setting}=${d.values.join(',')}`;
  const prefix = d.log ? 'log:' : '';
  return `${d.setting}=${prefix}${d.min}..${d.max}`;
}

/** A planned run as a sweep stores it: trial, repeat and the swept values (the config is rebuilt from the base). */
export interface StoredPlanEntry {
  trial: number;
  repeat: number;
  settings: Partial<Record<RunSetting, SweepValue>>;
}

export interface Sweep {
  id: number;
  projectId: number;
  datasetId: number;
  datasetName: string;
  name: string;
  status: SweepStatus;
  /** The definition as asked (tokens, counts): "sweep again" and the page show it. */
  request: SweepRequest;
  /** The settings every trial shares (the form's, or the run a sweep was made from). */
  baseConfig: RunConfig;
  /** The swept settings, in the order given. */
  settings: RunSetting[];
  trials: number;
  seeds: number;
  concurrency: number;
  earlyStop: EarlyStop | null;
  /** Runs the sweep plans (trials × seeds) and how many of them were queued so far. */
  plannedRuns: number;
  dispatched: number;
  /** Trial runs by state: active (queued, running, paused), finished, stopped early, other ended (failed, cancelled…). */
  counts: { active: number; finished: number; stopped: number; ended: number };
  /** The finished trial with the lowest best validation loss. */
  best: { runId: number; name: string; valLoss: number } | null;
  error: { code: string; message: string } | null;
  createdAt: string;
  finishedAt: string | null;
  /** Its stored definition cannot be read (error says why): it lists its trials and can be cancelled, nothing more. */
  unreadable?: true;
}

export interface SweepTrial {
  runId: number;
  name: string;
  status: string;
  settings: Partial<Record<RunSetting, SweepValue>>;
  seed: number;
  epochsDone: number;
  epochs: number;
  /** The lowest validation loss the run reached (nats), null before its first epoch. */
  bestValLoss: number | null;
  /** Why early stopping ended it, or null. */
  stoppedEarly: string | null;
  /** Sent to a Redis queue no worker is connected to (Run.waiting). */
  waiting?: RunWait;
}

/** The Runs view's filter text that lists a sweep's runs (the filter language lives with the runs list). */
export const sweepRunsFilter = (sweepId: number): string => `sweep:${sweepId}`;
