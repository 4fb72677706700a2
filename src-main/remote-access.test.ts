// Runs on other machines, as a person sees them: a queue with no worker says so, and a
// Redis behind a password, an ACL user and TLS. Each test starts a redis-server of its own.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitingText, type Run } from '@shared/types';
import { startRedis, startWorker, type TestTls } from './cli/redis-testing';
import { cliBin, requireBuiltApp, runCli } from './cli/testing';
import type { Core } from './core/core';
import { tempDir, testCore, until, writeImageFolder } from './core/testing';
import { getRun, runsOfSweep } from './core/store/runs';
import { getRemoteSetting } from './core/store/settings';

const TINY = { architecture: 'mlp', latent: 2, hidden: 8, epochs: 3, batchSize: 8, iwaeSamples: 1, backend: 'cpu' as const };

let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir('vae-studio-remote-access-');
  await writeImageFolder(join(dir.path, 'images'), ['a', 'b'], 24, { size: 8 });
});
afterAll(() => dir?.cleanup());

async function withDataset(core: Core): Promise<{ projectId: number; datasetId: number }> {
  const project = await core.call('projects.create', { name: 'p' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'images'), size: 8 });
  return { projectId: project.id, datasetId: dataset.id };
}

/** `vae-studio runs` as a person types it, in a process of its own (the app holds the workspace: it reads it read-only). */
function cliRuns(home: string): string {
  const result = spawnSync(process.execPath, [cliBin, 'runs', '--home', home], { encoding: 'utf8', timeout: 30_000 });
  return result.stdout + result.stderr;
}

