// For the tests of runs on other machines: a redis-server of the test's own (never a
// system one) on a free loopback port, no persistence, a temp folder; and `vae-studio
// worker` processes (the built CLI) with homes of their own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cliBin } from './testing';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  process: ChildProcess;
  /** Runs redis-cli-like commands through the server's own binary folder (`redis-cli`). */
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

/** PEM files for a TLS-only server (`--tls-port`; the plain port is off). */
export interface TestTls {
  cert: string;
  key: string;
  ca: string;
}

/** Starts redis-server, or fails saying how to install it. */
export async function startRedis(dir: string, extraArgs: string[] = [], tls?: TestTls): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} is missing: these tests start a Redis of their own. Install it with "apt-get install redis-server" (bash .ci/install-system-deps does), or set REDIS_SERVER to its path.`);
  }
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const child = spawn(REDIS_SERVER, [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (/Ready to accept connections/.test(log)) resolve();
      else if (child.exitCode !== null || Date.now() - started > 10_000) reject(new Error(`redis-server did not start: ${log.slice(-2000)}`));
      else setTimeout(check, 20);
    };
    check();
  });
  const cliPath = join(REDIS_SERVER, '..', 'redis-cli');
  return {
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    process: child,
    cli: (...args) => spawnSync(cliPath, ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim(),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

export interface WorkerLine {
  type: string;
  runId?: number;
  attempt?: number;
  resumeFromEpoch?: number;
  how?: string;
  error?: string;
}

export interface TestWorker {
  process: ChildProcess;
  lines(): WorkerLine[];
  stderr(): string;
  exited: Promise<number | null>;
}

/** A `vae-studio worker` process (the built CLI) with its own home. */
export function startWorker(home: string, args: string[], env: NodeJS.ProcessEnv = process.env): TestWorker {
  const child = spawn(process.execPath, [cliBin, 'worker', ...args, '--home', home, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    lines: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as WorkerLine),
    stderr: () => err,
    exited,
  };
}
