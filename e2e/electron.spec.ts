// The thin slice once more, in the real Electron window, when an Electron binary is
// available (ELECTRON_EXEC_PATH, or a downloaded `electron` package). The Playwright
// config only runs this file then; without a binary it prints why it did not run.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron as electron } from '@playwright/test';
import { expect, repoRoot, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { electronBinary } from './electron-binary';

test('desktop app: import a folder, train, see the curve and find the run', async () => {
  const executablePath = electronBinary();
  if (!executablePath) throw new Error('no Electron binary: this file runs only when one is found');
  const native = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'electron-native.mjs'), executablePath], { stdio: 'inherit' });
  expect(native.status, 'building better-sqlite3 for Electron').toBe(0);

  const home = await mkdtemp(join(tmpdir(), 'vae-studio-electron-'));
  const data = await tempFolder();
  const app = await electron.launch({ executablePath, args: [repoRoot], env: { ...process.env, VAE_STUDIO_HOME: home } });
  try {
    const page = await app.firstWindow();
    await expect(page.getByTestId('app')).toHaveAttribute('data-phase', 'ready');
    // The preload bridge, not the web client, carries the calls.
    expect(await page.evaluate(() => typeof window.vaeStudio?.invoke)).toBe('function');
    expect(await page.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');

    const { folder, images } = await writeShapesFolder(data.path, 16);
    await page.getByTestId('create-first-project').click();
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('dataset-new').click();
    await page.getByTestId('import-folder').fill(folder);
    await page.getByTestId('import-name').fill('shapes');
    await page.getByTestId('import-size').fill('16');
    await page.getByTestId('import-submit').click();
    await expect(page.getByTestId('dataset-count')).toHaveText(String(images), { timeout: 60_000 });

    await page.getByTestId('nav-train').click();
    await page.getByTestId('run-model-mlp').check();
    await page.getByTestId('run-latent').fill('4');
    await page.getByTestId('run-hidden').fill('32');
    await page.getByTestId('run-epochs').fill('2');
    await page.getByTestId('run-batch-size').fill('16');
    await page.getByTestId('run-start').click();
    const chart = page.getByTestId('loss-chart');
    await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 90_000 }).toBeGreaterThanOrEqual(2);
    await expect(page.getByTestId('run-panel').getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 110_000 });
    await screenshot(page, 'electron-train');

    await page.getByTestId('nav-runs').click();
    await expect(page.getByTestId('run-row')).toHaveCount(1);
    await expect(page.getByTestId('run-row').getByTestId('run-status')).toHaveAttribute('data-status', 'finished');
  } finally {
    await app.close();
    await rm(home, { recursive: true, force: true });
    await data.remove();
  }
});
