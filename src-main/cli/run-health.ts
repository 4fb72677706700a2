import type { RequestOutput } from '@shared/api';
import { ApiError } from '@shared/errors';
import { MAX_RUN_HEALTH_PAGE, SCORE_MEANING, type RunHealthEvent, type RunHealthImage, type RunHealthScore } from '@shared/run-health';
import type { Core } from '../core/core';
import { findDataset } from './health';

export interface RunHealthFlags {
  dataset?: string;
  project?: string;
  run: string;
  top?: number;
  score?: string;
  k?: number;
  rescore?: boolean;
}

const SCORES: readonly RunHealthScore[] = ['atypical', 'complexity', 'elbo', 'iwae', 'label'];

function describe(item: RunHealthImage): string {
  return `  ${item.path ?? `#${item.index}`} (${item.split}${item.label ? `, ${item.label}` : ''}): ${item.reason}`;
}

/**
 * `vae-studio health --dataset D --run R [--top N] [--score S] [--k K] [--rescore]`:
 * the run's ranking of the dataset's images (scoring them first when the run has not,
 * or when asked again), the first N of each score or of one. Ctrl+C stops the scoring.
 */
export async function cmdRunHealth(
  core: Core,
  flags: RunHealthFlags,
  emit: (object: Record<string, unknown>, human?: string) => void,
): Promise<void> {
  const runId = Number(flags.run);
  if (!Number.isInteger(runId) || runId < 1) throw new ApiError('invalid_input', `--run must be a run id (a whole number), got "${flags.run}"`, { field: 'run' });
  const top = flags.top ?? 10;
  if (!Number.isInteger(top) || top < 0 || top > 100_000) throw new ApiError('invalid_input', `--top must be a whole number from 0 to 100000, got ${top}`, { field: 'top' });
  if (flags.score !== undefined && !(SCORES as readonly string[]).includes(flags.score)) {
    throw new ApiError('invalid_input', `--score must be one of ${SCORES.join(', ')}, got "${flags.score}"`, { field: 'score' });
  }
  if (flags.k !== undefined && (!Number.isInteger(flags.k) || flags.k < 0 || flags.k > 5000)) {
    throw new ApiError('invalid_input', `--k must be a whole number of importance samples from 0 (no IWAE column) to 5000, got ${flags.k}`, { field: 'k' });
  }
  const run = await core.call('runs.get', { runId });
  if (flags.dataset !== undefined) {
    const dataset = await findDataset(core, flags.dataset, flags.project);
    if (dataset.id !== run.datasetId) {
      throw new ApiError('invalid_input', `Run #${runId} was trained on dataset #${run.datasetId} ("${run.datasetName}"), not on "${dataset.name}": give that dataset or another run.`, {
        field: 'run',
      });
    }
  }
  let answer = await core.call('runs.health', { runId, limit: 1 });
  if (!answer.computed || flags.rescore) {
    let outcome: RunHealthEvent | null = null;
    let shownTenth = -1;
    const unsubscribe = core.subscribe((m) => {
      if (m.event !== 'run.health' || m.payload.runId !== runId) return;
      const p = m.payload;
      if (p.state === 'progress') {
        const tenth = p.total > 0 ? Math.floor((10 * p.done) / p.total) : 0;
        emit({ type: 'progress', ...p }, tenth > shownTenth || p.phase !== 'scoring' ? `  ${p.phase}: ${p.done}/${p.total}` : undefined);
        if (p.phase === 'scoring') shownTenth = Math.max(shownTenth, tenth);
      } else if (p.state !== 'started') outcome = p;
    });
    const stop = (): void => void core.call('runs.cancelHealth', { runId });
    try {
      const started = await core.call('runs.scoreHealth', { runId, ...(flags.k === undefined ? {} : { iwaeSamples: flags.k }) });
      process.once('SIGINT', stop);
      emit(
        { type: 'started', command: 'health', ...started },
        `Scoring every image of "${run.datasetName}" with run #${runId} (${started.checkpoint.kind} checkpoint, epoch ${started.checkpoint.epoch}${started.iwaeSamples ? `, IWAE k = ${started.iwaeSamples}` : ''})…`,
      );
      await core.runs.healthSettled(runId);
    } finally {
      process.off('SIGINT', stop);
      unsubscribe();
    }
    const settled = outcome as RunHealthEvent | null;
    if (settled?.state === 'failed') throw new ApiError(settled.error.code as never, settled.error.message);
    if (settled?.state !== 'finished') throw new ApiError('cancelled', `The health scoring of run #${runId} was stopped; the scores it had (if any) are kept.`, { field: 'run' });
    answer = await core.call('runs.health', { runId, limit: 1 });
  }
  if (!answer.computed) throw new ApiError('internal', `The health scores of run #${runId} were computed but cannot be read back.`);
  const summary = answer.summary;
  const scores = flags.score ? [flags.score as RunHealthScore] : SCORES.filter((s) => (s !== 'iwae' || summary.iwaeSamples > 0) && (s !== 'label' || summary.labelSource !== null));
  const rankings: Partial<Record<RunHealthScore, { total: number; items: RunHealthImage[] }>> = {};
  for (const score of scores) {
    const items: RunHealthImage[] = [];
    let total = 0;
    do {
      const page: RequestOutput<'runs.health'> = await core.call('runs.health', { runId, score, offset: items.length, limit: Math.max(1, Math.min(MAX_RUN_HEALTH_PAGE, top - items.length)) });
      if (!page.computed) break;
      total = page.total;
      if (top === 0) break;
      items.push(...page.items);
      if (page.items.length === 0) break;
    } while (items.length < Math.min(top, total));
    rankings[score] = { total, items };
  }
  const f = (v: number | null): string => (v === null ? '–' : v.toFixed(3));
  const human = [
    `Health of "${run.datasetName}" with run #${runId} (${summary.count} images, epoch ${summary.checkpoint.epoch}, scored in ${summary.seconds} s):`,
    `  mean −ELBO (bits/dim): train ${f(summary.meanElbo.train)}, validation ${f(summary.meanElbo.validation)}, test ${f(summary.meanElbo.test)}`,
    ...(summary.labelSource ? [`  label check by ${summary.labelSource}: accuracy ${f(summary.labelAccuracy)} against the folder labels`] : []),
    ...Object.entries(rankings).map(([score, r]) => `${SCORE_MEANING[score as RunHealthScore]}\nWorst ${r.items.length} of ${r.total}:\n${r.items.map(describe).join('\n')}`),
  ].join('\n');
  emit({ type: 'result', command: 'health', runId, datasetId: run.datasetId, summary, rankings }, human);
}
