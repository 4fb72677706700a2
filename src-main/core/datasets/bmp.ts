import type { RawImage } from './png-fast';

/**
 * Reads uncompressed Windows bitmaps (8-bit palette, 24- and 32-bit), which libvips
 * does not open. Throws with a reason for anything else.
 */
export function decodeBmp(bytes: Uint8Array, maxPixels: number): RawImage {
  const fail = (why: string): never => {
    throw new Error(`unsupported or corrupt BMP: ${why}`);
  };
  if (bytes.length < 54 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) fail('bad header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bitCount = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const height = Math.abs(rawHeight);
  if (width <= 0 || height === 0) fail('empty image');
  if (width * height > maxPixels) throw new Error(`image is larger than ${maxPixels.toLocaleString('en')} pixels`);
  // 0 = BI_RGB; 3 = BI_BITFIELDS, accepted for 32-bit in the usual BGRA layout.
  if (!(compression === 0 || (compression === 3 && bitCount === 32))) fail(`compression ${compression}`);
  if (![8, 24, 32].includes(bitCount)) fail(`${bitCount} bits per pixel`);
  const rowBytes = Math.ceil((width * bitCount) / 32) * 4;
  if (dataOffset + rowBytes * height > bytes.length) fail('truncated pixel data');
  const paletteOffset = 14 + headerSize;
  const channels = bitCount === 32 ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const srcRow = dataOffset + (rawHeight > 0 ? height - 1 - y : y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      let b: number, g: number, r: number;
      if (bitCount === 8) {
        const p = paletteOffset + bytes[srcRow + x]! * 4;
        if (p + 2 >= dataOffset) fail('palette index out of range');
        [b, g, r] = [bytes[p]!, bytes[p + 1]!, bytes[p + 2]!];
      } else {
        const s = srcRow + x * (bitCount / 8);
        [b, g, r] = [bytes[s]!, bytes[s + 1]!, bytes[s + 2]!];
        if (channels === 4) out[o + 3] = bytes[s + 3]!;
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return { width, height, channels, data: out };
}
