import type { ParsedInput, RequestName, RequestOutput } from '@shared/api';
import { ApiError } from '@shared/errors';
import type { AppInfo, Dataset, Project, Run } from '@shared/types';
import type { ImportRunner } from '../datasets/import-runner';
import type { EventBus } from '../events';
import type { ModelSessions } from '../jobs/model-sessions';
import type { RunManager } from '../jobs/run-manager';
import type { RedisSettings } from '../jobs/remote/redis-config';
import type { RemoteSwitch } from '../jobs/remote/remote-dispatcher';
import type { SweepScheduler } from '../jobs/sweep-scheduler';
import { getDataset } from '../store/datasets';
import { getProject } from '../store/projects';
import { getRun } from '../store/runs';
import type { Workspace } from '../workspace/workspace';

/** What every handler module gets: the workspace, the event bus, and long-running services. */
export interface Context {
  workspace: Workspace;
  events: EventBus;
  runs: RunManager;
  /** Sweeps: queues their trials through `runs`, stops poor ones early. */
  sweeps: SweepScheduler;
  /** Trained models open in worker processes (Explore, Inpaint). */
  models: ModelSessions;
  importer: ImportRunner;
  /** Running imports by job id, for cancellation. */
  imports: Map<string, AbortController>;
  info: AppInfo;
  /** Where runs are sent (remote/): the switch, and the command line's --redis that overrides the saved URL. */
  remote: { switch: RemoteSwitch; flag: RedisSettings | null };
  now(): string;
}

export type HandlerMap<N extends RequestName> = { [K in N]: (input: ParsedInput<K>) => Promise<RequestOutput<K>> };

export function requireProject(ctx: Context, id: number, field = 'projectId'): Project {
  const project = getProject(ctx.workspace.db, id);
  if (!project) throw new ApiError('not_found', `Project ${id} does not exist`, { field });
  return project;
}

export function requireDataset(ctx: Context, id: number, field = 'datasetId'): Dataset {
  const dataset = getDataset(ctx.workspace.db, id);
  if (!dataset) throw new ApiError('not_found', `Dataset ${id} does not exist`, { field });
  return dataset;
}

export function requireRun(ctx: Context, id: number): Run {
  const run = getRun(ctx.workspace.db, id);
  if (!run) throw new ApiError('not_found', `Run ${id} does not exist`, { field: 'runId' });
  return ctx.runs.view(run);
}
