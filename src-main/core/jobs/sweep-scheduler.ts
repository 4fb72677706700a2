import { parseSweep, type StoredPlanEntry } from '@shared/sweep';
import { ApiError } from '@shared/errors';
import { toApiError } from '../errors';
import type { EventBus } from '../events';
import type { Db } from '../store/db';
import { activeTrialCount, getRun, trialStatusesOfSweep } from '../store/runs';
import { getSweepRecord, recordStoppedEarly, setHeld, setSweepStatus, sweepBestsAt, sweepIds, trialValLosses, type SweepRecord } from '../store/sweeps';
import { earlyStopVerdict, type TrialCurve } from './early-stop';

/**
 * How the scheduler acts on runs: through the run manager in the app (api/sweeps.ts),
 * a fake in the scheduler's tests.
 */
export interface TrialLauncher {
  /** Validate, store (with the sweep's dispatched count, in one transaction) and queue plan entry `index`. */
  launch(sweep: SweepRecord, entry: StoredPlanEntry, index: number): void;
  cancel(runId: number): void;
  /** Hold a training run; false when it has no live worker. */
  pause(runId: number): boolean;
  unpause(runId: number): boolean;
  /** Queue an ended run again from its last checkpoint. */
  resume(runId: number): void;
  requestConcurrency(owner: string, runs: number | null): void;
}

const ACTIVE = new Set(['queued', 'running', 'paused']);

/**
 * Queues each sweep's planned runs, `concurrency` at a time, as trials end; stops poor
 * trials early (median rule or successive halving on validation loss), recording why;
 * pauses, resumes and cancels a whole sweep. Everything it decides from is in the
 * database (the sweep's plan, its dispatched count, its trials' statuses and metrics),
 * so after the app restarts `recover` carries on where it was.
 */
export class SweepScheduler {
  private unsubscribe: (() => void) | null = null;
  private readonly ticking = new Set<number>();
  private readonly again = new Set<number>();
  /** The last epoch each trial was judged at. */
  private readonly judged = new Map<number, number>();

  constructor(
    private readonly options: { db: Db; events: EventBus; launcher: TrialLauncher; now: () => string },
  ) {}

