// Property-based abuse of every request: a valid payload with one field broken (wrong
// type, out of range, unknown key) must be refused by the schema with a typed error that
// names that field, and must write nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { requestSchemas, type RequestName } from '@shared/api';
import { tempDir, testCore, writeImageFolder } from '../testing';
import type { Core } from '../core';

let dir: ReturnType<typeof tempDir>;
let core: Core;

/** One valid payload per request, against the rows created in beforeAll (ids 1). */
const samples: Record<RequestName, Record<string, unknown>> = {
  'app.info': {},
  'settings.get': {},
  'settings.setRemote': { redisUrl: null, redisCaFile: null },
  'projects.list': {},
  'projects.create': { name: 'fuzzed' },
  'datasets.list': { projectId: 1 },
  'datasets.import': { projectId: 1, folder: '/nonexistent-fuzz-folder', size: 16, channels: 1, fit: 'pad', background: '#102030', binarize: true, labels: false, layout: 'flat', validationFraction: 0.1, testFraction: 0.1, splitSeed: 3, jobId: 'j' },
  'datasets.inspect': { folder: '/nonexistent-fuzz-folder', layout: 'split', labels: true, validationFraction: 0.1, testFraction: 0.2 },
  'datasets.refresh': { datasetId: 1, jobId: 'j2' },
  'datasets.delete': { datasetId: 1 },
  'datasets.skippedCsv': { datasetId: 1 },
  'datasets.cancelImport': { jobId: 'j' },
  'datasets.preview': { datasetId: 1, count: 4, perClass: 2 },
  'datasets.health': { datasetId: 1, kind: 'leakage', sort: 'index', split: 'test', label: 'a', offset: 0, limit: 10, thumbnails: true },
  'datasets.computeHealth': { datasetId: 1 },
  'datasets.healthCsv': { datasetId: 1 },
  'datasets.exclude': { datasetId: 1, indices: [0], name: 'fewer' },
  'runs.list': { projectId: 1 },
  'runs.query': { projectId: 1, filter: 'beta<1', sort: 'latent', descending: false, offset: 0, limit: 10 },
  'runs.groups': { projectId: 1, filter: 'status:finished', by: ['beta'], metrics: ['loss'], limit: 10 },
  'runs.points': { projectId: 1, filter: '', keys: ['beta', 'loss'], limit: 10 },
  'runs.importance': { projectId: 1, filter: '', metric: 'loss' },
  'runs.csv': { projectId: 1, filter: 'tag:x', sort: 'id', descending: true },
  'runs.get': { runId: 1 },
  'runs.create': { projectId: 1, datasetId: 1, name: 'r', config: { latent: 4, epochs: 1 } },
  'runs.cancel': { runId: 1 },
  'runs.resume': { runId: 1 },
  'runs.pause': { runId: 1 },
  'runs.unpause': { runId: 1 },
  'runs.evaluate': { runId: 1 },
  'runs.scoreHealth': { runId: 1 },
  'runs.cancelHealth': { runId: 1 },
  'runs.health': { runId: 1 },
  'runs.healthNeighbours': { runId: 1, index: 0 },
  'runs.healthCsv': { runId: 1 },
  'runs.checkpoints': { runId: 1 },
  'runs.delete': { runId: 1 },
  'sweeps.create': { projectId: 1, datasetId: 1, config: { epochs: 1 }, grid: ['latent=2,3'], concurrency: 1 },
  'sweeps.list': { projectId: 1 },
  'sweeps.get': { sweepId: 1 },
  'sweeps.pause': { sweepId: 1 },
  'sweeps.resume': { sweepId: 1 },
  'sweeps.cancel': { sweepId: 1 },
  'runs.metrics': { runId: 1, names: ['loss'], afterStep: 0 },
  'runs.update': { runId: 1, name: 'n', notes: 'x', tags: ['t'] },
  'runs.artifacts': { runId: 1, kind: 'samples', epoch: 1, latest: true },
  'runs.artifactEpochs': { runId: 1, afterEpoch: 2 },
  'models.export': { runId: 1, checkpoint: 'last', path: '/nonexistent-fuzz-folder/model.vaestudio', format: 'onnx' },
  'models.import': { projectId: 1, path: '/nonexistent-fuzz-folder/model.vaestudio' },
  'explore.info': { runId: 1, checkpoint: 'last' },
  'explore.images': { runId: 1, split: 'test', offset: 0, count: 4, indices: [0] },
  'explore.traverse': { runId: 1, base: 0, dims: [0], count: 2, range: 2, steps: 5 },
  'explore.latentMap': { runId: 1, max: 100, manifoldSteps: 8 },
  'explore.interpolate': { runId: 1, from: 0, to: 1, steps: 5, mode: 'spherical' },
  'explore.samples': { runId: 1, count: 9, temperature: 0.8, seed: 4 },
  'explore.generateClass': { runId: 1, label: 1, count: 9, temperature: 0.8, seed: 4 },
  'explore.swapClass': { runId: 1, index: 0, labels: [0, 1] },
  'explore.codes': { runId: 1, index: 0, from: 3, count: 4 },
  'explore.close': { runId: 1 },
  'inpaint.run': { runId: 1, checkpoint: 'best', jobId: 'j1', image: { index: 0 }, mask: 'AAAA', method: 'metropolis', iterations: 5, samples: 2, proposals: 8, seed: 3 },
  'inpaint.cancel': { jobId: 'j1' },
  'inpaint.prepareImage': { runId: 1, data: 'iVBORw0KGgo=', name: 'a.png' },
  'inpaint.evaluate': { runId: 1, mask: 'top', methods: ['importance'], images: 10, iterations: 3, proposals: 4, seed: 1 },
};

