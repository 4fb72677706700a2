// A real sweep through the built CLI: real worker processes, a real SQLite file, Ctrl+C
// as a real SIGINT. Needs `npm run build` first.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir, until, writeImageFolder } from '../core/testing';
import { cliBin, requireBuiltApp, runCli, type CliResult } from './testing';

let dir: ReturnType<typeof tempDir>;
const home = (): string => join(dir.path, 'home');
const cli = (args: string[]): CliResult => runCli(home(), args, 180_000);
// Tiny runs: 8×8 images, a small MLP, k = 1 for the test bound.
const TINY = ['--batch', '16', '--hidden', '16', '--iwae-samples', '1'];

interface SweepLine {
  type: string;
  sweep: { id: number; status: string; plannedRuns: number; dispatched: number; counts: Record<string, number>; best: { runId: number } | null };
  trials?: { runId: number; status: string; settings: Record<string, number>; seed: number; bestValLoss: number | null }[];
  error?: { code: string; message: string; details?: { field?: string } };
}

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 20, { size: 8 });
  const imported = cli(['import', join(dir.path, 'shapes'), '--size', '8', '--name', 'shapes']);
  expect(imported.status, imported.stderr).toBe(0);
});
afterAll(() => dir.cleanup());

describe('vae-studio sweep', () => {
  it('runs a small grid × seeds sweep of real 1-epoch runs to the end, two at a time', () => {
    const swept = cli(['sweep', '--dataset', 'shapes', '--grid', 'latent=2,3', '--seeds', '2', '--concurrency', '2', '--epochs', '1', ...TINY]);
    expect(swept.status, swept.stderr + JSON.stringify(swept.lines.at(-1))).toBe(0);
    const result = swept.lines.at(-1) as unknown as SweepLine;
    expect(result).toMatchObject({ type: 'result', sweep: { status: 'finished', plannedRuns: 4, dispatched: 4, counts: { finished: 4, active: 0 } } });
    expect(swept.lines.filter((l) => l.type === 'trial').length).toBeGreaterThanOrEqual(4);

    const status = cli(['sweep', 'status', String(result.sweep.id)]);
    const trials = (status.lines.at(-1) as unknown as SweepLine).trials!;
    expect(trials.map((t) => [t.settings.latent, t.seed, t.status])).toEqual([
      [2, 1, 'finished'],
      [2, 2, 'finished'],
      [3, 1, 'finished'],
      [3, 2, 'finished'],
    ]);
    expect(trials.every((t) => Number.isFinite(t.bestValLoss))).toBe(true);

    // Never more than two trials trained at once: their training spans overlap at most pairwise.
    const db = new Database(join(home(), 'studio.db'), { readonly: true });
    const spans = db.prepare('SELECT started_at AS s, finished_at AS f FROM runs WHERE sweep_id = ?').all(result.sweep.id) as { s: string; f: string }[];
    db.close();
    for (const { s } of spans) expect(spans.filter((o) => o.s <= s && s < o.f).length).toBeLessThanOrEqual(2);
  });

  it('stops a poor real trial early by successive halving and says why', () => {
    // A learning rate of 1e-6 barely moves in an epoch: at the first rung it ranks 2 of 2, and only the best 1/2 go on.
    const swept = cli(['sweep', '--dataset', 'shapes', '--grid', 'lr=0.01,0.000001', '--concurrency', '1', '--early-stop', 'halving:eta=2', '--epochs', '3', ...TINY]);
    expect(swept.status, swept.stderr).toBe(0);
    const result = swept.lines.at(-1) as unknown as SweepLine;
    expect(result.sweep).toMatchObject({ status: 'finished', counts: { finished: 1, stopped: 1 } });
    const status = cli(['sweep', 'status', String(result.sweep.id)]);
    const trials = (status.lines.at(-1) as unknown as SweepLine).trials! as unknown as { status: string; epochsDone: number; stoppedEarly: string | null }[];
    expect(trials.map((t) => [t.status, t.epochsDone])).toEqual([
      ['finished', 3],
      ['cancelled', 1],
    ]);
    expect(trials[1]!.stoppedEarly).toMatch(/^successive halving: best validation loss [\d.]+ by epoch 1 ranks 2 of 2 trials at that rung; only the best 1 \(1\/2\) go on$/);
  });

  it('refuses a bad token naming it, and stores nothing', () => {
    const bad = cli(['sweep', '--dataset', 'shapes', '--grid', 'latent=2,3', '--random', 'lr=log:1e-4..x', '--trials', '2']);
    expect(bad.status).toBe(1);
    expect(bad.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'random.0' }, message: expect.stringMatching(/random "lr=log:1e-4..x": "x" is not a number; learningRate takes number/) } });
    const list = cli(['sweep', 'status']);
    expect((list.lines.at(-1) as { sweeps: unknown[] }).sweeps).toHaveLength(2);
  });

  it('Ctrl+C pauses the sweep cleanly; `sweep resume` continues its trials from their checkpoints and finishes it', async () => {
    const child = spawn(process.execPath, [cliBin, 'sweep', '--dataset', 'shapes', '--grid', 'latent=2,3', '--concurrency', '1', '--epochs', '20', ...TINY, '--home', home(), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const db = (): Database.Database => new Database(join(home(), 'studio.db'), { readonly: true });
    // Once the first trial has a checkpoint (an epoch done), interrupt.
    await until(() => {
      const d = db();
      try {
        return (d.prepare(`SELECT COUNT(*) FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.sweep_id = 3`).pluck().get() as number) > 0;
      } finally {
        d.close();
      }
    }, 90_000, 'a first checkpoint');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as SweepLine);
    expect(lines.at(-1)).toMatchObject({ type: 'result', sweep: { id: 3, status: 'paused', dispatched: 1 } });
    const d = db();
    const [trial] = d.prepare('SELECT id, status, epochs_done AS epochs FROM runs WHERE sweep_id = 3').all() as { id: number; status: string; epochs: number }[];
    d.close();
    expect(trial!.status).toBe('interrupted');
    expect(trial!.epochs).toBeGreaterThanOrEqual(1);

    // Resume goes on from the checkpoint: every epoch recorded once, then the second trial.
    const resumed = cli(['sweep', 'resume', '3']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.lines.at(-1)).toMatchObject({ type: 'result', sweep: { status: 'finished', dispatched: 2, counts: { finished: 2 } } });
    const after = db();
    const epochs = after.prepare(`SELECT epoch FROM metrics WHERE run_id = ? AND name = 'val_loss' ORDER BY step`).pluck().all(trial!.id) as number[];
    after.close();
    expect(epochs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  }, 240_000);
});
