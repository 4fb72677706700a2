import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { requestSchemas, type RequestName } from '@shared/api';
import { tempDir, testCore, writeImageFolder } from './testing';
import type { Core } from './core';

let dir: ReturnType<typeof tempDir>;
let core: Core;

const rowCounts = (): Record<string, number> =>
  Object.fromEntries(
    ['projects', 'datasets', 'runs', 'metrics', 'artifacts'].map((t) => [
      t,
      core.workspace.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number,
    ]),
  );

beforeEach(() => {
  dir = tempDir();
  core = testCore(join(dir.path, 'home'));
});
afterEach(async () => {
  delete process.env.FAKE_WORKER_MODE;
  await core.close();
  dir.cleanup();
});

/**
 * Project 'p' beside the folder `images` of `perLabel` 8×8 images per label, the fake
 * worker finishing every run at once (afterEach puts it back).
 */
async function finishingProject(labels = ['a'], perLabel = 2): Promise<{ projectId: number; folder: string }> {
  process.env.FAKE_WORKER_MODE = 'finish';
  const folder = join(dir.path, 'images');
  await writeImageFolder(folder, labels, perLabel, { size: 8 });
  return { projectId: (await core.call('projects.create', { name: 'p' })).id, folder };
}

/** An image artifact of a run, stored as a blob of `bytes`; answers the blob's hash. */
function storeArtifact(runId: number, kind: string, epoch: number, bytes: string): string {
  const hash = core.workspace.blobs.put(Buffer.from(bytes));
  core.workspace.db.prepare(`INSERT INTO artifacts (run_id, kind, epoch, blob_hash, mime, created_at) VALUES (?, ?, ?, ?, 'image/png', 'now')`).run(runId, kind, epoch, hash);
  return hash;
}

