import type { Artifact } from '@shared/types';
import type { ArtifactRow } from '../store/artifacts';

/** An artifact for a caller: its URL always, the image itself inlined as a data URL when `bytes` are given. */
export function toArtifact(row: ArtifactRow, bytes: Uint8Array | null): Artifact {
  return {
    id: row.id,
    runId: row.run_id,
    kind: row.kind,
    epoch: row.epoch,
    url: `artifacts/${row.id}`,
    ...(bytes ? { dataUrl: `data:${row.mime};base64,${Buffer.from(bytes).toString('base64')}` } : {}),
  };
}
