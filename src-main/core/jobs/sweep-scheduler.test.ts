import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runConfigSchema, type RunConfig } from '@shared/config';
import { expandSweep, parseSweep, plannedInput, sweepRequestSchema, type SweepRequestInput } from '@shared/sweep';
import type { Run } from '@shared/types';
import { EventBus } from '../events';
import { tempDir } from '../testing';
import { openDatabase, type Db } from '../store/db';
import { insertMetrics } from '../store/metrics';
import { finishRun, getRun, insertRun, markRunStarted, recordEpoch, requeueRun, runsOfSweep, setRunPaused } from '../store/runs';
import { countDispatched, getSweepRecord, insertSweep, sweepView } from '../store/sweeps';
import { earlyStopVerdict } from './early-stop';
import { SweepScheduler, type TrialLauncher } from './sweep-scheduler';

/**
 * The scheduler against the real store with a fake launcher: trials are rows that this
 * test moves one epoch at a time (`advance`), with a validation loss that `loss` makes
 * up from the trial's config — no processes, no timers, every decision deterministic.
 */
let dir: ReturnType<typeof tempDir>;
let db: Db;
let events: EventBus;
let scheduler: SweepScheduler;
let launcher: FakeLauncher;
let loss: (config: RunConfig, epoch: number) => number;

class FakeLauncher implements TrialLauncher {
  concurrency: (number | null)[] = [];
  maxRunning = 0;
  launched = 0;
  emit(runId: number): void {
    const run = getRun(db, runId)!;
    events.emit('run.status', { runId, status: run.status, run });
    this.maxRunning = Math.max(this.maxRunning, runs().filter((r) => r.status === 'running').length);
  }
  launch(sweep: Parameters<TrialLauncher['launch']>[0], entry: Parameters<TrialLauncher['launch']>[1]): void {
    const config = runConfigSchema.parse(plannedInput(sweep.baseConfig, entry, sweep.request.seeds));
    const run = db.transaction(() => {
      const inserted = insertRun(db, { projectId: 1, datasetId: 1, name: `t${entry.trial + 1}s${entry.repeat + 1}`, configJson: JSON.stringify(config), sweepId: sweep.id }, 'now');
      countDispatched(db, sweep.id);
      return inserted;
    })();
    this.launched++;
    this.emit(run.id);
    // This fake's "run manager" has room for everything: only the sweep's own limit holds trials back.
    markRunStarted(db, run.id, null, 'now');
    this.emit(run.id);
  }
  cancel(runId: number): void {
    finishRun(db, runId, 'cancelled', 'now', null);
    this.emit(runId);
  }
  pause(runId: number): boolean {
    setRunPaused(db, runId, true);
    this.emit(runId);
    return true;
  }
  unpause(runId: number): boolean {
    setRunPaused(db, runId, false);
    this.emit(runId);
    return true;
  }
  resume(runId: number): void {
    const run = getRun(db, runId)!;
    requeueRun(db, runId, { epoch: run.epochsDone, step: run.lastStep });
    markRunStarted(db, runId, null, 'now');
    this.emit(runId);
  }
  requestConcurrency(_owner: string, runs: number | null): void {
    this.concurrency.push(runs);
  }
}

const runs = (sweepId = 1): Run[] => runsOfSweep(db, sweepId);

/** Every training trial one epoch further, in id order; one that reaches its last epoch finishes. */
function advance(sweepId = 1): void {
  for (const run of runs(sweepId).filter((r) => r.status === 'running')) {
    if (getRun(db, run.id)!.status !== 'running') continue; // stopped early by an earlier trial's report in this round
    const epoch = run.epochsDone + 1;
    insertMetrics(db, run.id, [{ step: epoch * 10, epoch, name: 'val_loss', value: loss(run.config, epoch), t: 0 }]);
    recordEpoch(db, run.id, epoch, epoch * 10, { val_loss: loss(run.config, epoch) });
    launcher.emit(run.id);
    if (epoch >= run.config.epochs && getRun(db, run.id)!.status === 'running') {
      finishRun(db, run.id, 'finished', 'now', null);
      launcher.emit(run.id);
    }
  }
}