describe('api validation', () => {
  const bad: [RequestName, unknown, string][] = [
    ['projects.create', { name: '' }, 'name'],
    ['projects.create', { name: 'x'.repeat(500) }, 'name'],
    ['projects.create', { name: 'ok', extra: 1 }, '(input)'],
    ['datasets.import', { projectId: 1, folder: '/tmp', size: 4 }, 'size'],
    ['datasets.import', { projectId: 1, folder: '/tmp', channels: 2 }, 'channels'],
    ['datasets.import', { projectId: -1, folder: '/tmp' }, 'projectId'],
    ['runs.create', { projectId: 1, datasetId: 1, config: { latent: 0 } }, 'config.latent'],
    ['runs.create', { projectId: 1, datasetId: 1, config: { model: 'transformer' } }, 'config.architecture'],
    ['runs.create', { projectId: 1, datasetId: 1, config: { learningRate: 'fast' } }, 'config.learningRate'],
    ['runs.metrics', { runId: 1.5 }, 'runId'],
  ];
  for (const [name, input, field] of bad) {
    it(`${name} rejects ${JSON.stringify(input).slice(0, 60)} naming "${field}" and writes nothing`, async () => {
      const before = rowCounts();
      const result = await core.handle(name, input);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('invalid_input');
      expect(result.error.details?.field).toBe(field);
      expect(result.error.message).toContain(field);
      expect(rowCounts()).toEqual(before);
    });
  }

  it('answers an unknown request with a typed error', async () => {
    const result = await core.handle('system.exec', { cmd: 'rm -rf /' });
    expect(result).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('answers every request with an envelope, even for garbage input', async () => {
    for (const name of Object.keys(requestSchemas)) {
      for (const input of [null, 42, 'text', [], { projectId: 'x' }]) {
        const result = await core.handle(name, input);
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(typeof result.error.message).toBe('string');
      }
    }
  });

  it('refuses a duplicate project name as a conflict on the name field', async () => {
    await core.call('projects.create', { name: 'Digits' });
    const result = await core.handle('projects.create', { name: 'Digits' });
    expect(result).toMatchObject({ ok: false, error: { code: 'conflict', details: { field: 'name' } } });
  });
});

describe('dataset import', () => {
  it('imports labelled PNG and JPEG images, resizing and reporting every skipped file', async () => {
    const folder = join(dir.path, 'images');
    await writeImageFolder(folder, ['cat', 'dog'], 3, { size: 20 });
    await writeImageFolder(folder, ['dog'], 2, { size: 40, format: 'jpeg' });
    writeFileSync(join(folder, 'cat', 'notes.txt'), 'not an image');
    writeFileSync(join(folder, 'cat', 'empty.png'), '');
    writeFileSync(join(folder, 'dog', 'fake.png'), 'this is text, not a PNG');
    const png = readdirSync(join(folder, 'cat')).find((f) => f.endsWith('.png') && f !== 'empty.png')!;
    const { readFileSync } = await import('node:fs');
    writeFileSync(join(folder, 'cat', 'truncated.png'), readFileSync(join(folder, 'cat', png)).subarray(0, 40));
    mkdirSync(join(folder, 'loop'));
    symlinkSync(folder, join(folder, 'loop', 'again'));

    const projectId = (await core.call('projects.create', { name: 'p' })).id;
    const progress: string[] = [];
    core.subscribe((m) => {
      if (m.event === 'dataset.progress') progress.push(m.payload.phase);
    });
    const dataset = await core.call('datasets.import', { projectId: projectId, folder, size: 12, jobId: 'job-1' });
    expect(dataset).toMatchObject({ count: 8, width: 12, height: 12, channels: 1, labels: ['cat', 'dog'], labelCounts: [3, 5] });
    const reasons = Object.fromEntries(dataset.skipped.map((s) => [s.path, s.reason]));
    expect(reasons['cat/notes.txt']).toMatch(/not an image file type/);
    expect(reasons['cat/empty.png']).toMatch(/empty file/);
    expect(reasons['dog/fake.png']).toMatch(/not a readable image|unsupported|corrupt/i);
    expect(reasons['cat/truncated.png']).toMatch(/corrupt|truncated|not a readable/i);
    expect(reasons['loop/again']).toMatch(/symlink loop/);
    expect(progress).toContain('decoding');
    expect(progress.at(-1)).toBe('done');
    expect(core.workspace.blobs.has(dataset.contentHash)).toBe(true);

    const preview = await core.call('datasets.preview', { datasetId: dataset.id, count: 4 });
    expect(preview.gridDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(preview.classes).toBeUndefined();
    const perClass = await core.call('datasets.preview', { datasetId: dataset.id, count: 4, perClass: 2 });
    expect(perClass.classes?.map((c) => [c.label, c.shown])).toEqual([['cat', 2], ['dog', 2]]);
  });

  it('names the folder when it does not exist and saves nothing', async () => {
    const projectId = (await core.call('projects.create', { name: 'p' })).id;
    const result = await core.handle('datasets.import', { projectId: projectId, folder: join(dir.path, 'missing') });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input', details: { field: 'folder' } } });
    expect(rowCounts().datasets).toBe(0);
  });

  it('refuses a folder with no readable image', async () => {
    const folder = join(dir.path, 'junk');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.png'), 'nope');
    const projectId = (await core.call('projects.create', { name: 'p' })).id;
    const result = await core.handle('datasets.import', { projectId: projectId, folder });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input', details: { field: 'folder' } } });
    expect(result.ok ? '' : result.error.message).toMatch(/No readable images/);
  });

  it('refuses the classic conv model on images its two stages cannot halve twice, naming the field', async () => {
    const folder = join(dir.path, 'images');
    await writeImageFolder(folder, ['a'], 2, { size: 10 });
    const projectId = (await core.call('projects.create', { name: 'p' })).id;
    const dataset = await core.call('datasets.import', { projectId: projectId, folder, size: 10 });
    const result = await core.handle('runs.create', { projectId: projectId, datasetId: dataset.id, config: { architecture: 'conv', convArch: 'classic' } });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input', details: { field: 'config.architecture' } } });
    expect(rowCounts().runs).toBe(0);
  });
});

describe('runs.create without a decoder', () => {
  it("gives the run the decoder the dataset's pixels call for (8-bit: logistic, binarized: Bernoulli), and keeps one the request names", async () => {
    const { projectId, folder } = await finishingProject(['a', 'b'], 3);
    const grey = await core.call('datasets.import', { projectId: projectId, folder, size: 8 });
    const binary = await core.call('datasets.import', { projectId: projectId, folder, size: 8, binarize: true, name: 'binary' });
    expect(grey.stats?.pixelLevels).toBe('8-bit');
    const create = async (datasetId: number, config?: object): Promise<string> => {
      const run = await core.call('runs.create', { projectId: projectId, datasetId, ...(config && { config }) });
      await core.runs.settled(run.id);
      // As stored: what the worker trained and what a reload reads.
      const stored = core.workspace.db.prepare('SELECT config_json FROM runs WHERE id = ?').pluck().get(run.id) as string;
      expect(JSON.parse(stored).decoder).toBe(run.config.decoder);
      return run.config.decoder;
    };
    expect(await create(grey.id)).toBe('logistic');
    expect(await create(grey.id, { latent: 4 })).toBe('logistic');
    expect(await create(binary.id, { latent: 4 })).toBe('bernoulli');
    expect(await create(grey.id, { decoder: 'bernoulli' })).toBe('bernoulli');
    expect(await create(binary.id, { decoder: 'gaussian', decoderVariance: 'global' })).toBe('gaussian');
    // A decoder setting that needs another decoder is still refused, naming it.
    const refused = await core.handle('runs.create', { projectId: projectId, datasetId: grey.id, config: { decoderVariance: 'global' } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_input', details: { field: 'config.decoderVariance' } } });
  });
});

describe('run history', () => {
  it('deletes a finished run with its metrics and artifact blobs', async () => {
    const { projectId, folder } = await finishingProject();
    const dataset = await core.call('datasets.import', { projectId: projectId, folder, size: 8 });
    const run = await core.call('runs.create', { projectId: projectId, datasetId: dataset.id, config: {} });
    const hash = storeArtifact(run.id, 'samples', 1, 'artifact bytes');
    const busy = await core.handle('runs.delete', { runId: run.id });
    expect(busy).toMatchObject({ ok: false, error: { code: 'conflict' } });
    await core.runs.settled(run.id);
    expect((await core.call('runs.get', { runId: run.id })).status).toBe('finished');
    expect(await core.call('runs.delete', { runId: run.id })).toEqual({ deleted: run.id });
    expect(rowCounts()).toMatchObject({ runs: 0, metrics: 0, artifacts: 0, datasets: 1 });
    expect(core.workspace.blobs.has(hash)).toBe(false);
    expect(core.workspace.blobs.has(dataset.contentHash)).toBe(true);
  });
});

describe('deleting a dataset that runs were trained on', () => {
  it('refuses without withRuns (saying how many), refuses while one trains, then deletes the runs with it', async () => {
    const { projectId, folder } = await finishingProject();
    const dataset = await core.call('datasets.import', { projectId: projectId, folder, size: 8 });
    const other = await core.call('datasets.import', { projectId: projectId, folder, size: 8, name: 'kept' });
    const first = await core.call('runs.create', { projectId: projectId, datasetId: dataset.id, config: {} });
    const second = await core.call('runs.create', { projectId: projectId, datasetId: dataset.id, config: {} });
    const keptRun = await core.call('runs.create', { projectId: projectId, datasetId: other.id, config: {} });
    const hash = storeArtifact(first.id, 'samples', 1, 'first run image');

    const plain = await core.handle('datasets.delete', { datasetId: dataset.id });
    expect(plain).toMatchObject({ ok: false, error: { code: 'conflict', details: { field: 'datasetId', runs: 2 } } });
    // A run still queued or training refuses the whole request; nothing is deleted.
    const busy = await core.handle('datasets.delete', { datasetId: dataset.id, withRuns: true });
    expect(busy).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(rowCounts()).toMatchObject({ runs: 3, datasets: 2 });

    for (const run of [first, second, keptRun]) await core.runs.settled(run.id);
    expect(await core.call('datasets.delete', { datasetId: dataset.id, withRuns: true })).toEqual({ deleted: dataset.id, runsDeleted: 2 });
    expect((await core.call('runs.list', { projectId: projectId })).map((run) => run.id)).toEqual([keptRun.id]);
    expect((await core.call('datasets.list', { projectId: projectId })).map((d) => d.id)).toEqual([other.id]);
    expect(core.workspace.blobs.has(hash)).toBe(false);
    // Same folder, same packed bytes: the blob the kept dataset shares stays.
    expect(core.workspace.blobs.has(other.contentHash)).toBe(true);
  });
});

describe('deleting an imported run', () => {
  it('deletes the held-out images it came with, unless another run was trained on them', async () => {
    const { projectId, folder } = await finishingProject();
    const heldout = await core.call('datasets.import', { projectId: projectId, folder, size: 8, name: 'held-out of a model' });
    const shared = await core.call('datasets.import', { projectId: projectId, folder, size: 8, name: 'shared held-out' });
    const markImported = (runId: number) =>
      core.workspace.db.prepare('UPDATE runs SET imported_json = ? WHERE id = ?').run(JSON.stringify({ card: {}, source: '/m.vaestudio', importedAt: 'now', formatVersion: 1 }), runId);
    const imported = await core.call('runs.create', { projectId: projectId, datasetId: heldout.id, config: {} });
    const importedShared = await core.call('runs.create', { projectId: projectId, datasetId: shared.id, config: {} });
    const trainedOnIt = await core.call('runs.create', { projectId: projectId, datasetId: shared.id, config: {} });
    for (const run of [imported, importedShared, trainedOnIt]) await core.runs.settled(run.id);
    markImported(imported.id);
    markImported(importedShared.id);

    await core.call('runs.delete', { runId: imported.id });
    await core.call('runs.delete', { runId: importedShared.id });
    expect((await core.call('datasets.list', { projectId: projectId })).map((d) => d.name)).toEqual(['shared held-out']);
  });
});

describe('one writer per workspace', () => {
  it('refuses a second writer on the same workspace, naming the holder', async () => {
    expect(() => testCore(core.workspace.home)).toThrow(/in use by another VAE Studio .*pid \d+/);
  });

  it('lets a reader in while another instance holds the workspace, refusing its writes', async () => {
    await core.call('projects.create', { name: 'Shared' });
    const reader = testCore(core.workspace.home, { allowReadOnly: true });
    try {
      expect(reader.workspace.readOnly).toBe(true);
      expect((await reader.call('projects.list', {})).map((p) => p.name)).toEqual(['Shared']);
      const write = await reader.handle('projects.create', { name: 'Nope' });
      expect(write).toMatchObject({ ok: false, error: { code: 'conflict' } });
    } finally {
      await reader.close();
    }
    expect((await core.call('projects.list', {})).map((p) => p.name)).toEqual(['Shared']);
  });

  it('takes over a lock left by a process that died', async () => {
    const home = core.workspace.home;
    await core.close();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(home, 'studio.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, mode: 'crashed app', since: 'then' }));
    core = testCore(home);
    expect(core.workspace.readOnly).toBe(false);
  });
});

describe('run details and images', () => {
  it('renames a run and keeps its notes and tags, and picks images by epoch or newest', async () => {
    const { projectId, folder } = await finishingProject();
    const dataset = await core.call('datasets.import', { projectId: projectId, folder, size: 8 });
    const run = await core.call('runs.create', { projectId: projectId, datasetId: dataset.id, config: {} });
    await core.runs.settled(run.id);
    const updated = await core.call('runs.update', { runId: run.id, name: 'baseline', notes: 'β = 1, first try', tags: ['mnist', 'mnist', 'mlp'] });
    expect(updated).toMatchObject({ name: 'baseline', notes: 'β = 1, first try', tags: ['mnist', 'mlp'] });
    expect((await core.call('runs.update', { runId: run.id, notes: 'second thought' })).name).toBe('baseline');
    const bad = await core.handle('runs.update', { runId: run.id, name: '' });
    expect(bad).toMatchObject({ ok: false, error: { details: { field: 'name' } } });

    for (const [kind, epoch] of [['samples', 1], ['samples', 2], ['reconstructions', 1], ['reconstructions', 2]] as const) storeArtifact(run.id, kind, epoch, `${kind}${epoch}`);
    expect(await core.call('runs.artifactEpochs', { runId: run.id })).toEqual({ reconstructions: [1, 2], samples: [1, 2] });
    const latest = await core.call('runs.artifacts', { runId: run.id, latest: true });
    expect(latest.map((a) => [a.kind, a.epoch]).sort()).toEqual([['reconstructions', 2], ['samples', 2]]);
    const first = await core.call('runs.artifacts', { runId: run.id, epoch: 1, kind: 'samples' });
    expect(first.map((a) => Buffer.from(a.dataUrl!.split(',')[1]!, 'base64').toString())).toEqual(['samples1']);
    // Paged, and by URL: no image inlined, each one's address instead.
    const all = await core.call('runs.artifacts', { runId: run.id });
    const paged = (await Promise.all([0, 1, 2, 3].map((offset) => core.call('runs.artifacts', { runId: run.id, offset, limit: 1, inline: false })))).flat();
    expect(paged.map((a) => a.id)).toEqual(all.map((a) => a.id));
    expect(paged.every((a) => a.dataUrl === undefined && a.url === `artifacts/${a.id}`)).toBe(true);
    expect(core.artifact(String(all[0]!.id))).toMatchObject({ status: 200, bytes: Buffer.from(all[0]!.dataUrl!.split(',')[1]!, 'base64') });
    expect(core.artifact('999999')).toMatchObject({ status: 404 });
  });
});
