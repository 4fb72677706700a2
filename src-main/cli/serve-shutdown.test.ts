// Ctrl+C on `vae-studio serve`, as a terminal sends it: SIGINT to the whole process
// group, the training worker included. Needs `npm run build` first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir, until, writeImageFolder } from '../core/testing';
import { cliBin, requireBuiltApp } from './testing';
import { shutdownReport } from './main';

let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 30, { size: 16 });
});
afterAll(() => dir.cleanup());

describe('stopping the web server', () => {
  it('says what becomes of training and queued runs', () => {
    const report = shutdownReport(
      [
        { id: 1, name: 'a', status: 'running' },
        { id: 2, name: 'b', status: 'paused' },
        { id: 3, name: 'c', status: 'queued' },
        { id: 4, name: 'd', status: 'finished' },
      ],
      'SIGINT',
    );
    expect(report.object).toEqual({ type: 'stopped', signal: 'SIGINT', interrupted: [1, 2], queued: [3] });
    expect(report.human).toMatch(/^VAE Studio stopped \(SIGINT\)\.\nThe 2 runs that were training, "a" \(#1\), "b" \(#2\), are marked interrupted: Resume/);
    expect(report.human).toMatch(/The queued run, "c" \(#3\), will start when VAE Studio starts again\./);
    expect(shutdownReport([], 'SIGTERM').human).toBe('VAE Studio stopped (SIGTERM).\nNo run was training.');
  });

  it('on Ctrl+C (SIGINT to its process group, then once more) says it stopped; the training run is interrupted, not crashed, and the queued one stays queued', async () => {
    const home = join(dir.path, 'home');
    const imported = spawnSync(process.execPath, [cliBin, 'import', join(dir.path, 'shapes'), '--size', '16', '--name', 'shapes', '--home', home, '--json'], { encoding: 'utf8' });
    expect(imported.status, imported.stderr).toBe(0);
    // Its own process group, as a shell gives a foreground job; one run at a time.
    const server = spawn(process.execPath, [cliBin, 'serve', '--home', home, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, VAE_STUDIO_PARALLEL_RUNS: '1' },
    });
    let out = '';
    let err = '';
    server.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    server.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      await until(() => out.includes('"listening"'), 30_000, 'server listening');
      const { url, port } = JSON.parse(out.split('\n').find((l) => l.includes('"listening"'))!) as { url: string; port: number };
      const token = new URL(url).searchParams.get('token')!;
      const call = async <T>(name: string, body: unknown): Promise<T> => {
        const response = await fetch(`http://127.0.0.1:${port}/api/${name}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
        const envelope = (await response.json()) as { ok: boolean; value: T; error?: unknown };
        if (!envelope.ok) throw new Error(JSON.stringify(envelope.error));
        return envelope.value;
      };
      const [dataset] = await call<{ id: number; projectId: number }[]>('datasets.list', {});
      const config = { epochs: 200, batchSize: 8, hidden: 16, latent: 2 };
      const training = await call<{ id: number }>('runs.create', { projectId: dataset!.projectId, datasetId: dataset!.id, name: 'long', config });
      const queued = await call<{ id: number }>('runs.create', { projectId: dataset!.projectId, datasetId: dataset!.id, name: 'next', config });
      const db = new Database(join(home, 'studio.db'), { readonly: true });
      const status = (id: number): string => db.prepare('SELECT status FROM runs WHERE id = ?').pluck().get(id) as string;
      try {
        await until(() => status(training.id) === 'running' && (db.prepare('SELECT COUNT(*) FROM metrics WHERE run_id = ?').pluck().get(training.id) as number) > 0, 60_000, 'training steps');
        process.kill(-server.pid!, 'SIGINT');
        // Under `npm start` the launcher forwards a second one while the server closes.
        await new Promise((resolve) => setTimeout(resolve, 30));
        if (server.exitCode === null) process.kill(server.pid!, 'SIGINT');
        const code = await exited;
        // The second signal must not cut the closing short: the last word is the report.
        const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines.at(-1)).toEqual({ type: 'stopped', signal: 'SIGINT', interrupted: [training.id], queued: [queued.id] });
        // Exit 0; or, when closing took under 30 ms and the second signal landed while Node
        // was tearing the finished process down, the OS default for SIGINT — after the report.
        if (code !== 0) expect({ code, signal: server.signalCode, err }).toEqual({ code: null, signal: 'SIGINT', err: '' });
        expect(status(training.id)).toBe('interrupted');
        expect(status(queued.id)).toBe('queued');
      } finally {
        db.close();
      }
    } finally {
      if (server.exitCode === null && server.signalCode === null) process.kill(-server.pid!, 'SIGKILL');
      await exited;
    }
  }, 120_000);
});
