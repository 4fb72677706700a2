// The built `vae-studio` command as the CLI's end-to-end tests run it (`npm run build` first).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { appPaths } from '../paths';

export const cliBin = join(appPaths.root, 'bin', 'vae-studio.mjs');

export interface CliResult<Line = Record<string, unknown>> {
  status: number | null;
  /** Its JSON lines (progress events, then the result or error). */
  lines: Line[];
  stderr: string;
}

/** Runs one command with `--home home --json` and waits for it. */
export function runCli<Line = Record<string, unknown>>(home: string, args: string[], timeoutMs = 120_000): CliResult<Line> {
  const result = spawnSync(process.execPath, [cliBin, ...args, '--home', home, '--json'], { encoding: 'utf8', timeout: timeoutMs });
  const lines = result.stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Line);
  return { status: result.status, lines, stderr: result.stderr };
}

/** These tests drive the built app: say how to get it rather than fail obscurely. */
export function requireBuiltApp(): void {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
}
