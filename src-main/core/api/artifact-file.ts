import { statSync } from 'node:fs';
import type { AppInfo, Artifact } from '@shared/types';
import { getArtifact, type ArtifactRow } from '../store/artifacts';
import type { Workspace } from '../workspace/workspace';

/**
 * A run's images by address, for every adapter: web mode serves them at `artifacts/<id>`
 * (GET, behind the session's token), the desktop app at `vae-studio-artifact://artifact/<id>`
 * (a privileged scheme of its own, electron/artifact-protocol.ts). Which id is valid, which
 * file it names and how much of it is read is decided here, once.
 */
export const ARTIFACT_SCHEME = 'vae-studio-artifact';
/** The host part of the desktop app's artifact URLs (a standard scheme needs one). */
export const ARTIFACT_HOST = 'artifact';
/** The largest image answered: sample grids are a few hundred KiB; a bigger file is refused before it is read. */
export const MAX_ARTIFACT_BYTES = 16 * 1024 * 1024;

/** Where the renderer finds an artifact in this mode (the CLI has no renderer: the web form). */
export function artifactUrl(mode: AppInfo['mode'], id: number): string {
  return mode === 'electron' ? `${ARTIFACT_SCHEME}://${ARTIFACT_HOST}/${id}` : `artifacts/${id}`;
}

/** An artifact for a caller: its URL always, the image itself inlined as a data URL when `bytes` are given. */
export function toArtifact(row: ArtifactRow, bytes: Uint8Array | null, mode: AppInfo['mode'] = 'web'): Artifact {
  return {
    id: row.id,
    runId: row.run_id,
    kind: row.kind,
    epoch: row.epoch,
    url: artifactUrl(mode, row.id),
    ...(bytes ? { dataUrl: `data:${row.mime};base64,${Buffer.from(bytes).toString('base64')}` } : {}),
  };
}

export type ArtifactAnswer =
  | { status: 200; mime: 'image/png' | 'application/octet-stream'; hash: string; bytes: Buffer }
  | { status: 400 | 404 | 413 | 500; message: string };

/** An id as an address carries it: digits only, no sign, no leading zero, a safe integer. */
const ID_TEXT = /^[1-9]\d{0,15}$/;

/**
 * The image an address's id names. `ref` is the text after the adapter's prefix, untrusted:
 * anything but a plain id (a path, `..`, an encoded slash, a query) is refused as malformed
 * and never touches the file system; the file read is the blob the artifact's row names, and
 * only up to MAX_ARTIFACT_BYTES (checked before reading).
 */
export function readArtifact(workspace: Pick<Workspace, 'db' | 'blobs'>, ref: string, maxBytes = MAX_ARTIFACT_BYTES): ArtifactAnswer {
  const id = ID_TEXT.test(ref) ? Number(ref) : NaN;
  if (!Number.isSafeInteger(id)) return { status: 400, message: `"${ref.slice(0, 40)}" is not an artifact id: artifacts are addressed by their number.` };
  const row = getArtifact(workspace.db, id);
  if (!row) return { status: 404, message: `Artifact ${id} does not exist.` };
  let size: number;
  try {
    size = statSync(workspace.blobs.pathOf(row.blob_hash)).size;
  } catch {
    return { status: 404, message: `The image of artifact ${id} is missing from the workspace.` };
  }
  if (size > maxBytes) return { status: 413, message: `The image of artifact ${id} is ${size} bytes, more than the ${maxBytes} an image may have; it was not read.` };
  try {
    return { status: 200, mime: row.mime === 'image/png' ? 'image/png' : 'application/octet-stream', hash: row.blob_hash, bytes: workspace.blobs.read(row.blob_hash) };
  } catch (error) {
    return { status: 500, message: (error as Error).message }; // damaged: its hash no longer matches
  }
}
