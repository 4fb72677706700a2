// Screenshots of one run's whole page (curves, reconstructions, samples), 1280 wide, light and
// dark, from an existing workspace served in web mode: for the README's quality figures.
// Usage: node scripts/screens-run.mjs <home> <runId> <outDir> [name=run]
// Needs a build (out/) and Chromium (/usr/bin/chromium, or CHROMIUM_PATH).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { startServer } from './web-server.mjs';

const [home, runArg, outDir, name = 'run'] = process.argv.slice(2);
const runId = Number(runArg);
if (!home || !outDir || !Number.isInteger(runId) || runId < 1) {
  console.error('usage: node scripts/screens-run.mjs <home> <runId> <outDir> [name]');
  process.exit(2);
}

const { child, url } = await startServer(home);
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
    // The whole page at 1280 wide: the viewport made as tall as the page, so the form's sticky
    // Start bar sits where it ends instead of over the fields (a full-page shot keeps sticky
    // elements where an 800-high viewport put them).
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1280, height: Math.max(800, height) });
    await page.waitForTimeout(500);
    const file = join(outDir, `${name}-${scheme}.png`);
    await page.screenshot({ path: file });
    console.log(`wrote ${file}`);
    await page.close();
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