  /** Follow trial runs' statuses; carry on with sweeps left running when the app last stopped. */
  recover(): void {
    this.unsubscribe ??= this.options.events.subscribe((message) => {
      if (message.event !== 'run.status' || message.payload.run.sweepId === undefined) return;
      const { run } = message.payload;
      if (run.status === 'running') this.judge(run.sweepId!, run.id, run.epochsDone);
      else if (!ACTIVE.has(run.status)) this.tick(run.sweepId!);
    });
    for (const id of sweepIds(this.options.db, { status: 'running' })) {
      // Trials the app's stop interrupted go on from their checkpoints.
      const record = getSweepRecord(this.options.db, id)!;
      if (record.unreadable !== undefined) {
        // It cannot plan or judge: it ends, saying why, and its trials stay as they are.
        setSweepStatus(this.options.db, id, 'failed', this.options.now(), record.error);
        continue;
      }
      for (const run of trialStatusesOfSweep(this.options.db, id)) {
        if (run.status === 'interrupted' && !(String(run.id) in record.stopped)) this.resumeTrial(id, run.id);
      }
      this.tick(id);
    }
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Start queueing a new sweep's trials. */
  started(sweepId: number): void {
    this.tick(sweepId);
  }

  pause(sweepId: number): void {
    const { db, launcher } = this.options;
    setSweepStatus(db, sweepId, 'paused', null);
    launcher.requestConcurrency(owner(sweepId), null);
    const held: number[] = [];
    for (const run of trialStatusesOfSweep(db, sweepId)) {
      if (run.status === 'queued') {
        held.push(run.id);
        setHeld(db, sweepId, held);
        this.safely(sweepId, () => launcher.cancel(run.id));
      } else if (run.status === 'running') {
        launcher.pause(run.id);
      }
    }
    this.emit(sweepId);
  }

  resume(sweepId: number): void {
    const { db, launcher } = this.options;
    const record = getSweepRecord(db, sweepId)!;
    if (record.unreadable !== undefined) throw new ApiError('invalid_input', record.unreadable, { field: 'sweepId' });
    setSweepStatus(db, sweepId, 'running', null);
    for (const run of trialStatusesOfSweep(db, sweepId)) {
      if (String(run.id) in record.stopped) continue;
      if (run.status === 'paused') launcher.unpause(run.id);
      else if (run.status === 'interrupted' || (record.held.includes(run.id) && !ACTIVE.has(run.status) && run.status !== 'finished')) this.resumeTrial(sweepId, run.id);
    }
    setHeld(db, sweepId, []);
    this.emit(sweepId);
    this.tick(sweepId);
  }

  cancel(sweepId: number): void {
    const { db, launcher } = this.options;
    setSweepStatus(db, sweepId, 'cancelled', this.options.now());
    launcher.requestConcurrency(owner(sweepId), null);
    for (const run of trialStatusesOfSweep(db, sweepId)) if (ACTIVE.has(run.status)) this.safely(sweepId, () => launcher.cancel(run.id));
    this.emit(sweepId);
  }

  /** Queue trials up to the sweep's concurrency; mark it finished once every planned run has ended. */
  tick(sweepId: number): void {
    if (this.ticking.has(sweepId)) {
      // Queueing a trial emits its status, which lands here again: once the outer round ends.
      this.again.add(sweepId);
      return;
    }
    this.ticking.add(sweepId);
    try {
      do {
        this.again.delete(sweepId);
        this.round(sweepId);
      } while (this.again.has(sweepId));
    } finally {
      this.ticking.delete(sweepId);
    }
  }

  private round(sweepId: number): void {
    const { db, launcher } = this.options;
    const record = getSweepRecord(db, sweepId);
    if (!record || record.status !== 'running' || record.unreadable !== undefined) return;
    const concurrency = record.request.concurrency;
    let active = activeTrialCount(db, sweepId);
    let dispatched = record.dispatched;
    if (dispatched < record.plan.length) launcher.requestConcurrency(owner(sweepId), concurrency);
    while (active < concurrency && dispatched < record.plan.length) {
      try {
        launcher.launch(record, record.plan[dispatched]!, dispatched);
      } catch (error) {
        // A trial that cannot be queued (its dataset deleted): the sweep fails, saying why.
        const shape = toApiError(error).toJSON();
        setSweepStatus(db, sweepId, 'failed', this.options.now(), { ...shape, message: `Trial ${dispatched + 1} could not be queued: ${shape.message}` });
        launcher.requestConcurrency(owner(sweepId), null);
        this.emit(sweepId);
        return;
      }
      dispatched++;
      active++;
    }
    if (dispatched >= record.plan.length && active === 0) {
      setSweepStatus(db, sweepId, 'finished', this.options.now());
      launcher.requestConcurrency(owner(sweepId), null);
      this.emit(sweepId);
    }
  }

  /** Early stopping of a training trial at a new epoch. */
  private judge(sweepId: number, runId: number, epoch: number): void {
    if (epoch <= 0 || this.judged.get(runId) === epoch) return;
    this.judged.set(runId, epoch);
    const { db } = this.options;
    const record = getSweepRecord(db, sweepId);
    if (!record || record.status !== 'running' || record.unreadable !== undefined || String(runId) in record.stopped) return;
    const rule = parseSweep(record.request).earlyStop;
    if (!rule) return;
    // Only what the verdict compares: the trial's own curve, and each other trial's
    // lowest loss by the epoch the trial reached (its best by then stands for its curve).
    const run = getRun(db, runId);
    if (!run || run.sweepId !== sweepId) return;
    const curve = trialValLosses(db, runId);
    const e = curve.at(-1)?.[0];
    if (e === undefined) return;
    const trial: TrialCurve = { runId, status: run.status, epochs: run.config.epochs, curve };
    const trials: TrialCurve[] = sweepBestsAt(db, sweepId, e, rule.rule === 'median')
      .filter((peer) => peer.runId !== runId)
      .map((peer) => ({ runId: peer.runId, status: peer.status, epochs: 0, curve: [[e, peer.best]] }));
    trials.push(trial);
    const reason = earlyStopVerdict(rule, trial, trials);
    if (reason === null) return;
    // Recorded before the stop, so a trial the app's end interrupts meanwhile is not resumed.
    recordStoppedEarly(db, sweepId, runId, reason);
    this.safely(sweepId, () => this.options.launcher.cancel(runId));
  }

  private resumeTrial(sweepId: number, runId: number): void {
    this.safely(sweepId, () => this.options.launcher.resume(runId));
  }

  private safely(sweepId: number, act: () => void): void {
    try {
      act();
    } catch (error) {
      console.error(`sweep ${sweepId}:`, toApiError(error).message);
    }
  }

  private emit(sweepId: number): void {
    const record = getSweepRecord(this.options.db, sweepId);
    if (record) this.options.events.emit('sweep.status', { sweepId, status: record.status });
  }
}

const owner = (sweepId: number): string => `sweep ${sweepId}`;
