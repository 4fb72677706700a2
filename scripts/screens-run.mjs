// Screenshots of one run's page (curves, reconstructions, samples) at 1280×800, light and
// dark, from an existing workspace served in web mode: for the README's quality figures.
// Usage: node scripts/screens-run.mjs <home> <runId> <outDir> [name=run]
// Needs a build (out/) and Chromium (/usr/bin/chromium, or CHROMIUM_PATH).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';

const [home, runArg, outDir, name = 'run'] = process.argv.slice(2);
const runId = Number(runArg);
if (!home || !outDir || !Number.isInteger(runId) || runId < 1) {
  console.error('usage: node scripts/screens-run.mjs <home> <runId> <outDir> [name]');
  process.exit(2);
}
const root = join(import.meta.dirname, '..');

function startServer() {
  const child = spawn(process.execPath, [join(root, 'bin', 'vae-studio.mjs'), 'serve', '--home', home, '--port', '0', '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, VAE_STUDIO_HOME: home },
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const message = JSON.parse(line);
          if (message.type === 'listening') resolve({ child, url: message.url });
        } catch {
          // a partial line; the rest comes with the next chunk
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`serve exited (code ${code}) before listening`)));
  });
}

const { child, url } = await startServer();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
try {
  mkdirSync(outDir, { recursive: true });
  for (const scheme of ['light', 'dark']) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
    await page.goto(url);
    await page.getByTestId('app').and(page.locator('[data-phase="ready"]')).waitFor({ timeout: 60_000 });
    await page.goto(`${new URL(url).origin}/#/train/${runId}`);
    await page.getByTestId('run-panel').waitFor({ timeout: 60_000 });
    // Every image grid decoded and drawn before the shot.
    await page.waitForFunction(() => [...document.images].every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 60_000 });
    await page.waitForTimeout(1500);
    const file = join(outDir, `${name}-${scheme}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`wrote ${file}`);
    await page.close();
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