function createSweep(request: SweepRequestInput, base: Record<string, unknown> = { epochs: 2 }): number {
  const parsed = sweepRequestSchema.parse(request);
  const plan = expandSweep(parseSweep(parsed), base).map(({ trial, repeat, settings }) => ({ trial, repeat, settings }));
  const id = insertSweep(db, { projectId: 1, datasetId: 1, name: 's', requestJson: JSON.stringify(parsed), baseConfigJson: JSON.stringify(base), plan }, 'now');
  scheduler.started(id);
  return id;
}

const status = (sweepId = 1): string => getSweepRecord(db, sweepId)!.status;

function newScheduler(): SweepScheduler {
  events = new EventBus();
  const made = new SweepScheduler({ db, events, launcher, now: () => 'now' });
  made.recover();
  return made;
}

beforeEach(() => {
  dir = tempDir();
  db = openDatabase(join(dir.path, 'studio.db'));
  db.exec(`INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 'now');
    INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json, label_counts_json, skipped_json, settings_json, blob_hash, created_at)
    VALUES (1, 1, 'd', '/x', 8, 8, 1, 10, '[]', '[]', '[]', '{}', 'h', 'now');`);
  launcher = new FakeLauncher();
  loss = (config, epoch) => 100 + config.latent - epoch;
  scheduler = newScheduler();
});

afterEach(() => {
  scheduler.close();
  db.close();
  dir.cleanup();
});

