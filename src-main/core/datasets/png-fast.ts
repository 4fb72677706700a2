import { inflateSync } from 'node:zlib';

export interface RawImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; 8 bits each. */
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, 1 | 2 | 3 | 4> = { 0: 1, 2: 3, 4: 2, 6: 4, 3: 3 };
/** Samples per pixel as stored (a palette index is one sample). */
const STORED: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;
/**
 * PNGs whose filtered data is at most this size are inflated here, bounded by what their
 * header declares, before anything else reads them; larger ones go to libvips, which
 * reads row by row into buffers of the declared size.
 */
export const PNG_CHECK_BYTES = 64 * 1024 * 1024;

/** The structure of a PNG file: its header fields and chunks, nothing inflated yet. */
export interface PngLayout {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
  palette: Uint8Array | null;
  transparency: Uint8Array | null;
  idat: Uint8Array[];
  /** An eXIf chunk may rotate the image: libvips applies it. */
  exif: boolean;
}

/** Reads a PNG's chunks; null when it is no PNG or its structure is broken (libvips then says why). */
export function readPngLayout(bytes: Uint8Array): PngLayout | null {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layout: PngLayout = { width: 0, height: 0, bitDepth: 0, colorType: -1, interlace: 0, palette: null, transparency: null, idat: [], exif: false };
  let offset = 8;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!, bytes[offset + 6]!, bytes[offset + 7]!);
    const body = offset + 8;
    if (body + length + 4 > bytes.length) return null;
    const chunk = bytes.subarray(body, body + length);
    if (type === 'IHDR') {
      if (length < 13) return null;
      layout.width = view.getUint32(body);
      layout.height = view.getUint32(body + 4);
      layout.bitDepth = chunk[8]!;
      layout.colorType = chunk[9]!;
      layout.interlace = chunk[12]!;
    } else if (type === 'PLTE') layout.palette = chunk;
    else if (type === 'tRNS') layout.transparency = chunk;
    else if (type === 'IDAT') layout.idat.push(chunk);
    else if (type === 'eXIf') layout.exif = true;
    else if (type === 'IEND') break;
    offset = body + length + 4;
  }
  if (!(layout.colorType in STORED) || ![1, 2, 4, 8, 16].includes(layout.bitDepth) || layout.interlace > 1) return null;
  if (layout.width === 0 || layout.height === 0 || layout.idat.length === 0) return null;
  return layout;
}

/**
 * Bytes the filtered image data must inflate to, from the header alone: per row one
 * filter byte and the row's samples; for an interlaced image, the rows of all seven passes.
 */
export function pngDataBytes(png: Pick<PngLayout, 'width' | 'height' | 'bitDepth' | 'colorType' | 'interlace'>): number {
  const bitsPerPixel = STORED[png.colorType]! * png.bitDepth;
  const rows = (width: number, height: number): number => (width > 0 && height > 0 ? (Math.ceil((width * bitsPerPixel) / 8) + 1) * height : 0);
  if (png.interlace === 0) return rows(png.width, png.height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) total += rows(Math.ceil((png.width - x0) / dx), Math.ceil((png.height - y0) / dy));
  return total;
}

/** Thrown when a PNG's data inflates beyond what its header declares: a decompression bomb. */
export class PngBombError extends Error {
  constructor(png: Pick<PngLayout, 'width' | 'height'>, limit: number) {
    super(`image data inflates to more than the ${limit.toLocaleString('en')} bytes its ${png.width}×${png.height} pixels need (decompression bomb?)`);
    this.name = 'PngBombError';
  }
}

/**
 * Inflates the image data, never past the size the header declares: more is a bomb
 * (PngBombError). Null when the data is damaged or short: libvips then reports it.
 */
export function inflatePngData(png: PngLayout): Buffer | null {
  const limit = pngDataBytes(png);
  try {
    return inflateSync(png.idat.length === 1 ? png.idat[0]! : Buffer.concat(png.idat), { maxOutputLength: limit });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new PngBombError(png, limit);
    return null;
  }
}

/**
 * Decodes a small, plain PNG (8-bit, not interlaced) in JavaScript. For the tiny images
 * datasets are made of this is several times faster than a round trip through libvips
 * (measured by `npm run bench:import`). Anything unusual returns null: the caller then
 * uses sharp, which also reports corruption properly. Data that inflates past the
 * declared size throws PngBombError.
 */
export function decodePlainPng(bytes: Uint8Array, maxPixels: number, layout = readPngLayout(bytes)): RawImage | null {
  if (!layout || layout.exif) return null;
  const { width, height, colorType, palette, transparency } = layout;
  if (layout.bitDepth !== 8 || layout.interlace !== 0 || !(colorType in CHANNELS) || width * height > maxPixels) return null;
  if (colorType === 3 && !palette) return null;
  // A tRNS chunk on non-palette images means colour-keyed transparency: leave it to sharp.
  if (transparency && colorType !== 3) return null;

  const stored = STORED[colorType]!;
  const stride = width * stored;
  const raw = inflatePngData(layout);
  if (!raw || raw.length < (stride + 1) * height) return null;
  const pixels = new Uint8Array(stride * height);
  if (!unfilter(raw, pixels, stride, height, stored)) return null;
  if (colorType !== 3) return { width, height, channels: CHANNELS[colorType]!, data: pixels };

  const channels = transparency ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    const p = pixels[i]!;
    if (p * 3 + 2 >= palette!.length) return null;
    out[i * channels] = palette![p * 3]!;
    out[i * channels + 1] = palette![p * 3 + 1]!;
    out[i * channels + 2] = palette![p * 3 + 2]!;
    if (transparency) out[i * channels + 3] = p < transparency.length ? transparency[p]! : 255;
  }
  return { width, height, channels, data: out };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function unfilter(raw: Uint8Array, out: Uint8Array, stride: number, height: number, bpp: number): boolean {
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const value = raw[src + x]!;
      const left = x >= bpp ? out[row + x - bpp]! : 0;
      const up = y > 0 ? out[prev + x]! : 0;
      const upLeft = y > 0 && x >= bpp ? out[prev + x - bpp]! : 0;
      switch (filter) {
        case 0:
          out[row + x] = value;
          break;
        case 1:
          out[row + x] = (value + left) & 255;
          break;
        case 2:
          out[row + x] = (value + up) & 255;
          break;
        case 3:
          out[row + x] = (value + ((left + up) >> 1)) & 255;
          break;
        case 4:
          out[row + x] = (value + paeth(left, up, upLeft)) & 255;
          break;
        default:
          return false;
      }
    }
  }
  return true;
}
