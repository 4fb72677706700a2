// Entry of the import child process (built to out/main/import-worker.js): decoding
// thousands of files must never stall the process that serves the UI.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePacked } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import { toApiError } from '../errors';
import { childChannel } from '../jobs/child-channel';
import { holdsWorkspaceLock } from '../workspace/lock';
import { importFolder, type IndexEntry } from './import-folder';
import { IMPORT_PROTOCOL_VERSION, type ImportAck, type ImportReply, type ImportRequest } from './import-protocol';

/** How long the child waits for the core to take its reply before it exits anyway. */
const ACK_TIMEOUT_MS = 60_000;
/** How often a child whose event loop runs looks for its parent (kill -9 closes no channel under utilityProcess). */
const PARENT_CHECK_MS = 200;

const channel = childChannel<ImportRequest | ImportAck, ImportReply>(IMPORT_PROTOCOL_VERSION);
const parentPid = process.ppid;

/** Re-parented means the app died (kill -9): an orphan must stop, and write nothing. */
function exitIfOrphaned(): void {
  if (process.ppid !== parentPid) process.exit(1);
}
setInterval(exitIfOrphaned, PARENT_CHECK_MS).unref();

let exitCode: number | null = null;
/** Exits once the core acknowledged the reply: a reply still in flight would die with the process. */
function exitAfterAck(code: number): void {
  exitCode = code;
  setTimeout(() => process.exit(code), ACK_TIMEOUT_MS);
}

channel.onMessage((message) => {
  if (message.type === 'ack') {
    if (exitCode !== null) process.exit(exitCode);
    return;
  }
  if (message.type !== 'import') return;
  void run(message).then(
    () => exitAfterAck(0),
    (error: unknown) => {
      exitIfOrphaned();
      channel.send({ type: 'error', error: toApiError(error).toJSON() });
      exitAfterAck(1);
    },
  );
});

/**
 * The child may write into the workspace's temp folder only while the instance that
 * asked still holds the workspace: once it died, a new one may have taken over and
 * swept that folder, and a file written after that would stay until its next start.
 */
function requireWorkspace(request: ImportRequest): void {
  if (process.ppid !== parentPid || (request.lock && !holdsWorkspaceLock(request.lock.path, request.lock.token))) {
    throw new ApiError(
      'conflict',
      `The import of ${request.folder} stopped: the VAE Studio that started it no longer holds the workspace (it was closed, or another instance took over); nothing was written. Import the folder again.`,
      { field: 'folder' },
    );
  }
}

async function run(request: ImportRequest): Promise<void> {
  const previous = request.previous && {
    pixels: decodePacked(readFileSync(request.previous.packedPath)).pixels,
    entries: JSON.parse(readFileSync(request.previous.indexPath, 'utf8')) as IndexEntry[],
  };
  const progress = (p: Parameters<Parameters<typeof importFolder>[2]>[0]): void => channel.send({ type: 'progress', progress: p });
  const result = await importFolder(request.folder, request.settings, progress, undefined, previous, exitIfOrphaned);
  const { packed, index, ...meta } = result;
  const stem = join(request.outDir, `import-${process.pid}-${randomBytes(4).toString('hex')}`);
  const paths = { packedPath: `${stem}.pack`, indexPath: `${stem}.index.json`, metaPath: `${stem}.meta.json` };
  const removeAll = (): void => Object.values(paths).forEach((path) => rmSync(path, { force: true }));
  requireWorkspace(request);
  try {
    writeFileSync(paths.packedPath, packed);
    writeFileSync(paths.indexPath, JSON.stringify(index));
    writeFileSync(paths.metaPath, JSON.stringify(meta));
    // Checked again once written: a new holder sweeps the temp folder after it takes the
    // lock, so files written before this check are swept, and after a failed one removed here.
    requireWorkspace(request);
  } catch (error) {
    // A full disk leaves half a file: never let it look like a result.
    removeAll();
    throw error;
  }
  channel.send({ type: 'result', ...paths });
}

// Listening: the core sends the request once it hears this.
channel.send({ type: 'hello', pid: process.pid });