describe('sweep scheduler', () => {
  it('keeps the configured number of trials running and queues the next as each ends, until all have run', () => {
    createSweep({ grid: ['latent=2,3,4', 'beta=1,2'], seeds: 1, concurrency: 2 });
    expect(runs().filter((r) => r.status === 'running')).toHaveLength(2);
    expect(launcher.concurrency[0]).toBe(2);
    for (let i = 0; i < 20 && status() === 'running'; i++) advance();
    expect(status()).toBe('finished');
    expect(launcher.maxRunning).toBe(2);
    expect(runs().map((r) => [r.config.latent, r.config.beta, r.status])).toEqual([
      [2, 1, 'finished'],
      [2, 2, 'finished'],
      [3, 1, 'finished'],
      [3, 2, 'finished'],
      [4, 1, 'finished'],
      [4, 2, 'finished'],
    ]);
    expect(getSweepRecord(db, 1)!.dispatched).toBe(6);
    expect(launcher.concurrency.at(-1)).toBeNull();
    const { sweep } = sweepView(db, getSweepRecord(db, 1)!);
    expect(sweep.counts).toEqual({ active: 0, finished: 6, stopped: 0, ended: 0 });
    expect(sweep.best).toMatchObject({ runId: runs()[0]!.id, valLoss: 100 });
  });

  it('repeats each trial over seeds and runs them together', () => {
    createSweep({ grid: ['latent=2,3'], seeds: 3, concurrency: 3 }, { epochs: 1, seed: 5 });
    expect(runs().map((r) => [r.config.latent, r.config.seed])).toEqual([
      [2, 5],
      [2, 6],
      [2, 7],
    ]);
    advance();
    advance();
    expect(status()).toBe('finished');
    expect(runs()).toHaveLength(6);
  });

  it('pause holds running trials and queues nothing; resume continues; cancel stops what is active and queues nothing more', () => {
    createSweep({ grid: ['latent=2,3,4,5,6'], concurrency: 2 }, { epochs: 3 });
    advance();
    scheduler.pause(1);
    expect(status()).toBe('paused');
    expect(runs().map((r) => r.status)).toEqual(['paused', 'paused']);
    advance();
    expect(runs()).toHaveLength(2);
    scheduler.resume(1);
    expect(runs().map((r) => r.status)).toEqual(['running', 'running']);
    advance();
    advance();
    expect(runs().map((r) => r.status)).toEqual(['finished', 'finished', 'running', 'running']);
    scheduler.cancel(1);
    expect(status()).toBe('cancelled');
    expect(runs().map((r) => r.status)).toEqual(['finished', 'finished', 'cancelled', 'cancelled']);
    advance();
    expect(runs()).toHaveLength(4);
    expect(launcher.concurrency.at(-1)).toBeNull();
  });

  it('after the app restarts, resumes trials its end interrupted and goes on queueing; no planned run twice', () => {
    createSweep({ grid: ['latent=2,3,4,5'], concurrency: 2 }, { epochs: 2 });
    advance();
    // The app stops: the run manager marks training runs interrupted; the scheduler is gone.
    scheduler.close();
    for (const run of runs()) finishRun(db, run.id, 'interrupted', 'now', null);
    scheduler = newScheduler();
    expect(runs().map((r) => r.status)).toEqual(['running', 'running']);
    for (let i = 0; i < 10 && status() === 'running'; i++) advance();
    expect(status()).toBe('finished');
    expect(runs().map((r) => r.config.latent)).toEqual([2, 3, 4, 5]);
    expect(runs().every((r) => r.status === 'finished' && r.epochsDone === 2)).toBe(true);
  });

  it('a paused sweep stays paused across a restart; its interrupted trials go on when it is resumed', () => {
    createSweep({ grid: ['latent=2,3,4'], concurrency: 2 }, { epochs: 2 });
    scheduler.pause(1);
    scheduler.close();
    for (const run of runs()) finishRun(db, run.id, 'interrupted', 'now', null);
    scheduler = newScheduler();
    expect(runs().map((r) => r.status)).toEqual(['interrupted', 'interrupted']);
    scheduler.resume(1);
    for (let i = 0; i < 10 && status() === 'running'; i++) advance();
    expect(status()).toBe('finished');
    expect(runs()).toHaveLength(3);
  });

  it('a running sweep whose stored settings became unreadable does not stop the app starting: it fails saying why, queues and resumes nothing, and keeps its trials', () => {
    createSweep({ grid: ['latent=2,3,4'], concurrency: 2 }, { epochs: 2 });
    scheduler.close();
    for (const run of runs()) finishRun(db, run.id, 'interrupted', 'now', null);
    // A limit tightened since, or a hand edit: the base config no longer validates.
    db.prepare('UPDATE sweeps SET base_config_json = ? WHERE id = 1').run(JSON.stringify({ epochs: 2, latent: -3 }));
    scheduler = newScheduler();
    const record = getSweepRecord(db, 1)!;
    expect(record.status).toBe('failed');
    expect(record.error?.message).toMatch(/^Sweep 1 "s": settings unreadable: latent: .*Its trials are kept/);
    expect(runs().map((r) => r.status)).toEqual(['interrupted', 'interrupted']);
    expect(() => scheduler.resume(1)).toThrow(/Sweep 1 "s": settings unreadable/);
    expect(runs().map((r) => r.status)).toEqual(['interrupted', 'interrupted']);
    const view = sweepView(db, record, { offset: 0, limit: 10 });
    expect(view.totalTrials).toBe(2);
    expect(view.sweep).toMatchObject({ settings: [], plannedRuns: 2, unreadable: true, status: 'failed' });
    expect(view.trials.map((trial) => trial.runId)).toEqual(runs().map((r) => r.id));
    scheduler.cancel(1);
    expect(status()).toBe('cancelled');
  });

  it('median rule: stops a trial worse than the median of finished trials at the same epoch, and says why', () => {
    loss = (config, epoch) => config.latent * 10 + 10 / epoch;
    createSweep({ grid: ['latent=3,2,4,9,1'], concurrency: 1, earlyStop: 'median' }, { epochs: 3 });
    for (let i = 0; i < 30 && status() === 'running'; i++) advance();
    expect(status()).toBe('finished');
    const { trials, sweep } = sweepView(db, getSweepRecord(db, 1)!, { offset: 0, limit: 100 });
    expect(trials.map((t) => [t.settings.latent, t.status, t.epochsDone])).toEqual([
      [3, 'finished', 3],
      [2, 'finished', 3],
      [4, 'finished', 3],
      [9, 'cancelled', 1],
      [1, 'finished', 3],
    ]);
    // Median of 3, 2, 4 → latent 3: at epoch 1 its loss is 40; latent 9's is 100.
    expect(trials[3]!.stoppedEarly).toBe('median rule: best validation loss 100.00 by epoch 1 is worse than the median 40.00 of 3 finished trials by epoch 1');
    expect(sweep.counts).toEqual({ active: 0, finished: 4, stopped: 1, ended: 0 });
    expect(sweep.best?.valLoss).toBeCloseTo(10 + 10 / 3);
  });

  it('a trial stopped early is not resumed after a restart that caught it before its stop landed', () => {
    loss = (config, epoch) => config.latent * 10 + 10 / epoch;
    createSweep({ grid: ['latent=1,2,3,9'], concurrency: 1, earlyStop: 'median' }, { epochs: 3 });
    for (let i = 0; i < 9; i++) advance();
    expect(runs().map((r) => r.status)).toEqual(['finished', 'finished', 'finished', 'running']);
    // The app dies between recording the reason and the worker's stop.
    launcher.cancel = () => {};
    advance();
    expect(getSweepRecord(db, 1)!.stopped).toEqual({ [String(runs()[3]!.id)]: expect.stringMatching(/^median rule/) });
    scheduler.close();
    finishRun(db, runs()[3]!.id, 'interrupted', 'now', null);
    scheduler = newScheduler();
    expect(runs()[3]!.status).toBe('interrupted');
    expect(status()).toBe('finished');
  });

  it('successive halving: at each rung only the best 1/η of the trials that reached it go on', () => {
    loss = (config, epoch) => config.latent * 10 + 10 / epoch;
    createSweep({ grid: ['latent=1,4,2,3'], concurrency: 4, earlyStop: 'halving:eta=2' }, { epochs: 4 });
    for (let i = 0; i < 10 && status() === 'running'; i++) advance();
    const { trials } = sweepView(db, getSweepRecord(db, 1)!, { offset: 0, limit: 100 });
    expect(trials.map((t) => [t.settings.latent, t.status, t.epochsDone])).toEqual([
      [1, 'finished', 4],
      [4, 'cancelled', 1],
      [2, 'cancelled', 1],
      [3, 'cancelled', 1],
    ]);
    expect(trials[1]!.stoppedEarly).toMatch(/^successive halving: best validation loss 50.00 by epoch 1 ranks 2 of 2 trials at that rung; only the best 1 \(1\/2\) go on$/);
    // The 4th to report ranks 3 of 4: the best 2 go on, so it stops too.
    expect(trials[3]!.stoppedEarly).toMatch(/ranks 3 of 4 trials/);
  });

  it('early stopping rules on their own: grace, the final epoch, too few finished trials', () => {
    const t = (runId: number, status: string, curve: [number, number][], epochs = 5) => ({ runId, status, epochs, curve });
    const finished = [t(1, 'finished', [[1, 10], [2, 8]]), t(2, 'finished', [[1, 12], [2, 9]]), t(3, 'finished', [[1, 11], [2, 7]])];
    const median = { rule: 'median' as const, grace: 2, minFinished: 3 };
    expect(earlyStopVerdict(median, t(9, 'running', [[1, 50]]), finished)).toBeNull(); // within the grace epochs
    expect(earlyStopVerdict(median, t(9, 'running', [[1, 50], [2, 9]]), finished)).toMatch(/worse than the median 8.00 of 3/);
    expect(earlyStopVerdict(median, t(9, 'running', [[1, 50], [2, 8]]), finished)).toBeNull(); // at the median: goes on
    expect(earlyStopVerdict(median, t(9, 'running', [[1, 50], [2, 60]], 2), finished)).toBeNull(); // its last epoch
    expect(earlyStopVerdict(median, t(9, 'running', [[1, 50], [2, 60]]), finished.slice(0, 2))).toBeNull(); // 2 finished < 3
    // Best so far, not the latest: a trial that was good at epoch 1 counts that.
    expect(earlyStopVerdict({ ...median, grace: 1 }, t(9, 'running', [[1, 5], [2, 60]]), finished)).toBeNull();
    const halving = { rule: 'halving' as const, grace: 1, eta: 3 };
    expect(earlyStopVerdict(halving, t(9, 'running', [[1, 50], [2, 50]]), finished)).toBeNull(); // epoch 2 is no rung (1, 3, 9…)
    expect(earlyStopVerdict(halving, t(9, 'running', [[1, 50]]), finished)).toMatch(/ranks 4 of 4 trials at that rung; only the best 1 \(1\/3\)/);
    expect(earlyStopVerdict(halving, t(9, 'running', [[1, 9]]), finished)).toBeNull();
  });
});
