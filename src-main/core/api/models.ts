import { resolve } from 'node:path';
import { ApiError } from '@shared/errors';
import { buildExport, checkExportTarget, writeExport } from '../models/export-model';
import { readExport, writeImport } from '../models/import-model';
import { requireDataset, requireProject, requireRun, type Context, type HandlerMap } from './context';
import { readableConfig } from '../store/runs';

type ModelRequests = 'models.export' | 'models.import';

/** Export a run's model for other tools, and bring exported models back (src-shared/model-card.ts). */
export function modelHandlers(ctx: Context): HandlerMap<ModelRequests> {
  const writable = (): void => {
    if (ctx.workspace.readOnly) throw new ApiError('conflict', 'This workspace is open read-only (another VAE Studio holds it); nothing can be imported.');
  };
  let importing: Promise<unknown> = Promise.resolve();
  const oneImportAtATime = <T>(task: () => Promise<T>): Promise<T> => {
    const result = importing.then(task, task);
    importing = result.catch(() => undefined);
    return result;
  };
  return {
    'models.export': async ({ runId, checkpoint, path, format, overwrite }) => {
      const run = requireRun(ctx, runId);
      readableConfig(run);
      const dataset = requireDataset(ctx, run.datasetId);
      const { db, blobs, home, pending } = ctx.workspace;
      const target = { overwrite, home, pending };
      checkExportTarget(format, path, run.name, target);
      const { entries, card, row } = await buildExport(db, blobs, run, dataset, checkpoint, format, ctx.info.version, ctx.now());
      const written = await writeExport(entries, format, path, run.name, target);
      return {
        runId,
        format,
        path: written.path,
        bytes: written.bytes,
        files: entries.map((e) => ({ path: e.path, bytes: e.data.length })),
        checkpoint: { kind: row.kind, epoch: row.epoch, step: row.step },
        card,
      };
    },
    'models.import': async ({ projectId, path }) => {
      writable();
      requireProject(ctx, projectId);
      // One import at a time: each holds its model in memory while it is checked.
      const run = await oneImportAtATime(async () => {
        const bundle = await readExport(path);
        return writeImport(ctx.workspace.db, ctx.workspace.blobs, projectId, bundle, resolve(path), ctx.now());
      });
      ctx.events.emit('run.status', { runId: run.id, status: run.status, run });
      return run;
    },
  };
}
