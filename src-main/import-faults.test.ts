// Dataset import under hostile input and faults, through the real CLI and its real import
// child process (`npm run build` first): a PNG decompression bomb, thousands of skipped
// files, folders deleted mid-import, kill -9 of the app mid-import, a workspace taken
// over by another instance. Summarized in docs/RELIABILITY.md (issue 17, parts 3–5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { SkippedFile } from '@shared/types';
import { importSettingsSchema } from '@shared/config';
import { childrenOf, pngBomb, running, tempDir, until, writeImageFolder } from './core/testing';
import { IMPORT_PROTOCOL_VERSION, type ImportAck, type ImportReply, type ImportRequest } from './core/datasets/import-protocol';
import { forkWorker } from './core/jobs/spawn';
import { openConnection } from './core/jobs/worker-connection';
import { appPaths } from './paths';
import { cliBin, requireBuiltApp, runCli } from './cli/testing';

interface Line {
  type: string;
  phase?: string;
  done?: number;
  error?: { code: string; message: string };
  dataset?: { count: number; skipped: SkippedFile[]; stats: { scanned: number; skipped: number; duplicates: number } };
}

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  requireBuiltApp();
  dir = tempDir();
});
afterAll(() => dir.cleanup());



/** Peak resident memory of a live process (VmHWM), or null once it is gone. */
const peakRss = (pid: number): number | null => {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib ? Number(kib) * 1024 : null;
  } catch {
    return null;
  }
};

