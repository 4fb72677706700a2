import type { Page } from '@playwright/test';
import { expect, openStudio, type Studio } from './fixtures';

/** UI steps several specs share: each one goes through the screens a person would use. */

export async function createFirstProject(page: Page): Promise<void> {
  await expect(page.getByTestId('empty-projects')).toBeVisible();
  await page.getByTestId('create-first-project').click();
  await expect(page.getByTestId('project-current')).toHaveText('My first project');
}

export async function importFolder(page: Page, folder: string, name: string, size = 16): Promise<void> {
  await page.getByTestId('nav-datasets').click();
  await page.getByTestId('dataset-new').click();
  await page.getByTestId('import-folder').fill(folder);
  await page.getByTestId('import-name').fill(name);
  await page.getByTestId('import-size').fill(String(size));
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('dataset-name')).toHaveText(name, { timeout: 60_000 });
}

/** Opens the app on its first project, with the bundled sample digits imported by their one button. */
export async function openWithSampleDigits(page: Page, studio: Studio): Promise<void> {
  await openStudio(page, studio);
  await createFirstProject(page);
  await page.getByTestId('import-sample').click();
  await expect(page.getByTestId('dataset-name')).toHaveText('Sample digits', { timeout: 60_000 });
}

/** Opens the app on its first project, with `folder` imported as `name`. */
export async function openWithFolder(page: Page, studio: Studio, folder: string, name: string, size = 16): Promise<void> {
  await openStudio(page, studio);
  await createFirstProject(page);
  await importFolder(page, folder, name, size);
}

export interface TinyRun {
  name: string;
  latent?: number;
  hidden?: number;
  epochs?: number;
  beta?: number;
}

/** Starts a small MLP run from the Train form and waits until it has finished. */
export async function trainTinyRun(page: Page, run: TinyRun): Promise<string> {
  await page.getByTestId('nav-train').click();
  await page.getByTestId('run-name-input').fill(run.name);
  await page.getByTestId('run-model-mlp').check();
  await page.getByTestId('run-latent').fill(String(run.latent ?? 4));
  await page.getByTestId('run-hidden').fill(String(run.hidden ?? 32));
  await page.getByTestId('run-epochs').fill(String(run.epochs ?? 1));
  await page.getByTestId('run-batch-size').fill('16');
  await page.getByTestId('run-beta').fill(String(run.beta ?? 1));
  await page.getByTestId('run-start').click();
  const panel = page.getByTestId('run-panel');
  await expect(panel.getByTestId('run-name')).toHaveText(run.name);
  await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 90_000 });
  return (await panel.getAttribute('data-run-id')) ?? '';
}

export async function chartPoints(page: Page, testId = 'loss-chart'): Promise<number> {
  return Number(await page.getByTestId(testId).getAttribute('data-points'));
}

/** requestAnimationFrame intervals over `ms` in the page: what a person sees as smooth. */
export async function frameTimes(page: Page, ms: number): Promise<{ frames: number; p50: number; p95: number; max: number }> {
  return page.evaluate(
    (duration) =>
      new Promise((resolve) => {
        const gaps: number[] = [];
        let last = performance.now();
        const start = last;
        const tick = (now: number): void => {
          gaps.push(now - last);
          last = now;
          if (now - start < duration) {
            requestAnimationFrame(tick);
            return;
          }
          gaps.sort((a, b) => a - b);
          const at = (q: number): number => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))]!;
          resolve({ frames: gaps.length, p50: at(0.5), p95: at(0.95), max: gaps.at(-1)! });
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
}
