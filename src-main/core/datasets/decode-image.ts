import sharp, { type Sharp } from 'sharp';
import type { FitMode } from '@shared/config';
import { decodeBmp } from './bmp';
import { decodePlainPng, inflatePngData, PNG_CHECK_BYTES, PngBombError, pngDataBytes, readPngLayout, type RawImage } from './png-fast';

export interface DecodeSettings {
  size: number;
  channels: 1 | 3;
  fit: FitMode;
  background: string;
  binarize: boolean;
}

/** Pixel-count ceiling against decompression bombs (a 50 000² PNG header is refused). */
export const MAX_INPUT_PIXELS = 100_000_000;
/** A single file may not take longer than this to decode. */
export const DECODE_TIMEOUT_SECONDS = 20;

const SHARP_FIT = { resize: 'fill', crop: 'cover', pad: 'contain' } as const;

function rgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The JS path, only where it gives exactly what libvips would: no resize, no colour mixing. */
function fromPlainPng(image: RawImage, settings: DecodeSettings): Uint8Array | null {
  if (image.width !== settings.size || image.height !== settings.size) return null;
  const src = image.channels;
  const hasAlpha = src === 2 || src === 4;
  let colour = src >= 3;
  if (colour && settings.channels === 1) {
    // Grey images saved as RGB (common) reduce exactly to one channel; real colour goes to libvips.
    if (!isGreyRgb(image.data, src)) return null;
    colour = false;
  }
  const [bgR, bgG, bgB] = rgb(settings.background);
  if (hasAlpha && !colour && !(bgR === bgG && bgG === bgB)) return null;
  const n = settings.size * settings.size;
  const out = new Uint8Array(n * settings.channels);
  const data = image.data;
  for (let i = 0; i < n; i++) {
    const alpha = hasAlpha ? data[i * src + src - 1]! / 255 : 1;
    for (let c = 0; c < settings.channels; c++) {
      const value = data[i * src + (colour ? c : 0)]!;
      const bg = c === 0 ? bgR : c === 1 ? bgG : bgB;
      out[i * settings.channels + c] = hasAlpha ? Math.round(value * alpha + bg * (1 - alpha)) : value;
    }
  }
  return out;
}

function isGreyRgb(data: Uint8Array, channels: number): boolean {
  for (let i = 0; i < data.length; i += channels) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  }
  return true;
}

function isBmp(bytes: Uint8Array): boolean {
  return bytes[0] === 0x42 && bytes[1] === 0x4d;
}

const startsWith = (bytes: Uint8Array, ascii: string, at = 0): boolean => [...ascii].every((c, i) => bytes[at + i] === c.charCodeAt(0));

/**
 * The formats a dataset folder is scanned for (scan-folder's IMAGE_EXTENSIONS), told by
 * their first bytes. libvips also opens SVG and HEIF, whatever the file is named: those
 * are refused here rather than handed to a renderer nobody asked for.
 */
function isKnownRasterFormat(bytes: Uint8Array): boolean {
  return (
    startsWith(bytes, '\x89PNG\r\n\x1a\n') ||
    (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) ||
    startsWith(bytes, 'GIF87a') ||
    startsWith(bytes, 'GIF89a') ||
    (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) ||
    startsWith(bytes, 'II*\0') ||
    startsWith(bytes, 'MM\0*') ||
    startsWith(bytes, 'II+\0') ||
    startsWith(bytes, 'MM\0+')
  );
}

/**
 * Decodes one image file to `size`×`size`×`channels` uint8: EXIF orientation applied,
 * transparency composited on the background, fitted as asked, optionally binarized.
 * Throws with a reason a person can act on. `original`, when given, receives the
 * file's own width and height (before orientation).
 */
export async function decodeImage(bytes: Uint8Array, settings: DecodeSettings, original?: { width: number; height: number }): Promise<Uint8Array> {
  if (!isBmp(bytes) && !isKnownRasterFormat(bytes)) throw new Error('Input buffer contains unsupported image format');
  let out: Uint8Array | null = null;
  const png = readPngLayout(bytes);
  if (png) {
    if (original) Object.assign(original, { width: png.width, height: png.height });
    if (png.width * png.height > MAX_INPUT_PIXELS) throw new Error(`Input image exceeds pixel limit (${png.width}×${png.height})`);
    // The JS path, only for images already at the target size; its inflate stops at the
    // declared size and throws PngBombError past it.
    const plain = png.width === settings.size && png.height === settings.size ? decodePlainPng(bytes, MAX_INPUT_PIXELS, png) : null;
    out = plain ? fromPlainPng(plain, settings) : null;
    // libvips reads PNG data in buffers of the declared size too, but accepts any excess
    // after the last row: a 1×1 image whose data inflates to gigabytes would pass as
    // valid (after inflating all of it). Check the excess here, bounded the same way.
    if (!plain && pngDataBytes(png) <= PNG_CHECK_BYTES) inflatePngData(png);
  }
  if (!out) out = await decodeWithSharp(bytes, settings, png ? undefined : original);
  if (settings.binarize) for (let i = 0; i < out.length; i++) out[i] = out[i]! >= 128 ? 255 : 0;
  return out;
}

async function decodeWithSharp(bytes: Uint8Array, settings: DecodeSettings, original?: { width: number; height: number }): Promise<Uint8Array> {
  let input: Sharp;
  if (isBmp(bytes)) {
    const bmp = decodeBmp(bytes, MAX_INPUT_PIXELS);
    if (original) Object.assign(original, { width: bmp.width, height: bmp.height });
    if (bmp.channels === 4 && bmp.data.every((v, i) => i % 4 !== 3 || v === 0)) {
      // 32-bit BMPs often leave the alpha byte unused (all zero): treat them as opaque.
      for (let i = 3; i < bmp.data.length; i += 4) bmp.data[i] = 255;
    }
    input = sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: bmp.channels } });
  } else {
    input = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', pages: 1 }).rotate();
    if (original) {
      // The header only; libvips refuses oversized images here already.
      const meta = await input.metadata();
      if (meta.width && meta.height) Object.assign(original, { width: meta.width, height: meta.height });
    }
  }
  const [r, g, b] = rgb(settings.background);
  let pipeline = input
    .timeout({ seconds: DECODE_TIMEOUT_SECONDS })
    .flatten({ background: { r, g, b } })
    .resize(settings.size, settings.size, {
      fit: SHARP_FIT[settings.fit],
      position: 'centre',
      background: { r, g, b, alpha: 1 },
      kernel: 'lanczos3',
    });
  pipeline = settings.channels === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels === settings.channels) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(settings.size * settings.size * settings.channels);
  for (let i = 0, j = 0; i < out.length; i += settings.channels, j += info.channels) {
    for (let c = 0; c < settings.channels; c++) out[i + c] = data[j + Math.min(c, info.channels - 1)]!;
  }
  return out;
}

export function describeDecodeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n')[0] ?? message;
  if (error instanceof PngBombError) return message;
  if (/pixel limit|larger than .* pixels/i.test(message)) return `image is larger than ${MAX_INPUT_PIXELS.toLocaleString('en')} pixels (decompression bomb?)`;
  if (/timeout/i.test(message)) return `decoding took longer than ${DECODE_TIMEOUT_SECONDS} s`;
  if (/unsupported image format/i.test(message)) return 'not a readable image (unknown format or not an image at all)';
  if (/BMP/.test(message)) return first;
  // Everything else libvips refuses is a damaged file; its own words go in brackets
  // (under concurrency libvips sometimes only says "Unknown error").
  return `corrupt or truncated image (${first})`;
}
