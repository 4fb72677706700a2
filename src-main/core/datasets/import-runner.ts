import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodePacked } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import type { SpawnWorker } from '../jobs/spawn';
import { openConnection } from '../jobs/worker-connection';
import { importFolder, type IndexEntry, type ProgressSink } from './import-folder';
import { IMPORT_PROTOCOL_VERSION, type ImportAck, type ImportMeta, type ImportReply, type ImportRequest } from './import-protocol';

export interface ImportOutput {
  meta: ImportMeta;
  /** Paths of the packed file and index JSON in the blob store's temp folder. */
  packedPath: string;
  indexPath: string;
}

export type ImportRunner = (request: ImportRequest, onProgress: ProgressSink, signal: AbortSignal) => Promise<ImportOutput>;

/** Runs an import in a child process; cancelling kills the child, which has written nothing yet. */
export function childProcessImporter(spawn: SpawnWorker, entry: string): ImportRunner {
  return (request, onProgress, signal) =>
    new Promise<ImportOutput>((resolve, reject) => {
      // No watchdog: decoding a large file may hold the child's event loop (it has no heartbeat).
      const child = openConnection<ImportRequest | ImportAck, ImportReply>(spawn, entry, {
        name: 'import',
        version: IMPORT_PROTOCOL_VERSION,
        job: request,
        heartbeatTimeoutMs: null,
      });
      let settled = false;
      const finish = (fn: () => void, kept = false): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        // A child killed while writing its result leaves half a file; it was never announced, so delete it.
        if (!kept) removeOutputsOf(request.outDir, child.pid);
        fn();
      };
      const onAbort = (): void => {
        child.kill();
        finish(() => reject(new ApiError('cancelled', `Import of ${request.folder} was cancelled; nothing was saved.`)));
      };
      signal.addEventListener('abort', onAbort);
      child.onMessage((reply) => {
        if (reply.type === 'progress') {
          onProgress(reply.progress);
          return;
        }
        if (settled || reply.type === 'hello') return;
        if (reply.type === 'error') {
          child.send({ type: 'ack' });
          finish(() => reject(ApiError.from(reply.error)));
          return;
        }
        let meta: ImportMeta;
        try {
          meta = JSON.parse(readFileSync(reply.metaPath, 'utf8')) as ImportMeta;
        } catch (error) {
          child.kill();
          finish(() => reject(new ApiError('worker_failed', `The import process of ${request.folder} left an unreadable result (${String(error)}); nothing was saved. Import the folder again.`)));
          return;
        }
        rmSync(reply.metaPath, { force: true });
        child.send({ type: 'ack' });
        finish(() => resolve({ meta, packedPath: reply.packedPath, indexPath: reply.indexPath }), true);
      });
      void child.ended.then(({ reason }) => {
        // Refused (a child of another build) says so; any other end before a reply is unexpected.
        const error =
          reason.kind === 'reported' && reason.error
            ? ApiError.from(reason.error)
            : new ApiError('worker_failed', `The import process of ${request.folder} ended unexpectedly (${reason.how}); nothing was saved.`, { stderr: reason.details.stderr });
        finish(() => reject(error));
      });
    });
}

/** The import child names its files `import-<pid>-…` (import-process.ts). */
function removeOutputsOf(dir: string, pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    for (const name of readdirSync(dir)) if (name.startsWith(`import-${pid}-`)) rmSync(join(dir, name), { force: true });
  } catch {
    // The folder is gone: nothing to remove.
  }
}

/** Same work in this process (tests, and where no child entry is built). */
export function inProcessImporter(writeTemp: (bytes: Uint8Array, suffix: string) => string): ImportRunner {
  return async (request, onProgress, signal) => {
    const previous = request.previous && {
      pixels: decodePacked(readFileSync(request.previous.packedPath)).pixels,
      entries: JSON.parse(readFileSync(request.previous.indexPath, 'utf8')) as IndexEntry[],
    };
    const result = await importFolder(request.folder, request.settings, onProgress, signal, previous);
    const { packed, index, ...meta } = result;
    const packedPath = writeTemp(packed, '.pack');
    try {
      return { meta, packedPath, indexPath: writeTemp(Buffer.from(JSON.stringify(index)), '.index.json') };
    } catch (error) {
      rmSync(packedPath, { force: true });
      throw error;
    }
  };
}
