// Model exports that must not destroy anything, and imports of hostile archives, through
// the real CLI and web server over the built app (`npm run build` first). Exports: a
// target inside the workspace or an existing file is refused unless asked, and the app
// killed between writing and renaming (a power loss) leaves the old target whole and
// its temp file is removed at the next start. Imports: crafted zips that claim
// gigabytes from a few kilobytes or megabytes are refused, each in a child process whose
// peak memory (its own maxRSS, printed at exit) is measured.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, requireBuiltApp, runCli, type CliResult } from './cli/testing';
import { tempDir, writeImageFolder } from './core/testing';
import { readZip } from './core/models/zip';
import { handZip, sharedBytesZip, type HandEntry } from './core/models/zip-testing';

interface Line {
  type: string;
  path?: string;
  run?: { id: number };
  runs?: { id: number }[];
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

let dir: ReturnType<typeof tempDir>;
let home = '';
let exports = '';
let archive = '';
/** Peak memory of a hostile import: the CLI alone at rest is about 85 MiB. */
const PEAK_LIMIT_MIB = 150;
const MiB = 1024 * 1024;

const cli = (args: string[], at = home): CliResult<Line> => runCli<Line>(at, args);
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A script preloaded into the CLI (`node -r`): written into the test folder. */
function preload(name: string, code: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, code);
  return path;
}

/** The CLI with a preload, as a child process; its JSON lines, exit status and signal, and its peak RSS in MiB. */
function cliWith(script: string, args: string[], at: string): { status: number | null; signal: string | null; lines: Line[]; peakMiB: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['-r', script, cliBin, ...args, '--home', at, '--json'], { encoding: 'utf8', timeout: 120_000 });
  const lines = result.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
  const peak = /maxrss (\d+)/.exec(result.stderr)?.[1];
  return { status: result.status, signal: result.signal, lines, peakMiB: peak ? Number(peak) / 1024 : null, stderr: result.stderr };
}

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir('vae-model-files-');
  home = join(dir.path, 'home');
  exports = join(dir.path, 'exports');
  mkdirSync(exports);
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 20, { size: 8 });
  expect(cli(['import', join(dir.path, 'shapes'), '--size', '8', '--name', 'shapes']).status).toBe(0);
  const trained = cli(['train', '--dataset', 'shapes', '--epochs', '1', '--batch', '16', '--latent', '2', '--hidden', '16', '--backend', 'cpu']);
  expect(trained.status, trained.stderr).toBe(0);
  const exported = cli(['export', '1', join(exports, 'base.vaestudio')]);
  expect(exported.status, exported.stderr).toBe(0);
  archive = join(exports, 'base.vaestudio');
}, 120_000);
afterAll(() => dir?.cleanup());

