import { waitingText } from '@shared/types';
import { ApiError } from '@shared/errors';
import { MAX_SWEEP_TRIALS_PAGE } from '@shared/api';
import { describeSettings, type Sweep, type SweepTrial } from '@shared/sweep';
import type { Core } from '../core/core';

type Emit = (object: Record<string, unknown>, human?: string) => void;

export interface SweepFlags {
  grid: string[];
  random: string[];
  trials?: number;
  seeds?: number;
  concurrency?: number;
  earlyStop?: string;
  sweepSeed?: number;
  name?: string;
}

const ENDED = new Set(['finished', 'cancelled', 'failed']);
const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : x.toFixed(2));

function describeTrial(t: SweepTrial): string {
  return `#${t.runId} ${t.name} (${describeSettings(t.settings)}${t.settings.seed === undefined ? `, seed ${t.seed}` : ''}): ${t.stoppedEarly ? 'stopped early' : t.waiting ? waitingText(t.waiting) : t.status}, best validation loss ${fmt(t.bestValLoss)}` + (t.stoppedEarly ? `\n      ${t.stoppedEarly}` : '');
}

function progressLine(s: Sweep): string {
  const ended = s.counts.finished + s.counts.stopped + s.counts.ended;
  return `[${ended}/${s.plannedRuns} runs ended, ${s.counts.active} active${s.counts.stopped ? `, ${s.counts.stopped} stopped early` : ''}]`;
}

function summary(s: Sweep): string {
  return (
    `Sweep #${s.id} "${s.name}" ${s.status}: ${s.counts.finished} of ${s.plannedRuns} runs finished, ${s.counts.stopped} stopped early, ${s.counts.ended} ended otherwise` +
    (s.best ? `; best: #${s.best.runId} ${s.best.name}, validation loss ${fmt(s.best.valLoss)} nats` : '') +
    (s.error ? `\n  ${s.error.message}` : '')
  );
}

/**
 * Prints a sweep's trials as they start and end until the sweep is over; Ctrl+C pauses it
 * (the trials training now stop as interrupted; `sweep resume` continues them from their
 * checkpoints and queues the rest). Exit 0 when finished, 130 when paused by Ctrl+C, 1 otherwise.
 */
/** A sweep and every one of its trials, a page at a time. */
async function sweepWithTrials(core: Core, sweepId: number): Promise<{ sweep: Sweep; trials: SweepTrial[] }> {
  const first = await core.call('sweeps.get', { sweepId, offset: 0, limit: MAX_SWEEP_TRIALS_PAGE });
  const trials = [...first.trials];
  while (trials.length < first.totalTrials) {
    const next = await core.call('sweeps.get', { sweepId, offset: trials.length, limit: MAX_SWEEP_TRIALS_PAGE });
    if (next.trials.length === 0) break;
    trials.push(...next.trials);
  }
  return { sweep: first.sweep, trials };
}

async function followSweep(core: Core, sweepId: number, emit: Emit): Promise<number> {
  const said = new Map<number, string>();
  let paused = false;
  let wake: () => void = () => {};
  const report = async (): Promise<Sweep> => {
    const { sweep, trials } = await sweepWithTrials(core, sweepId);
    for (const trial of trials) {
      const state = trial.stoppedEarly ? 'stopped' : trial.status;
      if (said.get(trial.runId) === state || trial.status === 'queued') continue;
      said.set(trial.runId, state);
      emit({ type: 'trial', sweepId, trial }, `  ${progressLine(sweep)} ${describeTrial(trial)}`);
    }
    return sweep;
  };
  const unsubscribe = core.subscribe((m) => {
    if ((m.event === 'run.status' && m.payload.run.sweepId === sweepId) || (m.event === 'sweep.status' && m.payload.sweepId === sweepId)) wake();
  });
  const pause = (): void => {
    paused = true;
    void core.call('sweeps.pause', { sweepId }).catch(() => {}).finally(() => wake());
  };
  process.once('SIGINT', pause);
  try {
    for (;;) {
      const changed = new Promise<void>((resolve) => (wake = resolve));
      const sweep = await report();
      if (ENDED.has(sweep.status) || (paused && sweep.status === 'paused')) {
        emit({ type: 'result', command: 'sweep', sweep }, paused ? `${summary(sweep)}\nPaused: \`vae-studio sweep resume ${sweepId}\` continues it.` : summary(sweep));
        return sweep.status === 'finished' ? 0 : paused ? 130 : 1;
      }
      await changed;
    }
  } finally {
    process.off('SIGINT', pause);
    unsubscribe();
  }
}

