// Helpers shared by the core's tests: a throwaway workspace and image folders.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createCore, type Core, type CoreOptions } from './core';

export function tempDir(prefix = 'vae-studio-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function testCore(home: string, overrides: Partial<CoreOptions> = {}): Core {
  return createCore({
    home,
    mode: 'cli',
    version: '0.0.0-test',
    workerEntry: join(import.meta.dirname, 'jobs', 'fixtures', 'fake-worker.mjs'),
    sampleDatasetPath: join(home, 'no-sample'),
    ...overrides,
  });
}

/** Writes `perLabel` small images per label: a bright square whose place depends on the label. */
export async function writeImageFolder(
  root: string,
  labels: string[],
  perLabel: number,
  options: { size?: number; format?: 'png' | 'jpeg' } = {},
): Promise<void> {
  const size = options.size ?? 16;
  for (const [li, label] of labels.entries()) {
    mkdirSync(join(root, label), { recursive: true });
    for (let i = 0; i < perLabel; i++) {
      const pixels = Buffer.alloc(size * size);
      const offset = (li * 3 + i) % (size - 4);
      for (let y = offset; y < offset + 4; y++) for (let x = offset; x < offset + 4; x++) pixels[y * size + x] = 255;
      // A faint code in the bottom row keeps every file distinct (imports drop duplicates).
      pixels[(size - 1) * size] = 1 + (i % 250);
      pixels[(size - 1) * size + 1] = 1 + li;
      pixels[(size - 1) * size + 2] = 1 + Math.floor(i / 250);
      const image = sharp(pixels, { raw: { width: size, height: size, channels: 1 } });
      const file = join(root, label, `${label}-${i}.${options.format === 'jpeg' ? 'jpg' : 'png'}`);
      writeFileSync(file, await (options.format === 'jpeg' ? image.jpeg() : image.png()).toBuffer());
    }
  }
}

export function until(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (predicate()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 20);
    };
    check();
  });
}

/** Width and height of a PNG data URL (what Explore and Inpaint answer). */
export async function pngSize(dataUrl: string): Promise<[number, number]> {
  if (!/^data:image\/png;base64,/.test(dataUrl)) throw new Error(`not a PNG data URL: ${dataUrl.slice(0, 40)}…`);
  const meta = await sharp(Buffer.from(dataUrl.split(',')[1]!, 'base64')).metadata();
  return [meta.width ?? 0, meta.height ?? 0];
}
