/**
 * Inpainting masks and raw images on the wire. A mask is one bit per pixel (row-major,
 * least significant bit first within each byte; 1 = missing, to be imputed), base64:
 * 28×28 is 132 characters, 256×256 about 11 KB. It applies to every channel of a pixel.
 * Raw images are their HWC bytes, base64. Plain code (no Buffer, no atob) so the
 * renderer, the core and the worker share it.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    const n = (a << 16) | (b << 8) | c;
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? ALPHABET[n & 63]! : '=';
  }
  return out;
}

/** Decoded bytes, or null when `text` is not base64. */
export function base64ToBytes(text: string): Uint8Array | null {
  const clean = text.replace(/=+$/, '');
  if (clean.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const code = clean.charCodeAt(i);
    const v = code < 128 ? LOOKUP[code]! : -1;
    if (v < 0) return null;
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 255;
    }
  }
  return out;
}

/** `missing[i]` non-zero means pixel i is missing. */
export function encodeMask(missing: ArrayLike<number>): string {
  const bytes = new Uint8Array(Math.ceil(missing.length / 8));
  for (let i = 0; i < missing.length; i++) if (missing[i]) bytes[i >> 3]! |= 1 << (i & 7);
  return bytesToBase64(bytes);
}

export type MaskDecode = { ok: true; missing: Uint8Array } | { ok: false; message: string };

/** One byte per pixel (1 = missing), or why the text is not a mask of `pixels` pixels. */
export function decodeMask(text: string, pixels: number, width: number, height: number): MaskDecode {
  const bytes = base64ToBytes(text);
  if (bytes === null) return { ok: false, message: 'mask is not base64' };
  const expected = Math.ceil(pixels / 8);
  if (bytes.length !== expected) {
    const bitsGiven = bytes.length * 8;
    return {
      ok: false,
      message: `mask has ${bytes.length} bytes (room for ${bitsGiven} pixels) but the model's images are ${width}×${height} = ${pixels} pixels, ${expected} bytes`,
    };
  }
  const missing = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) missing[i] = (bytes[i >> 3]! >> (i & 7)) & 1;
  return { ok: true, missing };
}

/** Ready-made masks (CLI, evaluation, the UI's buttons). */
export const maskKinds = ['random50', 'top', 'bottom'] as const;
export type MaskKind = (typeof maskKinds)[number];

/**
 * A mask of `kind` for a width×height image: random50 drops each pixel with
 * probability ½ (from `uniform`), top/bottom drop the upper/lower half of the rows.
 */
export function makeMask(kind: MaskKind, width: number, height: number, uniform: () => number): Uint8Array {
  const out = new Uint8Array(width * height);
  const half = Math.floor(height / 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      out[i] = kind === 'random50' ? (uniform() < 0.5 ? 1 : 0) : kind === 'top' ? (y < half ? 1 : 0) : y >= half ? 1 : 0;
    }
  }
  return out;
}
