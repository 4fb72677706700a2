import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { TrainingCheckpoint } from '../train/checkpoint-state';
import { decodeCheckpoint, encodeCheckpoint, readCheckpointFile, writeFileAtomic } from './checkpoint-file';

const checkpoint: TrainingCheckpoint = {
  epoch: 3,
  step: 120,
  trainer: {
    step: 120,
    tensors: [
      { name: 'param/0:mlp/enc1/w', shape: [2, 3], values: Float32Array.of(1, -2, 3.5, 1e-30, -0, 7) },
      { name: 'param/1:mlp/enc1/b', shape: [3], values: Float32Array.of(0.25, 0.5, 0.75) },
      { name: 'decoder/logVar', shape: [], values: Float32Array.of(-4.6) },
    ],
    rng: { noise: { word: 123456789, spare: 0.5 }, corrupt: { word: 42, spare: null } },
  },
  shuffle: { word: 4_000_000_000, spare: null },
  progress: { elapsedMs: 1234.5, trainedImages: 7680, trainMs: 999, evalLoss: 101.5, bestEvalLoss: 100.25, isBest: false },
};

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('checkpoint files', () => {
  it('round-trips every tensor, random stream and counter exactly, with the run config', () => {
    const loaded = decodeCheckpoint(encodeCheckpoint(checkpoint, { latent: 16 }));
    expect(loaded.config).toEqual({ latent: 16 });
    expect(loaded.checkpoint).toEqual(checkpoint);
  });

  it('refuses a truncated file and a file with one flipped bit', () => {
    const bytes = encodeCheckpoint(checkpoint, {});
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 10))).toThrow(/hash does not match/);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 40]! ^= 1;
    expect(() => decodeCheckpoint(flipped)).toThrow(/hash does not match/);
    expect(() => decodeCheckpoint(new TextEncoder().encode('not a checkpoint at all, just some text here'))).toThrow(/bad magic/);
  });

  it('writes atomically (no temp file left), reports the whole-file hash, and checks it on read', () => {
    dir = mkdtempSync(join(tmpdir(), 'vae-ckpt-'));
    const path = join(dir, 'epoch-3.vaeckpt');
    const bytes = encodeCheckpoint(checkpoint, {});
    const written = writeFileAtomic(path, bytes);
    expect(readdirSync(dir)).toEqual(['epoch-3.vaeckpt']);
    expect(written).toEqual({ path, bytes: bytes.length, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') });
    // Read through a Buffer (which may start anywhere in a shared pool): same values.
    expect(readCheckpointFile(path, written.sha256).checkpoint).toEqual(checkpoint);
    writeFileSync(path, encodeCheckpoint({ ...checkpoint, step: 7 }, {}));
    expect(() => readCheckpointFile(path, written.sha256)).toThrow(/expected hash/);
  });

  it('never takes a torn file for a good one: any prefix, any single damaged byte is refused', () => {
    const bytes = encodeCheckpoint(checkpoint, { latent: 16 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (cut) => {
        expect(() => decodeCheckpoint(bytes.subarray(0, cut))).toThrow(/not a usable checkpoint/);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const damaged = Uint8Array.from(bytes);
        damaged[at]! ^= xor;
        expect(() => decodeCheckpoint(damaged)).toThrow(/not a usable checkpoint/);
      }),
      { numRuns: 300 },
    );
  });

  it('on a full disk throws ENOSPC naming the file, leaves no temp file and keeps the previous checkpoint', () => {
    dir = mkdtempSync(join(tmpdir(), 'vae-ckpt-full-'));
    const mount = join(dir, 'disk');
    mkdirSync(mount);
    // A 256 KiB file system (needs root, as CI has).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mount]);
    try {
      const path = join(mount, 'epoch-1.vaeckpt');
      const small = encodeCheckpoint(checkpoint, {});
      writeFileAtomic(path, small);
      const big = encodeCheckpoint(
        { ...checkpoint, trainer: { ...checkpoint.trainer, tensors: [{ name: 'w', shape: [200_000], values: new Float32Array(200_000) }] } },
        {},
      );
      let error: NodeJS.ErrnoException | undefined;
      try {
        writeFileAtomic(path, big);
      } catch (e) {
        error = e as NodeJS.ErrnoException;
      }
      expect(error?.code).toBe('ENOSPC');
      expect(error?.path).toBe(path);
      expect(readdirSync(mount)).toEqual(['epoch-1.vaeckpt']);
      expect(decodeCheckpoint(readFileSync(path)).checkpoint).toEqual(checkpoint);
    } finally {
      execFileSync('umount', ['-l', mount]);
    }
  });
});
