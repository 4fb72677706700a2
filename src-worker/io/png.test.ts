import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng } from './png';

function chunks(png: Uint8Array): { type: string; data: Uint8Array; crc: number }[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out = [];
  for (let at = 8; at < png.length; ) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    out.push({ type, data: png.subarray(at + 8, at + 8 + length), crc: view.getUint32(at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

describe('png', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  for (const channels of [1, 3] as const) {
    it(`round-trips a ${channels === 1 ? 'greyscale' : 'RGB'} image through IHDR/IDAT`, () => {
      const width = 5;
      const height = 3;
      const pixels = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37) % 256);
      const png = encodePng({ width, height, channels, pixels });
      expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const parts = chunks(png);
      expect(parts.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
      for (const c of parts) expect(c.crc).toBe(crc32(new TextEncoder().encode(c.type), c.data));
      const ihdr = new DataView(parts[0]!.data.buffer, parts[0]!.data.byteOffset);
      expect([ihdr.getUint32(0), ihdr.getUint32(4), ihdr.getUint8(8), ihdr.getUint8(9)]).toEqual([
        width,
        height,
        8,
        channels === 1 ? 0 : 2,
      ]);
      const raw = inflateSync(parts[1]!.data);
      const stride = width * channels;
      for (let y = 0; y < height; y++) {
        expect(raw[y * (stride + 1)]).toBe(0);
        expect(Array.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)))).toEqual(
          Array.from(pixels.subarray(y * stride, (y + 1) * stride)),
        );
      }
    });
  }

  it('rejects a pixel buffer of the wrong size', () => {
    expect(() => encodePng({ width: 2, height: 2, channels: 3, pixels: new Uint8Array(4) })).toThrow(/2×2×3/);
  });
});
