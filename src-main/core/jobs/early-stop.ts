import type { EarlyStop } from '@shared/sweep';

/** A trial as early stopping sees it: its status, planned epochs and validation loss per epoch. */
export interface TrialCurve {
  runId: number;
  status: string;
  epochs: number;
  /** [epoch, validation loss] in epoch order. */
  curve: readonly (readonly [number, number])[];
}

/** The lowest validation loss by epoch `e`, or null when the trial has not reached `e`. */
export function bestBy(trial: TrialCurve, e: number): number | null {
  const last = trial.curve.at(-1);
  if (!last || last[0] < e) return null;
  let best = Infinity;
  for (const [epoch, loss] of trial.curve) if (epoch <= e && loss < best) best = loss;
  return Number.isFinite(best) ? best : null;
}

const fmt = (x: number): string => x.toFixed(2);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Whether `trial`, at the last epoch it reported, should stop early; the reason in words
 * (kept on the sweep and shown in its trials table), or null to let it train on. A trial
 * in its last epoch is never stopped: it is about to finish anyway.
 */
export function earlyStopVerdict(rule: EarlyStop, trial: TrialCurve, sweep: readonly TrialCurve[]): string | null {
  const last = trial.curve.at(-1);
  if (!last) return null;
  const e = last[0];
  if (e < rule.grace || e >= trial.epochs) return null;
  const mine = bestBy(trial, e)!;
  if (rule.rule === 'median') {
    const finished = sweep.filter((t) => t.runId !== trial.runId && t.status === 'finished').map((t) => bestBy(t, e)).filter((v): v is number => v !== null);
    if (finished.length < rule.minFinished) return null;
    const m = median(finished);
    if (!(mine > m)) return null;
    return `median rule: best validation loss ${fmt(mine)} by epoch ${e} is worse than the median ${fmt(m)} of ${finished.length} finished trials by epoch ${e}`;
  }
  // Successive halving: rungs at grace·ηᵏ; only the best 1/η of the trials that reached a rung go on.
  let rung = rule.grace;
  while (rung < e) rung *= rule.eta;
  if (rung !== e) return null;
  const peers = sweep.map((t) => (t.runId === trial.runId ? mine : bestBy(t, e))).filter((v): v is number => v !== null);
  if (!sweep.some((t) => t.runId === trial.runId)) peers.push(mine);
  if (peers.length < rule.eta) return null;
  const keep = Math.floor(peers.length / rule.eta);
  const rank = 1 + peers.filter((v) => v < mine).length;
  if (rank <= keep) return null;
  return `successive halving: best validation loss ${fmt(mine)} by epoch ${e} ranks ${rank} of ${peers.length} trials at that rung; only the best ${keep} (1/${rule.eta}) go on`;
}
