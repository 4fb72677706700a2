import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64, decodeMask, encodeMask, makeMask } from './pixel-mask';

describe('pixel masks on the wire', () => {
  it('base64 round-trips every length and matches the standard alphabet', () => {
    for (let n = 0; n < 20; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 13) & 255);
      const text = bytesToBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(Array.from(base64ToBytes(text)!)).toEqual(Array.from(bytes));
    }
    expect(base64ToBytes('ab$d')).toBeNull();
  });

  it('packs one bit per pixel and decodes the same mask', () => {
    const missing = makeMask('random50', 28, 28, (() => { let s = 1; return () => ((s = (s * 16807) % 2147483647) / 2147483647); })());
    const text = encodeMask(missing);
    expect(text.length).toBe(Math.ceil(98 / 3) * 4);
    const back = decodeMask(text, 784, 28, 28);
    expect(back.ok && Array.from(back.missing)).toEqual(Array.from(missing));
  });

  it('refuses a mask made for another image size, saying both sizes', () => {
    const result = decodeMask(encodeMask(new Uint8Array(16 * 16)), 784, 28, 28);
    expect(result).toEqual({ ok: false, message: expect.stringMatching(/32 bytes.*28×28 = 784 pixels, 98 bytes/) });
    expect(decodeMask('not base64!', 784, 28, 28).ok).toBe(false);
  });

  it('top and bottom masks drop exactly one half of the rows', () => {
    const top = makeMask('top', 4, 4, Math.random);
    expect(Array.from(top)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(makeMask('bottom', 4, 4, Math.random))).toEqual(Array.from(top, (v) => 1 - v));
  });
});
