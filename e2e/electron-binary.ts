import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The Electron executable to test with, or null: ELECTRON_EXEC_PATH first, then the
 * `electron` package's own binary — only if it is already there (no download from a test).
 */
export function electronBinary(): string | null {
  const explicit = process.env.ELECTRON_EXEC_PATH;
  if (explicit) return existsSync(explicit) ? explicit : null;
  const probe = spawnSync(
    process.execPath,
    ['-e', "const fs=require('fs'),p=require('path');const d=p.dirname(require.resolve('electron'));const f=p.join(d,'path.txt');if(fs.existsSync(f)){const e=p.join(d,'dist',fs.readFileSync(f,'utf8'));if(fs.existsSync(e))process.stdout.write(e)}"],
    { encoding: 'utf8' },
  );
  return probe.stdout?.trim() || null;
}
