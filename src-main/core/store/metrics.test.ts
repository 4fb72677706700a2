import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { MetricCursor, MetricPage, MetricPoint } from '@shared/types';
import { tempDir } from '../testing';
import { openDatabase, type Db } from './db';
import { insertMetrics, readMetricPage, readMetrics } from './metrics';

/**
 * runs.metrics reads a long history page by page: every stored point exactly once, each
 * metric's in step order, whatever the page size, with the filters the run page and
 * the comparison use (names, afterStep).
 */
const dir = tempDir();
let db: Db;
const STEPS = 1000;

beforeAll(() => {
  db = openDatabase(join(dir.path, 'studio.db'));
  db.exec(`INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 'now');
    INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json, label_counts_json, skipped_json, settings_json, blob_hash, created_at)
    VALUES (1, 1, 'd', '/x', 8, 8, 1, 10, '[]', '[]', '[]', '{}', 'h', 'now');
    INSERT INTO runs (id, project_id, dataset_id, name, config_json, status, created_at) VALUES (1, 1, 1, 'a', '{}', 'running', 'now'), (2, 1, 1, 'b', '{}', 'running', 'now');`);
  const points: MetricPoint[] = [];
  for (let step = 1; step <= STEPS; step++) {
    points.push({ name: 'loss', step, epoch: Math.ceil(step / 100), value: 100 / step, t: step * 3 });
    points.push({ name: 'recon', step, epoch: Math.ceil(step / 100), value: 90 / step, t: step * 3 });
    if (step % 100 === 0) points.push({ name: 'val_loss', step, epoch: step / 100, value: 120 / step, t: step * 3 + 1 });
  }
  insertMetrics(db, 1, points);
  insertMetrics(db, 2, [{ name: 'loss', step: 1, epoch: 1, value: 7, t: 0 }]);
});
afterAll(() => {
  db.close();
  dir.cleanup();
});

/** Every page from the first, as the run page asks for them, flattened back to points. */
function readAll(options: { names?: string[]; afterStep?: number; limit: number }): { points: MetricPoint[]; pages: MetricPage[] } {
  const pages: MetricPage[] = [];
  let after: MetricCursor | undefined;
  do {
    const page = readMetricPage(db, 1, { ...options, ...(after && { after }) });
    pages.push(page);
    after = page.next ?? undefined;
  } while (after && pages.length < 10_000);
  const points = pages.flatMap((page) =>
    page.series.flatMap((s) => s.step.map((step, i) => ({ name: s.name, step, epoch: s.epoch[i]!, value: s.value[i]!, t: s.t[i]! }))),
  );
  return { points, pages };
}

const byNameThenStep = (a: MetricPoint, b: MetricPoint): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.step - b.step);

describe('readMetricPage', () => {
  it('gives every stored point once, in name and step order, whatever the page size', () => {
    const expected = readMetrics(db, 1).sort(byNameThenStep);
    expect(expected).toHaveLength(2 * STEPS + STEPS / 100);
    for (const limit of [1, 7, 999, 1000, 1001, 2010, 50_000]) {
      const { points, pages } = readAll({ limit });
      expect(points).toEqual(expected);
      expect(pages.every((page) => page.series.reduce((n, s) => n + s.step.length, 0) <= limit)).toBe(true);
      expect(pages.length).toBe(Math.floor(expected.length / limit) + 1);
      expect(pages.at(-1)!.next).toBeNull();
    }
  });

  it('keeps to the names and the steps asked for, and to its own run', () => {
    const { points } = readAll({ names: ['val_loss', 'loss'], afterStep: 950, limit: 13 });
    expect(points.map((p) => `${p.name}@${p.step}`)).toEqual([...Array.from({ length: 50 }, (_, i) => `loss@${951 + i}`), 'val_loss@1000']);
    expect(readMetricPage(db, 2, { limit: 10 })).toEqual({ series: [{ name: 'loss', step: [1], epoch: [1], value: [7], t: [0] }], next: null });
    expect(readMetricPage(db, 3, { limit: 10 })).toEqual({ series: [], next: null });
  });

  it('splits a metric across pages and carries on where the cursor left off', () => {
    const first = readMetricPage(db, 1, { limit: 1500 });
    expect(first.series.map((s) => [s.name, s.step.length])).toEqual([
      ['loss', 1000],
      ['recon', 500],
    ]);
    expect(first.next).toEqual({ name: 'recon', step: 500 });
    const second = readMetricPage(db, 1, { limit: 1500, after: first.next! });
    expect(second.series.map((s) => [s.name, s.step[0], s.step.length])).toEqual([
      ['recon', 501, 500],
      ['val_loss', 100, 10],
    ]);
    expect(second.next).toBeNull();
  });
});
