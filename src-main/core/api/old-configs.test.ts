// Runs stored by an earlier version, whose config names the architecture `model` and
// keeps a VQ-VAE's code positions in `latent`, through the core and the real built
// worker (`npm run build` first): the workspace opens, and each run resumes, explores
// and exports with the settings it was trained with.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appPaths } from '../../paths';
import type { Core } from '../core';
import { tempDir, testCore, writeImageFolder } from '../testing';

let dir: ReturnType<typeof tempDir>;
let home = '';
let core: Core;
const runs = { vq: 0, vae: 0 };
const POSITIONS = 5;

const open = (): Core => testCore(home, { workerEntry: appPaths.workerEntry, maxConcurrentRuns: 2 });

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir();
  home = join(dir.path, 'home');
  core = open();
  await writeImageFolder(join(dir.path, 'shapes'), ['a', 'b'], 16, { size: 8 });
  const project = await core.call('projects.create', { name: 'old' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'shapes'), size: 8, testFraction: 0.2 });
  const common = { architecture: 'mlp', hidden: 16, batchSize: 16, backend: 'cpu', iwaeSamples: 4 } as const;
  const vq = await core.call('runs.create', {
    projectId: project.id,
    datasetId: dataset.id,
    config: { ...common, family: 'vqvae', codePositions: POSITIONS, codebookSize: 6, codeDim: 2, epochs: 3, priorEpochs: 1 },
  });
  const vae = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { ...common, latent: 3, epochs: 2 } });
  await Promise.all([core.runs.settled(vq.id), core.runs.settled(vae.id)]);
  runs.vq = vq.id;
  runs.vae = vae.id;
  await core.close();

  // Rewrite both rows as an earlier version stored them, and leave the VAE interrupted.
  const db = new Database(join(home, 'studio.db'));
  for (const id of [runs.vq, runs.vae]) {
    const row = db.prepare('SELECT config_json FROM runs WHERE id = ?').get(id) as { config_json: string };
    const { architecture, codePositions, ...rest } = JSON.parse(row.config_json) as Record<string, unknown>;
    const old = { ...rest, model: architecture, ...(rest['family'] === 'vqvae' ? { latent: codePositions } : {}) };
    db.prepare('UPDATE runs SET config_json = ? WHERE id = ?').run(JSON.stringify(old), id);
  }
  db.prepare(`UPDATE runs SET status = 'interrupted' WHERE id = ?`).run(runs.vae);
  db.close();
  core = open();
}, 240_000);

afterAll(async () => {
  await core?.close();
  dir?.cleanup();
});

describe('runs stored with the config names of earlier versions', () => {
  it('read in today’s names', async () => {
    const stored = new Database(join(home, 'studio.db'), { readonly: true });
    expect(JSON.parse((stored.prepare('SELECT config_json FROM runs WHERE id = ?').get(runs.vq) as { config_json: string }).config_json)).toMatchObject({ model: 'mlp', latent: POSITIONS });
    stored.close();
    expect((await core.call('runs.get', { runId: runs.vq })).config).toMatchObject({ architecture: 'mlp', family: 'vqvae', codePositions: POSITIONS });
    expect((await core.call('runs.get', { runId: runs.vae })).config).toMatchObject({ architecture: 'mlp', family: 'vae', latent: 3 });
  });

  it('a VQ-VAE explores its code grid of the stored positions and exports', async () => {
    const info = await core.call('explore.info', { runId: runs.vq });
    expect(info.vq?.grid).toEqual([1, POSITIONS]);
    const exported = await core.call('models.export', { runId: runs.vq, path: join(dir.path, 'vq-export') });
    const imported = await core.call('models.import', { projectId: 1, path: exported.path });
    expect(imported.config).toMatchObject({ architecture: 'mlp', codePositions: POSITIONS });
  }, 120_000);

  it('an interrupted VAE resumes to the end', async () => {
    await core.call('runs.resume', { runId: runs.vae });
    await core.runs.settled(runs.vae);
    const run = await core.call('runs.get', { runId: runs.vae });
    expect(run.status, JSON.stringify(run.error)).toBe('finished');
    expect(run.config).toMatchObject({ architecture: 'mlp', latent: 3 });
  }, 120_000);
});
