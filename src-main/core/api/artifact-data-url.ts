import type { Artifact } from '@shared/types';
import type { ArtifactRow } from '../store/artifacts';

export function toArtifact(row: ArtifactRow, bytes: Uint8Array): Artifact {
  return {
    id: row.id,
    runId: row.run_id,
    kind: row.kind,
    epoch: row.epoch,
    dataUrl: `data:${row.mime};base64,${Buffer.from(bytes).toString('base64')}`,
  };
}
