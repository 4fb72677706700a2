import { describe, expect, it } from 'vitest';
import { decodeRunHealth, encodeRunHealth, MAX_RUN_HEALTH_HEADER, RUN_HEALTH_VERSION } from './run-health';

function report(count: number, latent = 2, recons = 1) {
  const D = 4;
  return {
    header: {
      version: RUN_HEALTH_VERSION,
      runId: 3,
      computedAt: '2026-12-06T00:00:00Z',
      checkpoint: { epoch: 2, step: 10 },
      count,
      latent,
      shape: { width: 2, height: 2, channels: 1 },
      decoder: 'logistic',
      iwaeSamples: 0,
      labelSource: null,
      labelAccuracy: null,
      seconds: 1,
    },
    split: Uint8Array.from({ length: count }, (_, i) => i % 3),
    elbo: Float32Array.from({ length: count }, (_, i) => 1 + i / 8),
    iwae: null,
    compress: Float32Array.from({ length: count }, (_, i) => 0.5 + i / 16),
    means: Float32Array.from({ length: count * latent }, (_, i) => i),
    labelProb: null,
    predicted: null,
    predictedProb: null,
    reconIndex: Int32Array.from({ length: recons }, (_, i) => i),
    recon: new Uint8Array(recons * D).fill(7),
  } as const;
}

describe('run health blob', () => {
  it('reads back what was written, from a Node Buffer at any offset (a pooled slice)', () => {
    const bytes = encodeRunHealth(report(5));
    // A Buffer inside a larger pool, at an odd offset: columns must not read the pool.
    const pool = Buffer.alloc(bytes.length + 11, 0xee);
    pool.set(bytes, 3);
    const decoded = decodeRunHealth(pool.subarray(3, 3 + bytes.length));
    expect(Array.from(decoded.elbo)).toEqual(Array.from(report(5).elbo));
    expect(Array.from(decoded.means)).toEqual(Array.from(report(5).means));
    expect(Array.from(decoded.split)).toEqual([0, 1, 2, 0, 1]);
    expect(decoded.iwae).toBeNull();
    expect(Array.from(decoded.recon)).toEqual([7, 7, 7, 7]);
  });

  it('refuses, saying why, a blob whose header or columns do not add up, allocating no more than it holds', () => {
    const good = encodeRunHealth(report(5));
    expect(() => decodeRunHealth(good.subarray(0, good.length - 8))).toThrow(/runs past the end/);
    expect(() => decodeRunHealth(new TextEncoder().encode('XXXX\0\0\0\0'))).toThrow(/bad magic/);
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(4, MAX_RUN_HEALTH_HEADER + 1, true);
    expect(() => decodeRunHealth(huge)).toThrow(/header of/);
    // A header that declares a billion images over a few bytes of columns: refused before any allocation of that size.
    const json = new TextDecoder().decode(good.subarray(8, 8 + new DataView(good.buffer).getUint32(4, true)));
    const lying = JSON.parse(json) as { count: number; columns: { name: string; length: number }[] };
    lying.count = 1e9;
    for (const c of lying.columns) if (c.name !== 'reconIndex' && c.name !== 'recon') c.length = c.name === 'means' ? 2e9 : 1e9;
    const text = new TextEncoder().encode(JSON.stringify(lying));
    const forged = new Uint8Array(8 + text.length + 64);
    forged.set(new TextEncoder().encode('VSRH'));
    new DataView(forged.buffer).setUint32(4, text.length, true);
    forged.set(text, 8);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => decodeRunHealth(forged)).toThrow(/runs past the end/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    // A column whose length is not what the count implies.
    const short = JSON.parse(json) as { columns: { name: string; length: number }[] };
    short.columns.find((c) => c.name === 'elbo')!.length = 4;
    const shortText = new TextEncoder().encode(JSON.stringify(short));
    const shortBytes = new Uint8Array(8 + shortText.length + 256);
    shortBytes.set(new TextEncoder().encode('VSRH'));
    new DataView(shortBytes.buffer).setUint32(4, shortText.length, true);
    shortBytes.set(shortText, 8);
    expect(() => decodeRunHealth(shortBytes)).toThrow(/unexpected column .*elbo/);
  });
});
