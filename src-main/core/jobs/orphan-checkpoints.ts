import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { blobStillReferenced } from '../store/artifacts';
import { getCheckpoint, replaceCheckpoint } from '../store/checkpoints';
import { durableTransaction } from '../store/db';
import type { Run } from '@shared/types';
import type { Workspace } from '../workspace/workspace';

/**
 * After the app itself died mid-run (kill -9, power cut), a run's scratch folder may
 * hold a checkpoint the worker finished — written, fsynced, renamed — that the app
 * never moved into the blob store. This adopts such files, but only files that prove
 * themselves whole and only for epochs whose metrics reached the database, so that
 * resuming never skips an epoch the history lacks. Temporary and torn files are
 * dropped with the folder.
 */

const MAGIC = 'VAECKPT1';
const HASH_BYTES = 32;

export interface CheckpointFileHeader {
  epoch: number;
  step: number;
  isBest: boolean;
}

/**
 * The header of a checkpoint file (format of src-worker/io/checkpoint-file.ts) when the
 * file is whole: right magic and a trailing SHA-256 that matches every byte before it.
 */
export function verifiedCheckpointHeader(bytes: Uint8Array): CheckpointFileHeader | null {
  if (bytes.length < 12 + HASH_BYTES) return null;
  if (Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MAGIC) return null;
  const body = bytes.subarray(0, bytes.length - HASH_BYTES);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(bytes.subarray(bytes.length - HASH_BYTES))) return null;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > body.length) return null;
  try {
    const header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headerLength)).toString('utf8')) as {
      epoch?: unknown;
      step?: unknown;
      progress?: { isBest?: unknown };
    };
    if (!Number.isInteger(header.epoch) || !Number.isInteger(header.step)) return null;
    return { epoch: header.epoch as number, step: header.step as number, isBest: header.progress?.isBest === true };
  } catch {
    return null;
  }
}

/**
 * Moves whole, newer checkpoints from the run's scratch folder into the store (as its
 * 'last', and 'best' when the worker marked it so), then deletes the folder.
 * Returns the epochs adopted.
 */
export function adoptOrphanCheckpoints(workspace: Workspace, run: Run, now: string): number[] {
  const { db, blobs } = workspace;
  const runDir = join(workspace.runsDir, String(run.id));
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  const candidates: { path: string; header: CheckpointFileHeader; hash: string; bytes: number }[] = [];
  for (const name of names) {
    if (!/^epoch-\d+\.vaeckpt$/.test(name)) continue; // `.tmp-<pid>` files never finished
    const path = join(runDir, name);
    const bytes = readFileSync(path);
    const header = verifiedCheckpointHeader(bytes);
    if (header) candidates.push({ path, header, hash: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
  }
  candidates.sort((a, b) => a.header.epoch - b.header.epoch);
  const adopted: number[] = [];
  for (const { path, header, hash, bytes } of candidates) {
    const last = getCheckpoint(db, run.id, 'last');
    if ((last && header.epoch <= last.epoch) || header.epoch > run.epochsDone) continue;
    blobs.moveIn(path, hash);
    const fields = { runId: run.id, epoch: header.epoch, step: header.step, blobHash: hash, bytes };
    const dropped = durableTransaction(db, () => {
      const out = [replaceCheckpoint(db, { ...fields, kind: 'last' }, now)];
      if (header.isBest) out.push(replaceCheckpoint(db, { ...fields, kind: 'best' }, now));
      return out;
    });
    for (const old of dropped) if (old !== null && !blobStillReferenced(db, old)) blobs.remove(old);
    adopted.push(header.epoch);
  }
  rmSync(runDir, { recursive: true, force: true });
  return adopted;
}
