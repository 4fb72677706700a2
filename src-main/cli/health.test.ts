// `vae-studio health` through the built CLI and its real import child: the leaking
// near-duplicate a user planted is printed by path, as JSON and for people. Needs `npm run build`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { HealthItem, HealthSummary } from '@shared/health';
import { tempDir } from '../core/testing';
import { spawnSync } from 'node:child_process';
import { cliBin, requireBuiltApp, runCli } from './testing';

let dir: ReturnType<typeof tempDir>;

/** A smooth random texture (never near-blank, never near another seed's). */
function texture(seed: number): Buffer {
  const size = 24;
  const raw = new Uint8Array(size * size);
  let s = seed * 2654435761 + 7;
  for (let i = 0; i < raw.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    raw[i] = s >>> 24;
  }
  const out = Buffer.alloc(raw.length);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    let sum = 0;
    let n = 0;
    for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) {
      if (y + dy >= 0 && y + dy < size && x + dx >= 0 && x + dx < size) {
        sum += raw[(y + dy) * size + x + dx]!;
        n++;
      }
    }
    out[y * size + x] = Math.max(0, Math.min(255, Math.round((sum / n - 128) * 4 + 128)));
  }
  return out;
}

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  const put = async (rel: string, pixels: Buffer): Promise<void> => {
    mkdirSync(join(dir.path, 'set', rel, '..'), { recursive: true });
    writeFileSync(join(dir.path, 'set', rel), await sharp(pixels, { raw: { width: 24, height: 24, channels: 1 } }).png().toBuffer());
  };
  for (let i = 0; i < 10; i++) await put(`train/cat/c${i}.png`, texture(i + 1));
  for (let i = 0; i < 3; i++) await put(`test/cat/t${i}.png`, texture(50 + i));
  // c4 re-saved a shade darker into test: a leak.
  await put('test/cat/c4-again.png', Buffer.from(texture(5).map((v) => Math.max(0, v - 1))));
});
afterAll(() => dir.cleanup());

describe('vae-studio health', () => {
  it('prints the leaking pair by path, as JSON and as text, and refuses a bad --top or --kind by name', () => {
    const home = join(dir.path, 'home');
    const imported = runCli(home, ['import', join(dir.path, 'set'), '--size', '24', '--name', 'cats']);
    expect(imported.status, imported.stderr).toBe(0);

    const json = runCli<{ type: string; summary?: HealthSummary; findings?: Record<string, { total: number; items: HealthItem[] }> }>(home, ['health', '--dataset', 'cats', '--top', '5']);
    expect(json.status, json.stderr).toBe(0);
    const result = json.lines.at(-1)!;
    expect(result.summary!.nearDuplicates).toMatchObject({ total: 1, leaking: 1 });
    const leak = result.findings!['leakage']!;
    expect(leak.total).toBe(1);
    expect(new Set(leak.items[0]!.images.map((i) => `${i.split}:${i.path}`))).toEqual(new Set(['train:train/cat/c4.png', 'test:test/cat/c4-again.png']));
    expect(result.findings!['blank']!.total).toBe(0);

    const text = spawnSync(process.execPath, [cliBin, 'health', '--dataset', 'cats', '--kind', 'leakage', '--home', home], { encoding: 'utf8' });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('near-duplicate pairs: 1, of which across splits (leakage): 1');
    expect(text.stdout).toMatch(/train\/cat\/c4\.png \(train, cat\) ≈ test\/cat\/c4-again\.png \(test, cat\).*LEAK|test\/cat\/c4-again\.png \(test, cat\) ≈ train\/cat\/c4\.png \(train, cat\).*LEAK/);

    const badTop = runCli(home, ['health', '--dataset', 'cats', '--top', 'lots']);
    expect(badTop.status).toBe(1);
    expect(badTop.lines.at(-1)).toMatchObject({ type: 'error', error: { details: { field: 'top' } } });
    const badKind = runCli(home, ['health', '--dataset', 'cats', '--kind', 'weird']);
    expect(badKind.lines.at(-1)).toMatchObject({ type: 'error', error: { details: { field: 'kind' } } });
    const missing = runCli(home, ['health', '--dataset', 'dogs']);
    expect(missing.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'not_found', details: { field: 'dataset' } } });
  });

  it('--run scores every image with the run and prints its rankings; refuses a bad --score and a run of another dataset by name', () => {
    const home = join(dir.path, 'home-run');
    expect(runCli(home, ['import', join(dir.path, 'set'), '--size', '24', '--name', 'cats']).status).toBe(0);
    const trained = runCli(home, ['train', '--dataset', 'cats', '--architecture', 'mlp', '--latent', '2', '--hidden', '16', '--epochs', '1', '--batch', '8', '--backend', 'cpu']);
    expect(trained.status, trained.stderr).toBe(0);
    type Line = { type: string; summary?: { count: number; iwaeSamples: number }; rankings?: Record<string, { total: number; items: { path: string; split: string; reason: string }[] }> };
    const scored = runCli<Line>(home, ['health', '--dataset', 'cats', '--run', '1', '--top', '3', '--k', '2']);
    expect(scored.status, scored.stderr).toBe(0);
    expect(scored.lines.some((l) => l.type === 'progress')).toBe(true);
    const result = scored.lines.at(-1)!;
    expect(result.summary).toMatchObject({ count: 14, iwaeSamples: 2 });
    expect(Object.keys(result.rankings!)).toEqual(['atypical', 'complexity', 'elbo', 'iwae']);
    expect(result.rankings!['atypical']!.total).toBe(14);
    expect(result.rankings!['atypical']!.items).toHaveLength(3);
    expect(result.rankings!['elbo']!.items[0]!.reason).toMatch(/^−ELBO [\d.]+ bits\/dim$/);
    // A second call reads the stored scores (no progress: nothing is scored again).
    const again = runCli<Line>(home, ['health', '--run', '1', '--score', 'elbo', '--top', '1']);
    expect(again.lines.some((l) => l.type === 'progress')).toBe(false);
    expect(Object.keys(again.lines.at(-1)!.rankings!)).toEqual(['elbo']);

    const badScore = runCli(home, ['health', '--run', '1', '--score', 'weird']);
    expect(badScore.lines.at(-1)).toMatchObject({ type: 'error', error: { details: { field: 'score' } } });
    expect(runCli(home, ['import', join(dir.path, 'set'), '--size', '24', '--name', 'dogs']).status).toBe(0);
    const other = runCli(home, ['health', '--dataset', 'dogs', '--run', '1']);
    expect(other.lines.at(-1)).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/Run #1 was trained on dataset #1 \("cats"\), not on "dogs"/) } });
  }, 120_000);
});
