/**
 * The packed dataset file: one contiguous block the worker can read without decoding
 * images again. Layout (little endian):
 *   0  8 bytes  magic "VAESDS01"
 *   8  u32      header length H (bytes of UTF-8 JSON)
 *  12  H bytes  header JSON (PackedHeader)
 *      padding to a multiple of 8
 *      count·height·width·channels uint8 pixels, HWC per image
 *      count int32 labels (-1 = unlabelled)
 *      (version 2) count uint8 split codes: 0 train, 1 validation, 2 test
 * Pure functions over Uint8Array so the worker, the core and tests share one codec.
 */
export const PACKED_MAGIC = 'VAESDS01';

export const SPLIT_TRAIN = 0;
export const SPLIT_VALIDATION = 1;
export const SPLIT_TEST = 2;

export interface PackedHeader {
  version: 1 | 2;
  count: number;
  width: number;
  height: number;
  channels: 1 | 3;
  labels: string[];
}

export interface PackedDataset {
  header: PackedHeader;
  pixels: Uint8Array;
  labels: Int32Array;
  /** Per image: SPLIT_TRAIN, SPLIT_VALIDATION or SPLIT_TEST. Absent in version-1 files. */
  split?: Uint8Array;
}

const align8 = (n: number): number => (n + 7) & ~7;

export function imageBytes(header: Pick<PackedHeader, 'width' | 'height' | 'channels'>): number {
  return header.width * header.height * header.channels;
}

export function encodePacked(dataset: PackedDataset): Uint8Array {
  const { header, pixels, labels } = dataset;
  const expected = header.count * imageBytes(header);
  if (pixels.length !== expected) {
    throw new Error(`packed dataset: ${pixels.length} pixel bytes, expected ${expected}`);
  }
  if (labels.length !== header.count) {
    throw new Error(`packed dataset: ${labels.length} labels, expected ${header.count}`);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pixelOffset = align8(12 + json.length);
  if (header.version === 2 && dataset.split?.length !== header.count) {
    throw new Error(`packed dataset: version 2 needs ${header.count} split codes`);
  }
  const labelOffset = align8(pixelOffset + pixels.length);
  const splitOffset = labelOffset + labels.length * 4;
  const out = new Uint8Array(splitOffset + (header.version === 2 ? header.count : 0));
  out.set(new TextEncoder().encode(PACKED_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(pixels, pixelOffset);
  const labelView = new DataView(out.buffer, labelOffset);
  labels.forEach((label, i) => labelView.setInt32(i * 4, label, true));
  if (header.version === 2) out.set(dataset.split!, splitOffset);
  return out;
}

export function decodePacked(bytes: Uint8Array): PackedDataset {
  const fail = (why: string): never => {
    throw new Error(`not a VAE Studio dataset file: ${why}`);
  };
  if (bytes.length < 12) fail('too short');
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== PACKED_MAGIC) fail(`bad magic "${magic}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) fail('header runs past the end');
  let header: PackedHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as PackedHeader;
  } catch {
    return fail('header is not JSON');
  }
  if (header.version !== 1 && header.version !== 2) fail(`unsupported version ${String(header.version)}`);
  const pixelOffset = align8(12 + headerLength);
  const pixelLength = header.count * imageBytes(header);
  const labelOffset = align8(pixelOffset + pixelLength);
  const splitOffset = labelOffset + header.count * 4;
  if (splitOffset + (header.version === 2 ? header.count : 0) > bytes.length) fail('truncated');
  const pixels = bytes.subarray(pixelOffset, pixelOffset + pixelLength);
  const labels = new Int32Array(header.count);
  for (let i = 0; i < header.count; i++) labels[i] = view.getInt32(labelOffset + i * 4, true);
  if (header.version === 1) return { header, pixels, labels };
  const split = bytes.slice(splitOffset, splitOffset + header.count);
  if (split.some((code) => code > SPLIT_TEST)) fail('bad split code');
  return { header, pixels, labels, split };
}
