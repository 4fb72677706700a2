// Helpers shared by the core's tests: a throwaway workspace, a project with a trained run,
// rows written straight to the database, image folders, hostile PNGs and child processes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, deflateRawSync, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { RequestOutput } from '@shared/api';
import { createCore, type Core, type CoreOptions } from './core';
import type { Db } from './store/db';

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

/** Waits for a run to end; throws, with its status and error, unless it finished. */
export async function settledFinished(core: Core, runId: number): Promise<void> {
  await core.runs.settled(runId);
  const run = await core.call('runs.get', { runId });
  if (run.status !== 'finished') throw new Error(`run ${runId} ended ${run.status}, not finished: ${JSON.stringify(run.error ?? null)}`);
}

/**
 * A new project `project` with `folder` imported at `size` (a fifth held out for test),
 * and one run of `config` trained on it to its end (throws unless it finished).
 */
export async function trainedRun(
  core: Core,
  options: { project: string; folder: string; size: number; config: object; name?: string },
): Promise<{ dataset: RequestOutput<'datasets.import'>; runId: number }> {
  const project = await core.call('projects.create', { name: options.project });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: options.folder, size: options.size, testFraction: 0.2 });
  const run = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, name: options.name, config: options.config });
  await settledFinished(core, run.id);
  return { dataset, runId: run.id };
}

/** A throwaway workspace (its core in `dir`/home) holding one project, 'p'. */
export interface TestProject {
  dir: ReturnType<typeof tempDir>;
  core: Core;
  projectId: number;
}

export async function openTestProject(): Promise<TestProject> {
  const dir = tempDir();
  const core = testCore(join(dir.path, 'home'));
  return { dir, core, projectId: (await core.call('projects.create', { name: 'p' })).id };
}

/** Closes the core of `openTestProject` and removes its folder. */
export async function closeTestProject({ dir, core }: Omit<TestProject, 'projectId'>): Promise<void> {
  await core.close();
  dir.cleanup();
}

/**
 * The rows a runs test stands on, written straight to the database: project 1 ('p') and
 * its dataset 1 (one 8×8 grey image, named `datasetName`).
 */
export function insertProjectAndDataset(db: Db, datasetName = 'd'): void {
  db.prepare(`INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 'now')`).run();
  db.prepare(
    `INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json,
       label_counts_json, skipped_json, settings_json, blob_hash, created_at)
     VALUES (1, 1, ?, '/d', 8, 8, 1, 1, '[]', '{}', '[]', '{}', 'h', 'now')`,
  ).run(datasetName);
}

/** One stored run for `insertRuns`: a string config or summary is stored as written (cut short, say). */
export interface StoredRun {
  id?: number;
  name: string;
  config: unknown;
  status?: string;
  summary?: unknown;
  tags?: string[];
}

/**
 * Runs of project 1 on dataset 1 (see `insertProjectAndDataset`), written straight to the
 * database in one transaction, 'finished' unless told. A column left out keeps the
 * database's default, so this also writes to databases of older versions.
 */
export function insertRuns(db: Db, runs: Iterable<StoredRun>): void {
  const statements = new Map<string, ReturnType<Db['prepare']>>();
  const json = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
  db.transaction(() => {
    for (const run of runs) {
      const row: Record<string, unknown> = run.id === undefined ? {} : { id: run.id };
      Object.assign(row, { project_id: 1, dataset_id: 1, name: run.name, config_json: json(run.config), status: run.status ?? 'finished', created_at: 'now' });
      if (run.summary !== undefined) row.summary_json = json(run.summary);
      if (run.tags !== undefined) row.tags_json = JSON.stringify(run.tags);
      const columns = Object.keys(row);
      const key = columns.join(',');
      let insert = statements.get(key);
      if (!insert) {
        insert = db.prepare(`INSERT INTO runs (${key}) VALUES (${columns.map(() => '?').join(', ')})`);
        statements.set(key, insert);
      }
      insert.run(Object.values(row));
    }
  })();
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

/** Whether a process of this id exists (a zombie still does). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Still running: not gone and not a zombie. An orphan that exited stays a zombie until
 * PID 1 reaps it, which some container inits do only every second or two.
 */
export function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** The ids of a process's children (none once it is gone). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Width and height of a PNG data URL (what Explore and Inpaint answer). */
export async function pngSize(dataUrl: string): Promise<[number, number]> {
  if (!/^data:image\/png;base64,/.test(dataUrl)) throw new Error(`not a PNG data URL: ${dataUrl.slice(0, 40)}…`);
  const meta = await sharp(Buffer.from(dataUrl.split(',')[1]!, 'base64')).metadata();
  return [meta.width ?? 0, meta.height ?? 0];
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** One PNG chunk: length, type, body, CRC. */
export function pngChunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/**
 * A zlib stream of `total` zero bytes (a multiple of 1 MiB), built without holding them:
 * one MiB of zeros deflated with a full flush (byte-aligned blocks that refer to nothing
 * before them) repeated, an empty final block, and the Adler-32 of `total` zeros.
 */
export function zlibZeros(total: number): Buffer {
  const mib = 1024 * 1024;
  if (total % mib !== 0) throw new Error('zlibZeros: total must be a multiple of 1 MiB');
  const piece = deflateRawSync(Buffer.alloc(mib), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((total % 65521) << 16) | 1) >>> 0, 0);
  return Buffer.concat([Buffer.from([0x78, 0xda]), ...Array.from({ length: total / mib }, () => piece), Buffer.from([0x03, 0x00]), adler]);
}

/**
 * A PNG that declares `width`×`height` pixels and carries image data inflating to
 * `inflatedBytes` (default: none to speak of, the classic huge-header bomb).
 */
export function pngBomb(width: number, height: number, options: { inflatedBytes?: number; bitDepth?: number; colorType?: number; interlace?: number } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = options.bitDepth ?? 8;
  ihdr[9] = options.colorType ?? 0;
  ihdr[12] = options.interlace ?? 0;
  const data = options.inflatedBytes ? zlibZeros(options.inflatedBytes) : deflateSync(Buffer.alloc(1024));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', data),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