describe('a run sent to a queue no worker is connected to', () => {
  it('says it waits for a worker on that Redis, for how long, on the run, in `vae-studio runs` and in a sweep; once a worker starts it trains as usual', async () => {
    const redis = await startRedis(join(dir.path, 'redis-wait'));
    const home = join(dir.path, 'app-wait');
    const core = testCore(home, { redis: { url: redis.url } });
    let worker: ReturnType<typeof startWorker> | null = null;
    try {
      const { projectId, datasetId } = await withDataset(core);
      const run = await core.call('runs.create', { projectId, datasetId, config: TINY });
      const get = (): Run => getRun(core.workspace.db, run.id)!;
      await until(() => get().waiting !== undefined, 15_000, 'the run to say it waits for a worker');
      const waiting = get().waiting!;
      expect(waiting.redis).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(get().status).toBe('running');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect(waitingText(get().waiting!)).toMatch(new RegExp(`^waiting for a worker on redis://127\\.0\\.0\\.1:${redis.port} \\(none connected for [2-9]s\\)$`));
      // Another process reading the workspace (the app holds it) says the same.
      expect(cliRuns(home)).toMatch(new RegExp(`#${run.id}\\t.*waiting for a worker on redis://127\\.0\\.0\\.1:${redis.port} \\(none connected for \\d+s\\)`));
      // A sweep's trials too, on its page and in `sweep status`.
      const sweep = await core.call('sweeps.create', { projectId, datasetId, config: TINY, grid: ['beta=0.5,1'], concurrency: 2 });
      await until(() => runsOfSweep(core.workspace.db, sweep.id).every((r) => r.waiting !== undefined) && runsOfSweep(core.workspace.db, sweep.id).length === 2, 15_000, 'the trials to wait');
      const { trials } = await core.call('sweeps.get', { sweepId: sweep.id });
      expect(trials.map((t) => t.waiting?.redis)).toEqual([waiting.redis, waiting.redis]);
      const status = spawnSync(process.execPath, [cliBin, 'sweep', 'status', String(sweep.id), '--home', home], { encoding: 'utf8', timeout: 30_000 }).stdout;
      expect(status.match(/waiting for a worker on redis:\/\/127\.0\.0\.1:\d+ \(none connected for \d+s\)/g)).toHaveLength(2);
      const events: Run[] = [];
      core.subscribe((m) => void (m.event === 'run.status' && m.payload.runId === run.id && events.push(m.payload.run)));

      worker = startWorker(join(dir.path, 'worker-wait'), ['--redis', redis.url, '--lock-ms', '2000', '--concurrency', '3']);
      await until(() => get().waiting === undefined, 20_000, 'a worker to take the run');
      expect(events.at(-1)?.waiting).toBeUndefined();
      await core.runs.settled(run.id);
      const ended = await get();
      expect(ended.status, ended.error?.message).toBe('finished');
      expect(ended.waiting).toBeUndefined();
      await until(() => runsOfSweep(core.workspace.db, sweep.id).every((r) => r.status === 'finished'), 30_000, 'the trials to finish').catch((error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(runsOfSweep(core.workspace.db, sweep.id).map((r) => [r.status, r.epochsDone, r.error?.message]))} ${worker?.stderr()} ${JSON.stringify(worker?.lines())}`);
      });
      expect(runsOfSweep(core.workspace.db, sweep.id).map((r) => r.waiting)).toEqual([undefined, undefined]);
      expect(cliRuns(home)).not.toMatch(/waiting for a worker/);
    } finally {
      if (worker) {
        worker.process.kill('SIGTERM');
        await worker.exited;
      }
      await core.close();
      await redis.stop();
    }
  }, 90_000);
});

/** A throwaway CA and a server certificate it signed for 127.0.0.1, and a second CA that signed nothing of the server's. */
function makeCertificates(folder: string): TestTls & { otherCa: string } {
  mkdirSync(folder, { recursive: true });
  const at = (name: string): string => join(folder, name);
  const openssl = (...args: string[]): void => {
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  writeFileSync(at('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at(`${ca}-key.pem`), '-out', at(`${ca}.pem`), '-days', '1', '-subj', `/CN=VAE Studio test ${ca}`);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('server-key.pem'), '-out', at('server.csr'), '-subj', '/CN=localhost');
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca-key.pem'), '-CAcreateserial', '-out', at('server.pem'), '-days', '1', '-extfile', at('san.cnf'));
  return { cert: at('server.pem'), key: at('server-key.pem'), ca: at('ca.pem'), otherCa: at('other-ca.pem') };
}

interface Refusal {
  code: string;
  message: string;
  details?: { field?: string };
}

describe('a Redis behind an ACL user with a password, over TLS only', () => {
  it('refuses a wrong password or an untrusted certificate naming the URL without the password, masks the saved password, and trains through it', async () => {
    const certs = makeCertificates(join(dir.path, 'certs'));
    // No default user: only "trainer", with no @dangerous command (no CLIENT LIST, CONFIG, KEYS…) but INFO, on VAE Studio's and BullMQ's keys.
    const acl = ['--user', 'default', 'off', '--user', 'trainer', 'on', '>s3cret-Pw', '~vae-studio*', '~bull:*', '&*', '+@all', '-@dangerous', '+info'];
    const redis = await startRedis(join(dir.path, 'redis-tls'), acl, certs);
    const address = `127.0.0.1:${redis.port}`;
    const good = `rediss://trainer:s3cret-Pw@${address}`;
    const masked = `rediss://trainer:***@${address}`;
    const logged: string[] = [];
    const spies = (['error', 'log', 'warn'] as const).map((level) => vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' '))));
    const home = join(dir.path, 'app-tls');
    const core = testCore(home);
    let worker: ReturnType<typeof startWorker> | null = null;
    try {
      const refused = (redisUrl: string, redisCaFile: string | null): Promise<Refusal> =>
        core.call('settings.setRemote', { redisUrl, redisCaFile }).then(
          () => ({ code: 'accepted', message: '' }),
          (error: { toJSON(): Refusal }) => error.toJSON(),
        );
      const wrongPassword = await refused(`rediss://trainer:not-it@${address}`, certs.ca);
      expect(wrongPassword).toMatchObject({ code: 'invalid_input', details: { field: 'redisUrl' } });
      expect(wrongPassword.message).toContain(`Redis at rediss://trainer:***@${address} refused the user and password`);
      expect(wrongPassword.message).not.toContain('not-it');
      const untrusted = await refused(good, certs.otherCa);
      expect(untrusted).toMatchObject({ code: 'invalid_input', details: { field: 'redisCa' } });
      expect(untrusted.message).toMatch(new RegExp(`^The TLS certificate of Redis at rediss://trainer:\\*\\*\\*@${address.replace(/\./g, '\\.')} is not trusted`));
      expect((await refused(good, null)).details?.field).toBe('redisCa'); // the system's CAs do not vouch for it either
      expect((await refused(`redis://trainer:s3cret-Pw@${address}`, null)).code).not.toBe('accepted'); // plain Redis to a TLS-only port
      expect(await core.call('settings.get', {})).toEqual({ redisUrl: null, redisCaFile: null, source: 'none' });

      // Saved: answered masked; saved again unchanged (the CA file edited, say), the password stays.
      expect(await core.call('settings.setRemote', { redisUrl: good, redisCaFile: certs.ca })).toEqual({ redisUrl: masked, redisCaFile: certs.ca, source: 'saved' });
      expect(await core.call('settings.setRemote', { redisUrl: masked, redisCaFile: certs.ca })).toEqual({ redisUrl: masked, redisCaFile: certs.ca, source: 'saved' });
      expect(getRemoteSetting(core.workspace.db)?.redisUrl).toBe(good);
      // The mask stands for the saved password only where it was saved.
      expect(await refused(`rediss://other:***@${address}`, certs.ca)).toMatchObject({ code: 'invalid_input', details: { field: 'redisUrl' }, message: expect.stringMatching(/Type the password/) });
      expect(getRemoteSetting(core.workspace.db)?.redisUrl).toBe(good);

      // A worker through the same Redis trains a run sent from the app.
      const { projectId, datasetId } = await withDataset(core);
      // Given in the environment, the password is not in the worker's command line, which every user can read.
      worker = startWorker(join(dir.path, 'worker-tls'), ['--redis-ca', certs.ca, '--lock-ms', '2000'], { ...process.env, VAE_STUDIO_REDIS_URL: good });
      expect(readFileSync(`/proc/${worker.process.pid}/cmdline`, 'utf8')).not.toContain('s3cret-Pw');
      const run = await core.call('runs.create', { projectId, datasetId, config: TINY });
      await core.runs.settled(run.id);
      const ended = getRun(core.workspace.db, run.id)!;
      expect(ended.status, ended.error?.message).toBe('finished');
      expect(worker.lines()[0]).toMatchObject({ type: 'ready', redis: masked });
      worker.process.kill('SIGTERM');
      await worker.exited;
      const workerOutput = JSON.stringify(worker.lines()) + worker.stderr();
      worker = null;

      // The command line refuses before starting anything, the same way, exit code 1.
      const cliRefusal = (args: string[]): Refusal & { status: number | null } => {
        const result = runCli<{ type: string; error?: Refusal }>(join(dir.path, 'cli-tls'), args, 30_000);
        return { status: result.status, ...result.lines.find((l) => l.type === 'error')!.error! };
      };
      const workerWrong = cliRefusal(['worker', '--redis', `rediss://trainer:not-it@${address}`, '--redis-ca', certs.ca]);
      expect(workerWrong).toMatchObject({ status: 1, code: 'invalid_input', details: { field: 'redis' }, message: expect.stringContaining(`rediss://trainer:***@${address} refused the user and password`) });
      expect(cliRefusal(['serve', '--redis', good, '--redis-ca', certs.otherCa])).toMatchObject({ status: 1, details: { field: 'redis-ca' }, message: expect.stringMatching(/is not trusted/) });
      expect(cliRefusal(['train', '--dataset', 'x', '--redis', good])).toMatchObject({ status: 1, details: { field: 'redis-ca' } });
      expect(JSON.stringify(workerWrong)).not.toContain('not-it');
      // A password typed into --redis works, with a warning saying where it is better kept.
      const typed = runCli<{ type: string; message?: string }>(join(dir.path, 'cli-tls'), ['worker', '--redis', `rediss://trainer:not-it@${address}`, '--redis-ca', certs.ca], 30_000);
      expect(typed.lines.find((l) => l.type === 'warning')?.message).toMatch(/password in --redis can be read by anyone who lists this machine's processes: set VAE_STUDIO_REDIS_URL/);

      // Nowhere in the app's log, the worker's output or the answers does the password appear.
      for (const text of [...logged, workerOutput, JSON.stringify(await core.call('settings.get', {}))]) expect(text).not.toContain('s3cret-Pw');
    } finally {
      for (const spy of spies) spy.mockRestore();
      if (worker) {
        worker.process.kill('SIGTERM');
        await worker.exited;
      }
      await core.close();
      await redis.stop();
    }
  }, 120_000);
});
