import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseCheckpoint } from '@shared/checkpoint-format';
import type { TrainingCheckpoint } from '../train/checkpoint-state';

/**
 * Checkpoint files. Layout (little endian):
 *   0   8 bytes  magic "VAECKPT1"
 *   8   u32      header length H
 *  12   H bytes  header JSON (CheckpointHeader)
 *       zero padding to a multiple of 4
 *       float32 values of every tensor, in header order
 *  end − 32      SHA-256 of every byte before it
 * The trailing hash makes a torn or truncated file detectable on its own; files are
 * also written to a temporary name, fsynced and renamed, so a crash leaves either the
 * old file or the new one.
 */
export const CHECKPOINT_MAGIC = 'VAECKPT1';
const HASH_BYTES = 32;

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset into the float data, in values. */
  offset: number;
  length: number;
}

interface CheckpointHeader {
  format: 1;
  /** The run config the weights belong to (self-describing for later evaluation or export). */
  config: unknown;
  epoch: number;
  step: number;
  trainerStep: number;
  rng: TrainingCheckpoint['trainer']['rng'];
  shuffle: TrainingCheckpoint['shuffle'];
  progress: TrainingCheckpoint['progress'];
  tensors: TensorEntry[];
}

export interface LoadedCheckpoint {
  checkpoint: TrainingCheckpoint;
  config: unknown;
}

const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

export function encodeCheckpoint(checkpoint: TrainingCheckpoint, config: unknown): Uint8Array {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error('checkpoints are written little endian; this machine is not');
  let offset = 0;
  const tensors = checkpoint.trainer.tensors.map((t): TensorEntry => {
    const entry = { name: t.name, shape: t.shape, offset, length: t.values.length };
    offset += t.values.length;
    return entry;
  });
  const header: CheckpointHeader = {
    format: 1,
    config,
    epoch: checkpoint.epoch,
    step: checkpoint.step,
    trainerStep: checkpoint.trainer.step,
    rng: checkpoint.trainer.rng,
    shuffle: checkpoint.shuffle,
    progress: checkpoint.progress,
    tensors,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataOffset = (12 + json.length + 3) & ~3;
  const out = new Uint8Array(dataOffset + offset * 4 + HASH_BYTES);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const data = new Float32Array(out.buffer, dataOffset, offset);
  checkpoint.trainer.tensors.forEach((t, i) => data.set(t.values, tensors[i]!.offset));
  out.set(sha256(out.subarray(0, out.length - HASH_BYTES)), out.length - HASH_BYTES);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): LoadedCheckpoint {
  const fail = (why: string): never => {
    throw new Error(`not a usable checkpoint: ${why}`);
  };
  // Magic, then the hash, before the header is trusted: a torn file says so.
  if (bytes.length < 12 + HASH_BYTES) fail('too short');
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== CHECKPOINT_MAGIC) fail('bad magic');
  const body = bytes.subarray(0, bytes.length - HASH_BYTES);
  if (!sha256(body).equals(bytes.subarray(bytes.length - HASH_BYTES))) fail('its hash does not match (a torn or damaged file)');
  const parsed = parseCheckpoint(bytes);
  const header = parsed.header as unknown as CheckpointHeader;
  return {
    config: parsed.config,
    checkpoint: {
      epoch: header.epoch,
      step: header.step,
      trainer: { step: header.trainerStep, tensors: parsed.tensors, rng: header.rng },
      shuffle: header.shuffle,
      progress: header.progress,
    },
  };
}

export interface WrittenFile {
  path: string;
  bytes: number;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
}

/** Write, fsync, rename into place, fsync the folder: the file is whole or absent. */
export function writeFileAtomic(path: string, bytes: Uint8Array): WrittenFile {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(temp, 'w');
    try {
      let at = 0;
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    // A write through a descriptor (ENOSPC) does not say which file; the user needs to know.
    if (error instanceof Error && (error as NodeJS.ErrnoException).path === undefined) Object.assign(error, { path });
    throw error;
  }
  syncDirectory(dirname(path));
  return { path, bytes: bytes.length, sha256: sha256(bytes).toString('hex') };
}

function syncDirectory(dir: string): void {
  // Makes the rename itself durable; not every platform can open a folder (Windows).
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort.
  }
}

/** Read and verify a checkpoint; `expectedSha256` (of the whole file) guards against a swapped file. */
export function readCheckpointFile(path: string, expectedSha256?: string): LoadedCheckpoint {
  const bytes = readFileSync(path);
  if (expectedSha256 !== undefined && sha256(bytes).toString('hex') !== expectedSha256) {
    throw new Error(`checkpoint ${path} does not have the expected hash ${expectedSha256.slice(0, 12)}…`);
  }
  return decodeCheckpoint(bytes);
}