describe('export never destroys what is there', () => {
  it('refuses to write inside the workspace, even with --overwrite; the database keeps working', () => {
    const db = join(home, 'studio.db');
    const targets = [[db], [db, '--overwrite'], [home], [join(home, 'blobs', 'model.vaestudio')], [join(home, 'runs', 'x'), '--format', 'tfjs']];
    for (const args of targets) {
      const refused = cli(['export', '1', ...args]);
      expect(refused.status, args.join(' ')).toBe(1);
      const error = refused.lines.at(-1)!.error!;
      expect(error).toMatchObject({ code: 'invalid_input', details: { field: 'path' } });
      expect(error.message).toMatch(/inside the VAE Studio workspace .*Choose a folder outside it/);
    }
    expect(readFileSync(db).subarray(0, 15).toString()).toBe('SQLite format 3');
    expect(readdirSync(home).filter((n) => n.endsWith('.vaestudio'))).toEqual([]);
    expect(cli(['runs']).lines.at(-1)!.runs!.map((r) => r.id)).toEqual([1]);
  });

  it('refuses an existing file without --overwrite, naming it and what to do; --overwrite replaces it', () => {
    const notes = join(exports, 'notes.vaestudio');
    writeFileSync(notes, 'my notes, not a model');
    const refused = cli(['export', '1', notes]);
    expect(refused.status).toBe(1);
    const error = refused.lines.at(-1)!.error!;
    expect(error).toMatchObject({ code: 'conflict', details: { field: 'path', path: notes, exists: true } });
    expect(error.message).toContain(`${notes} already exists`);
    expect(error.message).toContain('--overwrite');
    expect(readFileSync(notes, 'utf8')).toBe('my notes, not a model');

    const before = statSync(notes).ino;
    const replaced = cli(['export', '1', notes, '--overwrite']);
    expect(replaced.status, replaced.stderr).toBe(0);
    expect(statSync(notes).ino).not.toBe(before);
    expect(readZip(readFileSync(notes)).map((e) => e.path)).toContain('manifest.json');
    expect(readdirSync(exports).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('replaces a folder only when it holds a previous export, and only with --overwrite', () => {
    const mine = join(exports, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'thesis.tex'), 'chapter 1');
    for (const flags of [[], ['--overwrite']]) {
      const refused = cli(['export', '1', mine, '--format', 'onnx', ...flags]);
      expect(refused.lines.at(-1)!.error).toMatchObject({ code: 'conflict', details: { field: 'path' } });
    }
    expect(readdirSync(mine)).toEqual(['thesis.tex']);

    const folder = join(exports, 'tfjs-folder');
    expect(cli(['export', '1', folder, '--format', 'tfjs']).status).toBe(0);
    expect(cli(['export', '1', folder, '--format', 'onnx']).lines.at(-1)!.error).toMatchObject({ code: 'conflict', details: { exists: true } });
    expect(cli(['export', '1', folder, '--format', 'onnx', '--overwrite']).status).toBe(0);
    expect(readdirSync(folder)).toContain('onnx');
    expect(readdirSync(folder)).not.toContain('tfjs');
  });

  // The export is killed (SIGKILL, as a power loss would stop it) just before it renames
  // its finished temp file over the target: a preload wraps fs.renameSync.
  const killBeforeRename = (): string =>
    preload(
      'kill-before-rename.cjs',
      `const fs = require('node:fs');
const rename = fs.renameSync;
fs.renameSync = (from, to) => {
  if (/\\.tmp-[0-9a-f]{8}$/.test(String(from))) process.kill(process.pid, 'SIGKILL');
  return rename(from, to);
};
require('node:module').syncBuiltinESMExports();
`,
    );

  it('killed between writing and renaming an archive: the previous file is intact, the temp file goes at the next start', () => {
    const target = join(exports, 'kept.vaestudio');
    expect(cli(['export', '1', target]).status).toBe(0);
    const before = sha(target);
    const killed = cliWith(killBeforeRename(), ['export', '1', target, '--overwrite', '--checkpoint', 'last'], home);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(sha(target)).toBe(before);
    const torn = readdirSync(exports).filter((n) => /^\.kept\.vaestudio\.tmp-[0-9a-f]{8}$/.test(n));
    expect(torn).toHaveLength(1);
    // It was complete and fsynced before the rename: a whole archive.
    expect(readZip(readFileSync(join(exports, torn[0]!))).length).toBeGreaterThan(5);
    expect(readdirSync(join(home, 'pending'))).toHaveLength(1);

    // The next start (any command) removes it and its record; the target stays.
    expect(cli(['runs']).status).toBe(0);
    expect(readdirSync(exports).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(readdirSync(join(home, 'pending'))).toEqual([]);
    expect(sha(target)).toBe(before);
  });

  it('killed while replacing a folder export: the next start puts the previous export back', () => {
    const folder = join(exports, 'onnx-kept');
    expect(cli(['export', '1', folder, '--format', 'onnx']).status).toBe(0);
    const before = readdirSync(folder, { recursive: true }).map(String).sort();
    const onnx = sha(join(folder, 'onnx', 'decoder.onnx'));
    const killed = cliWith(killBeforeRename(), ['export', '1', folder, '--format', 'onnx', '--overwrite'], home);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    // Between the two renames: the old export is moved aside, the new one not yet in place.
    expect(existsSync(folder)).toBe(false);
    expect(cli(['runs']).status).toBe(0);
    expect(readdirSync(folder, { recursive: true }).map(String).sort()).toEqual(before);
    expect(sha(join(folder, 'onnx', 'decoder.onnx'))).toBe(onnx);
    expect(readdirSync(exports).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

/** A raw deflate stream of `mib` MiB of zeros: one compressed MiB, flushed so it stands alone, repeated; then an empty final block. */
function zeroStream(mib: number, withHash = false): { body: Buffer; size: number; crc: number; sha256: string } {
  const zeros = Buffer.alloc(MiB);
  const block = deflateRawSync(zeros, { finishFlush: constants.Z_FULL_FLUSH });
  const body = Buffer.concat([...Array<Buffer>(mib).fill(block), Buffer.from([0x03, 0x00])]);
  let crc = 0;
  const hash = createHash('sha256');
  for (let i = 0; i < mib; i++) {
    crc = crc32(zeros, crc);
    if (withHash) hash.update(zeros);
  }
  return { body, size: mib * MiB, crc, sha256: hash.digest('hex') };
}

const stored = (path: string, data: Uint8Array): HandEntry => ({ path, body: data });

/** The first archive: 200 directory entries, all pointing at one 10 MiB zero stream (2 000 MiB claimed). */
function overlapBomb(): Buffer {
  const { body, size, crc } = zeroStream(10);
  return sharedBytesZip(
    Array.from({ length: 200 }, (_, i) => `e${i}`.padEnd(4, '_')),
    { body, method: 8, size, crc },
  );
}

/** The real export with `change` applied to its files and to its manifest's list. */
function tamperedExport(change: (entries: HandEntry[], manifest: { files: { path: string; bytes: number; sha256: string }[] }) => HandEntry[]): Buffer {
  const entries = readZip(readFileSync(archive));
  const manifest = JSON.parse(Buffer.from(entries.find((e) => e.path === 'manifest.json')!.data).toString()) as { files: { path: string; bytes: number; sha256: string }[] };
  const files = change(
    entries.filter((e) => e.path !== 'manifest.json').map((e) => stored(e.path, e.data)),
    manifest,
  );
  return handZip([stored('manifest.json', Buffer.from(JSON.stringify(manifest))), ...files]);
}

describe('hostile archives are refused within bounded memory', () => {
  let maxrss = '';
  const target = (): string => join(dir.path, 'import-home');
  beforeAll(() => {
    maxrss = preload('maxrss.cjs', "process.on('exit', () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\\n`));\n");
    // The stream trick is sound: it inflates to exactly the zeros it claims.
    const small = zeroStream(3);
    const inflated = inflateRawSync(small.body);
    expect(inflated.length).toBe(3 * MiB);
    expect(inflated.every((v) => v === 0)).toBe(true);
  });

  const cases: [string, () => Buffer, RegExp][] = [
    ['200 entries over one 10 MiB zero stream (21 KB claiming 2 000 MiB)', overlapBomb, /"e0__" and entry "e1__" overlap/],
    [
      'two 1 GiB zero entries and no manifest',
      () => {
        const gib = zeroStream(1024);
        return handZip([
          { path: 'a.bin', body: gib.body, method: 8, size: gib.size, crc: gib.crc },
          { path: 'b.bin', body: gib.body, method: 8, size: gib.size, crc: gib.crc },
        ]);
      },
      /it has no manifest\.json/,
    ],
    [
      'a model card that says 1 000 bytes and inflates to 1 GiB',
      () =>
        tamperedExport((entries, manifest) => {
          const gib = zeroStream(1024);
          manifest.files.find((f) => f.path === 'model-card.json')!.bytes = 1000;
          return entries.map((e) => (e.path === 'model-card.json' ? { path: e.path, body: gib.body, method: 8 as const, size: 1000, crc: gib.crc } : e));
        }),
      /entry "model-card\.json" unpacks to more than the 1000 bytes its header says/,
    ],
    [
      'a real export with two listed 1 000 MiB files, the second with a wrong SHA-256',
      () =>
        tamperedExport((entries, manifest) => {
          const gib = zeroStream(1000, true);
          manifest.files.push({ path: 'tfjs/extra/weights.bin', bytes: gib.size, sha256: gib.sha256 }, { path: 'onnx/extra.onnx', bytes: gib.size, sha256: '0'.repeat(64) });
          const bomb = { body: gib.body, method: 8 as const, size: gib.size, crc: gib.crc };
          return [...entries, { path: 'tfjs/extra/weights.bin', ...bomb }, { path: 'onnx/extra.onnx', ...bomb }];
        }),
      /"onnx\/extra\.onnx" is damaged \(its SHA-256 does not match the manifest\)/,
    ],
  ];

  for (const [what, make, reason] of cases) {
    it(what, () => {
      const file = join(dir.path, `${what.replace(/\W+/g, '-').slice(0, 40)}.vaestudio`);
      writeFileSync(file, make());
      const started = Date.now();
      const imported = cliWith(maxrss, ['import-model', file], target());
      const seconds = (Date.now() - started) / 1000;
      console.log(`${what}: ${(statSync(file).size / 1024).toFixed(0)} KiB file, refused in ${seconds.toFixed(1)} s, peak RSS ${imported.peakMiB?.toFixed(1)} MiB: ${imported.lines.at(-1)?.error?.message ?? imported.stderr}`);
      expect(imported.status, imported.stderr).toBe(1);
      const error = imported.lines.at(-1)!.error!;
      expect(error).toMatchObject({ code: 'invalid_input', details: { field: 'path' } });
      expect(error.message).toContain(`${file} is not a usable VAE Studio model export`);
      expect(error.message).toMatch(reason);
      expect(error.message).toContain('Nothing was imported');
      expect(imported.peakMiB).not.toBeNull();
      expect(imported.peakMiB!).toBeLessThan(PEAK_LIMIT_MIB);
      expect(cli(['runs'], target()).lines.at(-1)!.runs).toEqual([]);
    });
  }

  it('three hostile imports at once through the web server (512 MiB listed each): one at a time, peak memory bounded, the server answers', async () => {
    const file = join(dir.path, 'listed-512-mib.vaestudio');
    writeFileSync(
      file,
      tamperedExport((entries, manifest) => {
        const gib = zeroStream(512);
        manifest.files.push({ path: 'tfjs/extra/weights.bin', bytes: gib.size, sha256: '0'.repeat(64) });
        return [...entries, { path: 'tfjs/extra/weights.bin', body: gib.body, method: 8, size: gib.size, crc: gib.crc }];
      }),
    );
    const serve = spawn(process.execPath, ['-r', maxrss, cliBin, 'serve', '--home', join(dir.path, 'serve-home'), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    serve.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => serve.on('exit', () => resolve()));
    try {
      const listening = await new Promise<{ url: string; port: number }>((resolve, reject) => {
        let out = '';
        serve.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.includes('"listening"'));
          if (line) resolve(JSON.parse(line) as { url: string; port: number });
        });
        serve.on('exit', () => reject(new Error(`serve exited: ${stderr}`)));
      });
      const token = new URL(listening.url).searchParams.get('token')!;
      const call = async (name: string, body: unknown): Promise<{ ok: boolean; error?: { message: string } }> =>
        (await fetch(`http://127.0.0.1:${listening.port}/api/${name}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) })).json() as never;
      await call('projects.create', { name: 'p' });
      const started = Date.now();
      const replies = await Promise.all([1, 2, 3].map(() => call('models.import', { projectId: 1, path: file })));
      console.log(`three hostile imports through serve: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const reply of replies) {
        expect(reply.ok).toBe(false);
        expect(reply.error!.message).toMatch(/"tfjs\/extra\/weights\.bin" is damaged/);
      }
      expect(await call('runs.list', { projectId: 1 })).toMatchObject({ ok: true, value: [] });
    } finally {
      serve.kill('SIGTERM');
      await exited;
    }
    const peak = Number(/maxrss (\d+)/.exec(stderr)?.[1]) / 1024;
    console.log(`three hostile imports through serve: peak RSS ${peak.toFixed(1)} MiB`);
    expect(peak).toBeLessThan(PEAK_LIMIT_MIB);
  }, 120_000);
});