function sweepIdArg(raw: string | undefined, usage: string): number {
  const id = Number(raw);
  if (!raw || !Number.isInteger(id) || id <= 0) throw new ApiError('invalid_input', `sweep ${usage} needs a sweep id: vae-studio sweep ${usage} <id>`, { field: 'sweep' });
  return id;
}

/** `vae-studio sweep --dataset D --grid … --random … [run settings]`, or `sweep status|pause|resume|cancel <id>`. */
export async function cmdSweep(
  core: Core,
  positionals: string[],
  start: { projectId: () => Promise<number>; datasetId: () => Promise<number>; config: Record<string, unknown>; flags: SweepFlags },
  emit: Emit,
): Promise<number> {
  const [action, raw] = positionals;
  if (action === undefined) {
    const projectId = await start.projectId();
    const sweep = await core.call('sweeps.create', {
      projectId,
      datasetId: await start.datasetId(),
      name: start.flags.name,
      config: start.config,
      grid: start.flags.grid,
      random: start.flags.random,
      trials: start.flags.trials,
      seeds: start.flags.seeds,
      concurrency: start.flags.concurrency,
      earlyStop: start.flags.earlyStop,
      sweepSeed: start.flags.sweepSeed,
    });
    emit(
      { type: 'started', sweepId: sweep.id, sweep },
      `Sweep #${sweep.id} "${sweep.name}" on "${sweep.datasetName}": ${sweep.trials} trials × ${sweep.seeds} seed${sweep.seeds > 1 ? 's' : ''} = ${sweep.plannedRuns} runs over ${sweep.settings.join(', ')}, ` +
        `${sweep.concurrency} at once${sweep.earlyStop ? `, early stopping: ${sweep.earlyStop.rule}` : ''}. Ctrl+C pauses it.`,
    );
    return followSweep(core, sweep.id, emit);
  }
  if (action === 'status' || action === 'list') {
    if (raw === undefined) {
      const sweeps = await core.call('sweeps.list', {});
      emit({ type: 'result', command: 'sweep status', sweeps }, sweeps.length ? sweeps.map((s) => `#${s.id}\t${s.name}\t${s.status}\t${progressLine(s)}`).join('\n') : 'No sweeps yet.');
      return 0;
    }
    const { sweep, trials } = await sweepWithTrials(core, sweepIdArg(raw, 'status'));
    emit({ type: 'result', command: 'sweep status', sweep, trials }, [summary(sweep), ...trials.map((t) => `  ${describeTrial(t)}`)].join('\n'));
    return 0;
  }
  if (action === 'pause' || action === 'cancel') {
    const sweep = await core.call(action === 'pause' ? 'sweeps.pause' : 'sweeps.cancel', { sweepId: sweepIdArg(raw, action) });
    emit({ type: 'result', command: `sweep ${action}`, sweep }, summary(sweep));
    return 0;
  }
  if (action === 'resume') {
    const sweep = await core.call('sweeps.resume', { sweepId: sweepIdArg(raw, 'resume') });
    emit({ type: 'started', sweepId: sweep.id, sweep }, `Resuming sweep #${sweep.id} "${sweep.name}" ${progressLine(sweep)}. Ctrl+C pauses it.`);
    return followSweep(core, sweep.id, emit);
  }
  throw new ApiError('invalid_input', `Unknown sweep action "${action}": use status, pause, resume or cancel <id>, or start one with --dataset and --grid/--random`, { field: 'command' });
}