const junk = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.double(),
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
  fc.constantFrom(-1, 0, 1.5, 1e12, Number.NaN, '', ' ', '../../etc/passwd', 'x'.repeat(5000)),
);

const counts = (): string =>
  JSON.stringify(
    ['projects', 'datasets', 'runs', 'metrics', 'artifacts', 'checkpoints', 'sweeps'].map((t) => core.workspace.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get()),
  );

beforeAll(async () => {
  dir = tempDir();
  process.env.FAKE_WORKER_MODE = 'finish';
  core = testCore(join(dir.path, 'home'));
  await writeImageFolder(join(dir.path, 'img'), ['a'], 2, { size: 8 });
  await core.call('projects.create', { name: 'p' });
  await core.call('datasets.import', { projectId: 1, folder: join(dir.path, 'img'), size: 8 });
  const run = await core.call('runs.create', { projectId: 1, datasetId: 1, config: {} });
  await core.runs.settled(run.id);
});
afterAll(async () => {
  await core.close();
  delete process.env.FAKE_WORKER_MODE;
  dir.cleanup();
});

describe('every request refuses malformed input with a typed error and no write', () => {
  it('has a valid sample for every request (add one when you add a request)', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(requestSchemas).sort());
    for (const [name, sample] of Object.entries(samples)) {
      expect(requestSchemas[name as RequestName].safeParse(sample).success, name).toBe(true);
    }
  });

  for (const name of Object.keys(samples) as RequestName[]) {
    it(`${name}: one broken field is named in the error`, async () => {
      const sample = samples[name];
      const keys = Object.keys(sample);
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.constantFrom(...keys, '__unknown__'), fc.constant('__unknown__')), junk, async (key, value) => {
          const payload = { ...sample, [key === '__unknown__' ? 'unexpectedField' : key]: value };
          fc.pre(!requestSchemas[name].safeParse(payload).success);
          const before = counts();
          const result = await core.handle(name, payload);
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(result.error.code).toBe('invalid_input');
          const field = String(result.error.details?.field);
          if (key === '__unknown__') expect(field).toBe('(input)');
          else expect(field === key || field.startsWith(`${key}.`)).toBe(true);
          expect(counts()).toBe(before);
        }),
        { numRuns: 60, seed: 20261123 },
      );
    });
  }

  it('refuses payloads that are not objects at all', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...(Object.keys(samples) as RequestName[])), fc.oneof(fc.string(), fc.integer(), fc.array(fc.anything(), { maxLength: 3 }), fc.boolean()), async (name, payload) => {
        const before = counts();
        const result = await core.handle(name, payload);
        expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
        expect(counts()).toBe(before);
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});