/** The CLI started in the background, its JSON lines collected as they come. */
function cliAsync(home: string, args: string[]): { child: ChildProcess; lines: () => Line[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [cliBin, ...args, '--home', home, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = (): Line[] =>
    out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Line);
  return { child, lines, exited };
}

const result = (lines: Line[]): Line => lines.at(-1)!;

describe('import child, hostile input', () => {
  it('a 2 MB PNG declaring 1×1 pixels whose data inflates to 2 GiB is skipped as a bomb; the child stays small', async () => {
    const folder = join(dir.path, 'bomb');
    await writeImageFolder(folder, ['ok'], 3, { size: 16 });
    writeFileSync(join(folder, 'ok', 'bomb.png'), pngBomb(1, 1, { inflatedBytes: 2 * 2 ** 30 }));
    writeFileSync(join(folder, 'ok', 'bomb-at-size.png'), pngBomb(16, 16, { inflatedBytes: 2 * 2 ** 30 }));
    expect(readFileSync(join(folder, 'ok', 'bomb.png')).length).toBeLessThan(2.2e6);

    const started = Date.now();
    const importing = cliAsync(join(dir.path, 'bomb-home'), ['import', folder, '--size', '16']);
    // VmHWM only grows: the last reading before the child exits is its peak.
    let child = 0;
    let peak = 0;
    const sampling = setInterval(() => {
      child ||= childrenOf(importing.child.pid!)[0] ?? 0;
      if (child) peak = Math.max(peak, peakRss(child) ?? 0);
    }, 5);
    const code = await importing.exited;
    clearInterval(sampling);
    const seconds = (Date.now() - started) / 1000;
    console.log(`PNG bomb import: child peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB, ${seconds.toFixed(1)} s in all`);

    expect(code, JSON.stringify(result(importing.lines()))).toBe(0);
    const { dataset } = result(importing.lines());
    expect(dataset!.count).toBe(3);
    const reasonOf = (path: string): string | undefined => dataset!.skipped.find((s) => s.path === path)?.reason;
    expect(reasonOf('ok/bomb.png')).toBe('image data inflates to more than the 2 bytes its 1×1 pixels need (decompression bomb?)');
    expect(reasonOf('ok/bomb-at-size.png')).toBe('image data inflates to more than the 272 bytes its 16×16 pixels need (decompression bomb?)');
    expect(peak).toBeGreaterThan(0);
    // Before: 4.2 GiB and 35 s. Node and sharp alone take about 100 MiB.
    expect(peak).toBeLessThan(256 * 2 ** 20);
  });
});

describe('import results of any size arrive', () => {
  it('12 000 skipped files: the import succeeds, the first 10 000 are listed and the rest counted', async () => {
    const folder = join(dir.path, 'notes');
    await writeImageFolder(folder, ['a'], 2, { size: 16 });
    mkdirSync(join(folder, 'a', 'notes'));
    for (let i = 0; i < 12_000; i++) writeFileSync(join(folder, 'a', 'notes', `note-${String(i).padStart(5, '0')}-with-a-long-name.txt`), 'x');

    const imported = runCli<Line>(join(dir.path, 'notes-home'), ['import', folder, '--size', '16']);
    // Before: "The import process … ended unexpectedly (exit code 0); nothing was saved."
    expect(imported.status, JSON.stringify(result(imported.lines))).toBe(0);
    const { dataset } = result(imported.lines);
    expect(dataset!.count).toBe(2);
    expect(dataset!.stats.skipped).toBe(12_000);
    expect(dataset!.skipped).toHaveLength(10_001);
    expect(dataset!.skipped[0]).toEqual({ path: 'a/notes/note-00000-with-a-long-name.txt', reason: 'not an image file type (.txt)' });
    expect(dataset!.skipped.at(-1)).toEqual({ path: '… 2,000 more', reason: 'not an image file type (.txt)' });
  });

  it('subfolders deleted mid-import: the import succeeds and lists every file that vanished', async () => {
    const folder = join(dir.path, 'vanishing');
    // a, b: JPEGs (libvips, slow enough that c and d are still to come when they vanish);
    // c, d: 6 000 links each to one PNG, which all vanish: thousands of skipped files.
    await writeImageFolder(folder, ['a', 'b'], 150, { size: 32, format: 'jpeg' });
    await writeImageFolder(join(dir.path, 'one'), ['x'], 1, { size: 32 });
    for (const label of ['c', 'd']) {
      mkdirSync(join(folder, label));
      for (let i = 0; i < 6000; i++) linkSync(join(dir.path, 'one', 'x', 'x-0.png'), join(folder, label, `${i}.png`));
    }

    const importing = cliAsync(join(dir.path, 'vanishing-home'), ['import', folder, '--size', '16']);
    await until(() => importing.lines().some((l) => l.type === 'progress' && l.phase === 'decoding'), 60_000, 'decoding to start');
    rmSync(join(folder, 'c'), { recursive: true });
    rmSync(join(folder, 'd'), { recursive: true });
    const code = await importing.exited;
    // Before: "The import process … ended unexpectedly (exit code 0); nothing was saved."
    expect(code, JSON.stringify(result(importing.lines()))).toBe(0);
    const { dataset } = result(importing.lines());
    // Listed one by one, or counted in a "… N more" line past the first 10 000.
    const vanished = dataset!.skipped
      .filter((s) => s.reason === 'does not exist (deleted during the import, or a broken link)')
      .reduce((n, s) => n + Number(/^… ([\d,]+) more$/.exec(s.path)?.[1]?.replace(/,/g, '') ?? 1), 0);
    // Every image found is in the dataset, listed as gone or as a duplicate (JPEG blurs
    // the code that tells the generated images apart, and c, d are one image).
    expect(dataset!.stats.scanned).toBe(12_300);
    expect(dataset!.count + vanished + dataset!.stats.duplicates).toBe(12_300);
    expect(vanished).toBeGreaterThan(2000);
    expect(dataset!.stats.skipped).toBe(vanished + dataset!.stats.duplicates);
  });
});

describe('an orphaned import child', () => {
  it('kill -9 of the app mid-import: the child exits within 2 s and writes nothing, before or after the next instance sweeps', async () => {
    const home = join(dir.path, 'orphan-home');
    const folder = join(dir.path, 'slow');
    mkdirSync(join(folder, 'x'), { recursive: true });
    // 2 000 plain 256×256 PNGs (one file, hard-linked): decoded in JavaScript, ~5 s of
    // work that, before, never let the event loop see the parent's channel close.
    const pixels = Buffer.alloc(256 * 256 * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + (i >> 9) * 13) & 255;
    await sharp(pixels, { raw: { width: 256, height: 256, channels: 3 } }).png().toFile(join(folder, 'x', '0.png'));
    for (let i = 1; i < 2000; i++) linkSync(join(folder, 'x', '0.png'), join(folder, 'x', `${i}.png`));

    const importing = cliAsync(home, ['import', folder, '--size', '256', '--channels', '3']);
    let child = 0;
    await until(() => {
      child = childrenOf(importing.child.pid!)[0] ?? 0;
      return child > 0 && importing.lines().some((l) => l.phase === 'decoding' && (l.done ?? 0) >= 50);
    }, 60_000, 'the import child decoding');
    importing.child.kill('SIGKILL');
    const killed = Date.now();
    await importing.exited;
    // The next instance starts at once: it takes the workspace and sweeps blobs/tmp.
    const next = cliAsync(home, ['runs']);
    await until(() => !running(child), 5_000, 'the orphaned import child to exit');
    const lived = Date.now() - killed;
    expect(await next.exited).toBe(0);
    console.log(`orphaned import child exited ${lived} ms after kill -9 of the app`);
    // Before: it went on decoding for seconds, then wrote a pack and index into the swept folder.
    expect(lived).toBeLessThan(2_000);
    expect(readdirSync(join(home, 'blobs', 'tmp'))).toEqual([]);
  });

  it('never writes into a workspace whose lock is no longer the holding that started it', async () => {
    const folder = join(dir.path, 'small');
    await writeImageFolder(folder, ['a'], 3, { size: 16 });
    const home = join(dir.path, 'taken-over');
    const outDir = join(home, 'blobs', 'tmp');
    mkdirSync(outDir, { recursive: true });
    const lockPath = join(home, 'studio.lock');
    // A new instance took the workspace over: same layout, another token.
    writeFileSync(lockPath, JSON.stringify({ pid: process.pid, mode: 'web server', since: 'now', token: 'theirs' }));

    const runChild = async (token: string): Promise<{ reply: ImportReply; code: number | null }> => {
      const request: ImportRequest = { type: 'import', folder, settings: importSettingsSchema.parse({ size: 16 }), outDir, lock: { path: lockPath, token } };
      // Through the connection the core uses: envelope, hello, then the request.
      const child = openConnection<ImportRequest | ImportAck, ImportReply>(forkWorker, appPaths.importWorkerEntry, {
        name: 'import',
        version: IMPORT_PROTOCOL_VERSION,
        job: request,
        heartbeatTimeoutMs: null,
        quiet: true,
      });
      const exited = child.ended.then((end) => end.exit.code);
      const reply = new Promise<ImportReply>((resolve) =>
        child.onMessage((message) => {
          if (message.type === 'progress') return;
          child.send({ type: 'ack' });
          resolve(message);
        }),
      );
      return { reply: await reply, code: await exited };
    };

    const refused = await runChild('mine');
    expect(refused.reply).toMatchObject({ type: 'error', error: { code: 'conflict' } });
    expect(refused.reply.type === 'error' && refused.reply.error.message).toBe(
      `The import of ${folder} stopped: the VAE Studio that started it no longer holds the workspace (it was closed, or another instance took over); nothing was written. Import the folder again.`,
    );
    expect(refused.code).toBe(1);
    expect(readdirSync(outDir)).toEqual([]);

    // The holder itself gets its result, its metadata in a file beside the pack.
    const accepted = await runChild('theirs');
    expect(accepted.reply.type).toBe('result');
    expect(accepted.code).toBe(0);
    if (accepted.reply.type !== 'result') return;
    expect(existsSync(accepted.reply.packedPath)).toBe(true);
    expect(JSON.parse(readFileSync(accepted.reply.metaPath, 'utf8'))).toMatchObject({ stats: { scanned: 3, decoded: 3 } });
  });
});
