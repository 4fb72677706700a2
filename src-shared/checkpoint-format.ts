/**
 * Reading side of the worker's checkpoint files (src-worker/io/checkpoint-file.ts writes
 * them and reads them through this), shared with code that needs the weights without
 * tfjs: model export and import in the core. Layout (little endian): magic "VAECKPT1", u32 header length H,
 * H bytes of header JSON, zero padding to a multiple of 4, float32 values of every
 * tensor in header order, then the SHA-256 of everything before it (32 bytes).
 * Pure: the caller checks the trailing hash (it has a hash function; this file may not).
 */
export const CHECKPOINT_FILE_MAGIC = 'VAECKPT1';
export const CHECKPOINT_HASH_BYTES = 32;

export interface CheckpointTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface ParsedCheckpoint {
  /** The run config stored with the weights (unvalidated JSON). */
  config: unknown;
  epoch: number;
  step: number;
  tensors: CheckpointTensor[];
  /** Bytes the trailing hash covers, and the hash itself, for the caller to verify. */
  body: Uint8Array;
  hash: Uint8Array;
  /** The whole header JSON (the worker reads its training state from it). */
  header: Record<string, unknown>;
  /** Byte offset of the float data, and each tensor's offset into it (in values), by name. */
  dataOffset: number;
  offsets: Map<string, number>;
}

interface HeaderJson {
  format?: unknown;
  config?: unknown;
  epoch?: unknown;
  step?: unknown;
  tensors?: { name: string; shape: number[]; offset: number; length: number }[];
}

export function parseCheckpoint(bytes: Uint8Array): ParsedCheckpoint {
  const fail = (why: string): never => {
    throw new Error(`not a usable checkpoint: ${why}`);
  };
  if (bytes.length < 12 + CHECKPOINT_HASH_BYTES) fail('too short');
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== CHECKPOINT_FILE_MAGIC) fail('bad magic');
  const body = bytes.subarray(0, bytes.length - CHECKPOINT_HASH_BYTES);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > body.length) fail('header runs past the end');
  let header: HeaderJson;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as HeaderJson;
  } catch {
    return fail('header is not JSON');
  }
  if (header.format !== 1) fail(`unknown format ${String(header.format)}`);
  if (!Array.isArray(header.tensors)) fail('no tensor list');
  const dataOffset = (12 + headerLength + 3) & ~3;
  const floats = Math.floor((body.length - dataOffset) / 4);
  // Copied so the values are aligned whatever the offset of `bytes` in its buffer.
  const data = new Float32Array(Math.max(0, floats));
  new Uint8Array(data.buffer).set(body.subarray(dataOffset, dataOffset + data.length * 4));
  const offsets = new Map<string, number>();
  const tensors = header.tensors!.map((t): CheckpointTensor => {
    offsets.set(t.name, t.offset);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(t.offset) || !Number.isInteger(t.length) || t.length !== size) fail(`tensor ${t.name} has a bad shape or length`);
    if (t.offset < 0 || t.offset + t.length > data.length) fail(`tensor ${t.name} runs past the end`);
    return { name: t.name, shape: t.shape, values: data.slice(t.offset, t.offset + t.length) };
  });
  return {
    config: header.config,
    epoch: Number(header.epoch),
    step: Number(header.step),
    tensors,
    body,
    hash: bytes.subarray(bytes.length - CHECKPOINT_HASH_BYTES),
    header: header as Record<string, unknown>,
    dataOffset,
    offsets,
  };
}

/**
 * A copy of a checkpoint file with the values of some tensors set to 0 (e.g. Adam's
 * moments, which only matter to continue training) and the same layout. The trailing
 * hash is left for the caller to recompute over `copy.subarray(0, −32)` and write.
 */
export function zeroCheckpointTensors(bytes: Uint8Array, zero: (name: string) => boolean): Uint8Array {
  const parsed = parseCheckpoint(bytes);
  const copy = bytes.slice();
  for (const tensor of parsed.tensors) {
    if (!zero(tensor.name)) continue;
    const start = parsed.dataOffset + parsed.offsets.get(tensor.name)! * 4;
    copy.fill(0, start, start + tensor.values.length * 4);
  }
  return copy;
}
