import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../testing';
import { openDatabase, type Db } from './db';
import { insertSweep, getSweepRecord, recordStoppedEarly, sweepBestsAt, sweepView } from './sweeps';

/**
 * A sweep of TRIALS trials, each with a 10-epoch validation curve (and a training curve
 * beside it): sweeps.get answers a page of trials with counts and best over all of them,
 * and early stopping reads validation losses through their own index only.
 */
const TRIALS = 3000;
const EPOCHS = 10;
const dir = tempDir();
let db: Db;
const curve = (trial: number, epoch: number): number => 100 + ((trial * 7919) % 997) / 10 + 20 / epoch;

beforeAll(() => {
  db = openDatabase(join(dir.path, 'studio.db'));
  db.exec(`INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 'now');
    INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json, label_counts_json, skipped_json, settings_json, blob_hash, created_at)
    VALUES (1, 1, 'd', '/x', 8, 8, 1, 10, '[]', '[]', '[]', '{}', 'h', 'now');`);
  const request = JSON.stringify({ random: ['learningRate=log:1e-4..1e-2'], trials: 1000, seeds: 3, concurrency: 4 });
  const sweepId = insertSweep(db, { projectId: 1, datasetId: 1, name: 's', requestJson: request, baseConfigJson: JSON.stringify({ epochs: EPOCHS }), plan: [] }, 'now');
  const run = db.prepare(`INSERT INTO runs (id, project_id, dataset_id, name, config_json, status, created_at, epochs_done, sweep_id) VALUES (?, 1, 1, ?, ?, ?, 'now', ?, ?)`);
  const metric = db.prepare('INSERT INTO metrics (run_id, name, step, epoch, value, t_ms) VALUES (?, ?, ?, ?, ?, 0)');
  db.transaction(() => {
    for (let i = 1; i <= TRIALS; i++) {
      // Every tenth still training (at epoch 3), every seventh failed after 5 epochs, one config cut short on disk.
      const status = i % 10 === 0 ? 'running' : i % 7 === 0 ? 'failed' : 'finished';
      const done = status === 'running' ? 3 : status === 'failed' ? 5 : EPOCHS;
      run.run(i, `t${i}`, i === 5 ? '{"latent": 2, "epo' : JSON.stringify({ latent: i % 2 ? 2 : 4, epochs: EPOCHS, seed: 1 }), status, done, sweepId);
      for (let epoch = 1; epoch <= done; epoch++) {
        metric.run(i, 'val_loss', epoch * 10, epoch, curve(i, epoch));
        metric.run(i, 'loss', epoch * 10, epoch, curve(i, epoch) - 1);
      }
    }
  })();
  recordStoppedEarly(db, sweepId, 3, 'median rule: …');
});
afterAll(() => {
  db.close();
  dir.cleanup();
});

describe('a sweep of thousands of trials', () => {
  it('answers one page of trials, with counts and the best trial over every trial', () => {
    const record = getSweepRecord(db, 1)!;
    const view = sweepView(db, record, { offset: 200, limit: 100 });
    expect(view.totalTrials).toBe(TRIALS);
    expect(view.trials.map((t) => t.runId)).toEqual(Array.from({ length: 100 }, (_, i) => 201 + i));
    const t250 = view.trials.find((t) => t.runId === 250)!;
    expect(t250.bestValLoss).toBeCloseTo(curve(250, 3), 10); // still training: the lowest so far
    // Counts and the best, worked out by hand from the same rows.
    const ids = Array.from({ length: TRIALS }, (_, i) => i + 1);
    const active = ids.filter((i) => i % 10 === 0).length;
    const finishedIds = ids.filter((i) => i % 10 !== 0 && i % 7 !== 0 && i !== 3);
    expect(view.sweep.counts).toEqual({ active, finished: finishedIds.length, stopped: 1, ended: TRIALS - active - finishedIds.length - 1 });
    const best = finishedIds.reduce((a, b) => (curve(b, EPOCHS) < curve(a, EPOCHS) ? b : a));
    expect(view.sweep.best).toEqual({ runId: best, name: `t${best}`, valLoss: curve(best, EPOCHS) });
    // The trial whose stored config is cut short is listed, its swept value unknown.
    expect(sweepView(db, record, { offset: 0, limit: 10 }).trials[4]).toMatchObject({ runId: 5, name: 't5', settings: {} });
    // A list of sweeps reads no trials.
    expect(sweepView(db, record).trials).toEqual([]);
  });

  it("early stopping's comparison reads each trial's lowest validation loss by the rung through the validation-loss index, not every curve", () => {
    const atThree = sweepBestsAt(db, 1, 3, false);
    expect(atThree).toHaveLength(TRIALS); // every trial reached epoch 3
    expect(atThree.find((t) => t.runId === 7)!.best).toBeCloseTo(curve(7, 3), 10);
    const finishedAtSix = sweepBestsAt(db, 1, 6, true);
    expect(finishedAtSix.every((t) => t.status === 'finished')).toBe(true);
    expect(finishedAtSix).toHaveLength(Array.from({ length: TRIALS }, (_, i) => i + 1).filter((i) => i % 10 !== 0 && i % 7 !== 0).length);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT MIN(m.value) FROM metrics m WHERE m.run_id = 1 AND m.name = 'val_loss' AND m.epoch <= 3`).all() as { detail: string }[])
      .map((row) => row.detail)
      .join(' ');
    expect(plan).toMatch(/metrics_val_loss_by_epoch \(run_id=\? AND epoch<\?\)/);
    const best = (db.prepare(`EXPLAIN QUERY PLAN SELECT MIN(m.value) FROM metrics m WHERE m.run_id = 1 AND m.name = 'val_loss'`).all() as { detail: string }[])
      .map((row) => row.detail)
      .join(' ');
    expect(best).toMatch(/metrics_val_loss_by_value/);
  });
});
