import { runConfigSchema } from '@shared/config';
import { ApiError } from '@shared/errors';
import { describeSettings, expandSweep, parseSweep, plannedInput, SweepError, type Sweep, type StoredPlanEntry } from '@shared/sweep';
import type { TrialLauncher } from '../jobs/sweep-scheduler';
import { insertRun } from '../store/runs';
import { countDispatched, countSweepsInProject, getSweepRecord, insertSweep, sweepIds, sweepView, type SweepRecord, type TrialPage } from '../store/sweeps';
import { checkNewRun, queueNewRun, resumeRun } from './runs';
import type { Context, HandlerMap } from './context';

type SweepRequests = 'sweeps.create' | 'sweeps.list' | 'sweeps.get' | 'sweeps.pause' | 'sweeps.resume' | 'sweeps.cancel';

/** A trial's run name: the sweep's, its trial and (with seeds) its repeat. */
const trialName = (sweep: SweepRecord, entry: StoredPlanEntry, seeds: number): string =>
  `${sweep.name} · t${entry.trial + 1}${seeds > 1 ? `s${entry.repeat + 1}` : ''}`;

/** The scheduler's hands in the app: trials are runs, queued and stopped by the run manager. */
export function trialLauncher(context: () => Context): TrialLauncher {
  return {
    launch(sweep, entry) {
      const ctx = context();
      const { db } = ctx.workspace;
      const config = runConfigSchema.parse(plannedInput(sweep.baseConfig, entry, sweep.request.seeds));
      const { stored } = checkNewRun(ctx, sweep.projectId, sweep.datasetId, config);
      const run = db.transaction(() => {
        const inserted = insertRun(
          db,
          { projectId: sweep.projectId, datasetId: sweep.datasetId, name: trialName(sweep, entry, sweep.request.seeds), configJson: JSON.stringify(stored), sweepId: sweep.id },
          ctx.now(),
        );
        countDispatched(db, sweep.id);
        return inserted;
      })();
      queueNewRun(ctx, run);
    },
    cancel: (runId) => context().runs.cancel(runId),
    pause: (runId) => context().runs.pause(runId),
    unpause: (runId) => context().runs.unpause(runId),
    resume: (runId) => resumeRun(context(), runId),
    requestConcurrency: (owner, runs) => context().runs.requestConcurrency(owner, runs),
  };
}

export function sweepHandlers(ctx: Context): HandlerMap<SweepRequests> {
  const { db } = ctx.workspace;
  const view = (sweepId: number, page?: TrialPage): ReturnType<typeof sweepView> => {
    const record = getSweepRecord(db, sweepId);
    if (!record) throw new ApiError('not_found', `Sweep ${sweepId} does not exist`, { field: 'sweepId' });
    return sweepView(db, record, page);
  };
  const requireStatus = (sweepId: number, allowed: Sweep['status'][], doing: string): void => {
    const { sweep } = view(sweepId);
    if (!allowed.includes(sweep.status)) {
      throw new ApiError('conflict', `Sweep ${sweepId} is ${sweep.status}; only a ${allowed.join(' or ')} sweep can be ${doing}`, { field: 'sweepId' });
    }
  };
  return {
    'sweeps.create': async ({ projectId, datasetId, name, config, ...request }) => {
      let planned;
      try {
        planned = expandSweep(parseSweep(request), config);
      } catch (error) {
        if (error instanceof SweepError) throw new ApiError('invalid_input', error.message, { field: error.field });
        throw error;
      }
      // Every trial is checked against the dataset before anything is stored.
      const dataset = checkNewRun(ctx, projectId, datasetId, config).dataset;
      if (request.earlyStop !== undefined && parseSweep(request).earlyStop !== null && dataset.splitCounts.validation === 0) {
        throw new ApiError(
          'invalid_input',
          `Early stopping judges trials on validation loss, and "${dataset.name}" has no validation images. Re-import it with a validation share, or leave early stopping off.`,
          { field: 'earlyStop' },
        );
      }
      for (const run of planned) {
        try {
          checkNewRun(ctx, projectId, datasetId, run.config);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          throw new ApiError(error.code, `Trial ${run.trial + 1} (${describeSettings(run.settings)}): ${error.message}`, { field: error.details?.field ?? 'grid' });
        }
      }
      const sweepName = name ?? `sweep-${countSweepsInProject(db, projectId) + 1}`;
      const plan: StoredPlanEntry[] = planned.map(({ trial, repeat, settings }) => ({ trial, repeat, settings }));
      const sweepId = insertSweep(
        db,
        { projectId, datasetId: dataset.id, name: sweepName, requestJson: JSON.stringify(request), baseConfigJson: JSON.stringify(config), plan },
        ctx.now(),
      );
      ctx.events.emit('sweep.status', { sweepId, status: 'running' });
      ctx.sweeps.started(sweepId);
      return view(sweepId).sweep;
    },
    'sweeps.list': async ({ projectId }) => sweepIds(db, projectId === undefined ? {} : { projectId }).map((id) => view(id).sweep),
    'sweeps.get': async ({ sweepId, offset, limit }) => view(sweepId, { offset, limit }),
    'sweeps.pause': async ({ sweepId }) => {
      requireStatus(sweepId, ['running'], 'paused');
      ctx.sweeps.pause(sweepId);
      return view(sweepId).sweep;
    },
    'sweeps.resume': async ({ sweepId }) => {
      requireStatus(sweepId, ['paused', 'failed'], 'resumed');
      ctx.sweeps.resume(sweepId);
      return view(sweepId).sweep;
    },
    'sweeps.cancel': async ({ sweepId }) => {
      requireStatus(sweepId, ['running', 'paused', 'failed'], 'cancelled');
      ctx.sweeps.cancel(sweepId);
      return view(sweepId).sweep;
    },
  };
}
