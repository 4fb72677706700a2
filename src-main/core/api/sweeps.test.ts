import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir, testCore, until, writeImageFolder } from '../testing';
import type { Core } from '../core';
import { runsOfSweep } from '../store/runs';

// Sweeps through the core with the real run manager and fake worker processes
// (jobs/fixtures/fake-worker.mjs): the scheduler's decisions meet real supervision.
let dir: ReturnType<typeof tempDir>;
let core: Core;
const home = (): string => join(dir.path, 'home');
const trials = (sweepId = 1) => runsOfSweep(core.workspace.db, sweepId);

beforeEach(async () => {
  dir = tempDir();
  process.env.FAKE_WORKER_MODE = 'forever';
  core = testCore(home(), { maxConcurrentRuns: 1 });
  await writeImageFolder(join(dir.path, 'img'), ['a', 'b'], 3, { size: 8 });
  await core.call('projects.create', { name: 'p' });
  await core.call('datasets.import', { projectId: 1, folder: join(dir.path, 'img'), size: 8 });
});

afterEach(async () => {
  await core.close();
  delete process.env.FAKE_WORKER_MODE;
  dir.cleanup();
});

describe('sweeps through the core', () => {
  it('trains `concurrency` trials at once even above the app-wide limit; pause holds them, a restart interrupts them, resume finishes the sweep', async () => {
    const sweep = await core.call('sweeps.create', { projectId: 1, datasetId: 1, config: { epochs: 1 }, grid: ['latent=2,3,4'], concurrency: 2 });
    expect(sweep).toMatchObject({ id: 1, status: 'running', plannedRuns: 3, settings: ['latent'] });
    await until(() => trials().filter((r) => r.status === 'running').length === 2, 20_000, 'two trials training');
    expect(trials()).toHaveLength(2);

    await core.call('sweeps.pause', { sweepId: 1 });
    await until(() => trials().every((r) => r.status === 'paused'), 20_000, 'trials paused');
    await expect(core.call('sweeps.pause', { sweepId: 1 })).rejects.toMatchObject({ code: 'conflict' });

    // The app stops and starts again: the paused sweep stays paused, its trials interrupted.
    await core.close();
    process.env.FAKE_WORKER_MODE = 'finish';
    core = testCore(home(), { maxConcurrentRuns: 1 });
    expect(trials().map((r) => r.status)).toEqual(['interrupted', 'interrupted']);
    expect((await core.call('sweeps.get', { sweepId: 1 })).sweep.status).toBe('paused');

    await core.call('sweeps.resume', { sweepId: 1 });
    await until(() => core.workspace.db.prepare('SELECT status FROM sweeps WHERE id = 1').pluck().get() === 'finished', 30_000, 'sweep finished');
    const { sweep: done, trials: rows } = await core.call('sweeps.get', { sweepId: 1 });
    expect(rows.map((t) => [t.settings.latent, t.status])).toEqual([
      [2, 'finished'],
      [3, 'finished'],
      [4, 'finished'],
    ]);
    expect(done).toMatchObject({ dispatched: 3, counts: { finished: 3, active: 0 } });
  });

  it('a sweep left running when the app stopped carries on queueing at the next start', async () => {
    await core.call('sweeps.create', { projectId: 1, datasetId: 1, config: { epochs: 1 }, grid: ['latent=2,3,4'], concurrency: 1 });
    await until(() => trials().some((r) => r.status === 'running'), 20_000, 'a trial training');
    await core.close();
    process.env.FAKE_WORKER_MODE = 'finish';
    core = testCore(home(), { maxConcurrentRuns: 1 });
    await until(() => core.workspace.db.prepare('SELECT status FROM sweeps WHERE id = 1').pluck().get() === 'finished', 30_000, 'sweep finished');
    expect(trials().map((r) => r.status)).toEqual(['finished', 'finished', 'finished']);
  });

  it('cancel stops the training trials and queues nothing more; a bad token is refused naming its field, storing nothing', async () => {
    await core.call('sweeps.create', { projectId: 1, datasetId: 1, config: { epochs: 1 }, grid: ['latent=2,3,4'], concurrency: 2 });
    await until(() => trials().filter((r) => r.status === 'running').length === 2, 20_000, 'two trials training');
    await core.call('sweeps.cancel', { sweepId: 1 });
    await until(() => trials().every((r) => r.status === 'cancelled'), 20_000, 'trials cancelled');
    expect(trials()).toHaveLength(2);
    expect((await core.call('sweeps.get', { sweepId: 1 })).sweep.status).toBe('cancelled');

    await expect(core.call('sweeps.create', { projectId: 1, datasetId: 1, grid: ['latent=2,3'], random: ['lr=0.1..x'], trials: 2 })).rejects.toMatchObject({
      code: 'invalid_input',
      details: { field: 'random.0' },
    });
    // A trial the dataset cannot take (a conditional VAE on unlabelled images) is named before anything is stored.
    const unlabelled = await core.call('datasets.import', { projectId: 1, folder: join(dir.path, 'img'), size: 8, labels: false, name: 'flat' });
    await expect(core.call('sweeps.create', { projectId: 1, datasetId: unlabelled.id, grid: ['family=vae,cvae'], config: { epochs: 1 } })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^Trial 2 \(family=cvae\): "flat"/),
    });
    expect(core.workspace.db.prepare('SELECT COUNT(*) FROM sweeps').pluck().get()).toBe(1);
    // Early stopping needs validation loss: a dataset without validation images is refused for it, saying so.
    const noValidation = await core.call('datasets.import', { projectId: 1, folder: join(dir.path, 'img'), size: 8, validationFraction: 0, name: 'all-train' });
    await expect(core.call('sweeps.create', { projectId: 1, datasetId: noValidation.id, grid: ['latent=2,3'], earlyStop: 'median' })).rejects.toMatchObject({
      code: 'invalid_input',
      details: { field: 'earlyStop' },
      message: expect.stringMatching(/"all-train" has no validation images/),
    });
    expect(core.workspace.db.prepare('SELECT COUNT(*) FROM sweeps').pluck().get()).toBe(1);
  });
});
