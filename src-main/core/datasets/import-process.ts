// Entry of the import child process (built to out/main/import-worker.js): decoding
// thousands of files must never stall the process that serves the UI.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePacked } from '@shared/dataset-format';
import { toApiError } from '../errors';
import { childChannel } from '../jobs/child-channel';
import { importFolder, type IndexEntry } from './import-folder';
import type { ImportReply, ImportRequest } from './import-protocol';

const channel = childChannel<ImportRequest, ImportReply>();

channel.onMessage((request) => {
  if (request.type !== 'import') return;
  void run(request).then(
    () => process.exit(0),
    (error: unknown) => {
      channel.send({ type: 'error', error: toApiError(error).toJSON() });
      setTimeout(() => process.exit(1), 50);
    },
  );
});

async function run(request: ImportRequest): Promise<void> {
  const previous = request.previous && {
    pixels: decodePacked(readFileSync(request.previous.packedPath)).pixels,
    entries: JSON.parse(readFileSync(request.previous.indexPath, 'utf8')) as IndexEntry[],
  };
  const result = await importFolder(request.folder, request.settings, (progress) => channel.send({ type: 'progress', progress }), undefined, previous);
  const stem = join(request.outDir, `import-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(`${stem}.pack`, result.packed);
    writeFileSync(`${stem}.index.json`, JSON.stringify(result.index));
  } catch (error) {
    // A full disk leaves half a file: never let it look like a result.
    rmSync(`${stem}.pack`, { force: true });
    rmSync(`${stem}.index.json`, { force: true });
    throw error;
  }
  const { packed: _packed, index: _index, ...meta } = result;
  channel.send({ type: 'result', packedPath: `${stem}.pack`, indexPath: `${stem}.index.json`, meta });
}
