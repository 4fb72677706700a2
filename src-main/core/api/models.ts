import { resolve } from 'node:path';
import { ApiError } from '@shared/errors';
import { buildExport, writeExport } from '../models/export-model';
import { readExport, writeImport } from '../models/import-model';
import { requireDataset, requireProject, requireRun, type Context, type HandlerMap } from './context';

type ModelRequests = 'models.export' | 'models.import';

/** Export a run's model for other tools, and bring exported models back (src-shared/model-card.ts). */
export function modelHandlers(ctx: Context): HandlerMap<ModelRequests> {
  const writable = (): void => {
    if (ctx.workspace.readOnly) throw new ApiError('conflict', 'This workspace is open read-only (another VAE Studio holds it); nothing can be imported.');
  };
  return {
    'models.export': async ({ runId, checkpoint, path, format }) => {
      const run = requireRun(ctx, runId);
      const dataset = requireDataset(ctx, run.datasetId);
      const { db, blobs } = ctx.workspace;
      const { entries, card, row } = await buildExport(db, blobs, run, dataset, checkpoint, format, ctx.info.version, ctx.now());
      const written = await writeExport(entries, format, path, run.name);
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
      const bundle = await readExport(path);
      const run = writeImport(ctx.workspace.db, ctx.workspace.blobs, projectId, bundle, resolve(path), ctx.now());
      ctx.events.emit('run.status', { runId: run.id, status: run.status, run });
      return run;
    },
  };
}
