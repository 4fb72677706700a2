import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type Page } from '@playwright/test';
import sharp from 'sharp';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Screenshots a person looks at after a run, one per view. */
export const screensDir = join(repoRoot, 'test-results', 'screens');

export interface Studio {
  /** The URL the server printed, carrying this launch's access token. */
  url: string;
  /** The fresh workspace ($VAE_STUDIO_HOME) this server owns. */
  home: string;
}

const START_TIMEOUT_MS = 30_000;

function waitForListening(child: ChildProcess, log: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`server printed no "listening" line in ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(new Error(`${error.message}\n--- server output ---\n${log.join('')}`));
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log.push(text);
      buffered += text;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        try {
          const message = JSON.parse(line) as { type?: string; url?: string };
          if (message.type === 'listening' && typeof message.url === 'string') {
            clearTimeout(timer);
            resolvePromise(message.url);
          }
        } catch {
          // Not every line is ours to read; keep looking.
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString('utf8')));
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`server exited early (code ${code}, signal ${signal})`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * `studio`: a fresh `vae-studio serve` for each test, on its own temporary workspace,
 * so tests never see each other's projects. Its output is attached when a test fails.
 */
export const test = base.extend<{ studio: Studio }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixture list from this pattern.
  studio: async ({}, use, testInfo) => {
    const cli = join(repoRoot, 'out', 'main', 'cli.js');
    if (!existsSync(cli) || !existsSync(join(repoRoot, 'out', 'renderer', 'index.html'))) {
      throw new Error('VAE Studio is not built: run `npm run build` before the e2e tests.');
    }
    const home = await mkdtemp(join(tmpdir(), 'vae-studio-e2e-'));
    const log: string[] = [];
    const child = spawn(process.execPath, ['bin/vae-studio.mjs', 'serve', '--home', home, '--port', '0', '--json'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      // One run at a time, as on a 2-core machine: specs rely on the second run waiting in the queue.
      env: { ...process.env, VAE_STUDIO_HOME: home, VAE_STUDIO_PARALLEL_RUNS: '1' },
    });
    try {
      const url = await waitForListening(child, log);
      await use({ url, home });
    } finally {
      await stop(child);
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('server-output.txt', { body: log.join(''), contentType: 'text/plain' });
      }
      await rm(home, { recursive: true, force: true });
    }
  },
});

export { expect };

/** Opens the app and waits until it has talked to the core. */
export async function openStudio(page: Page, studio: Studio): Promise<void> {
  await page.goto(studio.url);
  await expect(page.getByTestId('app')).toHaveAttribute('data-phase', 'ready');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(screensDir, { recursive: true });
  await captureFullPage(page, join(screensDir, `${name}.png`));
}

/**
 * The whole page as a window as tall as the page would show it. Chromium captures a
 * full page through the window the page has, so what sticks to the window's bottom (the
 * train form's Start bar) would be drawn where that bottom was, over the fields there, and
 * the sidebar would stop at the window's height: the window grows to the page's height for
 * the capture (again if that makes the page taller) and then goes back. From the top: a
 * scrolled page would draw the sticky sidebar where the scroll left it.
 *
 * Headless Chromium now and then never delivers the frame a capture waits for (seen once
 * in CI at load, on a page that had rendered and answered): the page is first asked to
 * paint two frames, and a capture that stalls is tried once more; a second stall fails
 * naming `what`, so a page that truly hangs still fails.
 */
export async function captureFullPage(page: Page, path: string, what = basename(path), timeout = 20_000): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    // Two frames, or two seconds where frames do not come (the capture then says more).
    await page.evaluate(
      () =>
        new Promise<void>((done) => {
          setTimeout(done, 2000);
          requestAnimationFrame(() => requestAnimationFrame(() => done()));
        }),
    );
    try {
      await captureOnce(page, path, timeout);
      return;
    } catch (error) {
      if (attempt >= 2) throw new Error(`the screenshot of ${what} stalled twice: ${(error as Error).message}`, { cause: error });
      console.warn(`the screenshot of ${what} stalled once; trying again`);
    }
  }
}

async function captureOnce(page: Page, path: string, timeout: number): Promise<void> {
  const viewport = page.viewportSize();
  await page.evaluate(() => window.scrollTo(0, 0));
  try {
    for (let grown = 0; viewport && grown < 3; grown++) {
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      if (height <= (page.viewportSize()?.height ?? height)) break;
      await page.setViewportSize({ width: viewport.width, height });
      await page.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done()))));
    }
    // Transitions finished: a theme switch just before would otherwise be caught half-way.
    await page.screenshot({ path, fullPage: true, animations: 'disabled', timeout });
  } finally {
    if (viewport) await page.setViewportSize(viewport);
  }
}

/**
 * Writes a tiny labelled image folder: `perClass` 16×16 grayscale PNGs in each of three
 * subfolders (bars, rings, crosses) with a little seeded jitter, plus one file that is
 * not an image and one PNG that is not really a PNG, which the import must skip.
 * Another `firstSeed` draws other images (for a test/ folder beside a train/ one).
 */
export async function writeShapesFolder(root: string, perClass = 24, firstSeed = 7): Promise<{ folder: string; images: number }> {
  const folder = join(root, 'shapes');
  const size = 16;
  let seed = firstSeed;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const draw: Record<string, (x: number, y: number, dx: number, dy: number) => boolean> = {
    bars: (x, _y, dx) => Math.abs(x - 8 - dx) <= 1,
    rings: (x, y, dx, dy) => Math.abs(Math.hypot(x - 7.5 - dx, y - 7.5 - dy) - 5) < 1.1,
    crosses: (x, y, dx, dy) => Math.abs(x - y - dx) <= 0.8 || Math.abs(x + y - 15 - dy) <= 0.8,
  };
  for (const [label, inside] of Object.entries(draw)) {
    await mkdir(join(folder, label), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const dx = Math.round((random() - 0.5) * 4);
      const dy = Math.round((random() - 0.5) * 4);
      const pixels = Buffer.alloc(size * size);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) pixels[y * size + x] = inside(x, y, dx, dy) ? 230 + Math.round(random() * 25) : Math.round(random() * 20);
      }
      await sharp(pixels, { raw: { width: size, height: size, channels: 1 } })
        .png()
        .toFile(join(folder, label, `${label}-${String(i).padStart(3, '0')}.png`));
    }
  }
  await writeFile(join(folder, 'README.txt'), 'not an image\n');
  await writeFile(join(folder, 'rings', 'broken.png'), 'this is not a PNG');
  return { folder, images: perClass * Object.keys(draw).length };
}

export async function tempFolder(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'vae-studio-e2e-data-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
