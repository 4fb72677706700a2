import type { Locator, Page } from '@playwright/test';
import { expect, openStudio, screenshot, test } from './fixtures';
import { createFirstProject } from './steps';

/** A screenshot without the focus ring of the control the test just moved. */
async function shoot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await screenshot(page, name);
}

/** Starts an MLP run on the dataset the form has chosen; does not wait for it. */
async function startRun(page: Page, run: { name: string; latent: number; epochs: number }): Promise<string> {
  await page.getByTestId('nav-train').click();
  await page.getByTestId('run-name-input').fill(run.name);
  await page.getByTestId('run-model-mlp').check();
  await page.getByTestId('run-latent').fill(String(run.latent));
  await page.getByTestId('run-hidden').fill('128');
  await page.getByTestId('run-epochs').fill(String(run.epochs));
  await page.getByTestId('run-batch-size').fill('32');
  await page.getByTestId('run-start').click();
  const panel = page.getByTestId('run-panel');
  await expect(panel.getByTestId('run-name')).toHaveText(run.name);
  return (await panel.getAttribute('data-run-id')) ?? '';
}

/** The picture a figure shows once no request is in flight. */
async function settledSrc(figure: Locator): Promise<string> {
  await expect(figure).toHaveAttribute('data-loading', 'false', { timeout: 60_000 });
  const img = figure.locator('img');
  await expect(img).toBeVisible();
  return (await img.getAttribute('src')) ?? '';
}

/** Waits until the figure shows a picture other than `before`, and returns it. */
async function changedSrc(figure: Locator, before: string): Promise<string> {
  await expect.poll(() => settledSrc(figure), { timeout: 60_000 }).not.toBe(before);
  return settledSrc(figure);
}

async function naturalSize(figure: Locator): Promise<{ width: number; height: number }> {
  return figure.locator('img').evaluate((img: HTMLImageElement) => ({ width: img.naturalWidth, height: img.naturalHeight }));
}

/**
 * Moves the pointer over the latent map from its centre outwards until a point is under
 * it (the canvas draws points; where they land depends on the trained model).
 */
async function hoverSomePoint(page: Page): Promise<void> {
  const box = await page.getByTestId('map-canvas').boundingBox();
  if (!box) throw new Error('the latent map has no box');
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  for (let ring = 0; ring < box.width / 2; ring += 8) {
    for (let k = 0; k < Math.max(1, ring); k += 4) {
      const angle = (k / Math.max(1, ring)) * 2 * Math.PI;
      await page.mouse.move(cx + ring * Math.cos(angle), cy + ring * Math.sin(angle));
      if (await page.getByTestId('map-hover').isVisible()) return;
    }
  }
  throw new Error('no point of the latent map could be hovered');
}

test('explore: opens after the first epoch; traversals, latent map with hover, interpolation and samples answer their controls', async ({ page, studio }) => {
  test.setTimeout(360_000);
  await openStudio(page, studio);
  await createFirstProject(page);
  await page.getByTestId('import-sample').click();
  await expect(page.getByTestId('dataset-name')).toHaveText('Sample digits', { timeout: 60_000 });

  // Two runs: the first is paused, so it keeps the only training slot and the second
  // waits in the queue with no saved model yet (however fast this machine trains).
  const wide = await startRun(page, { name: 'digits-z8', latent: 8, epochs: 24 });
  const status = page.getByTestId('run-panel').getByTestId('run-status');
  await expect(status).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
  await page.getByTestId('run-pause').click();
  await expect(status).toHaveAttribute('data-status', 'paused', { timeout: 30_000 });
  const plane = await startRun(page, { name: 'digits-z2', latent: 2, epochs: 8 });
  await expect(status).toHaveAttribute('data-status', 'queued');
  await expect(page.getByTestId('run-panel').getByTestId('run-explore')).toBeDisabled();
  await page.goto(`${studio.url.split('#')[0]}#/runs/${plane}/explore`);
  await expect(page.getByTestId('explore-empty')).toContainText('Explore opens after the first epoch');
  await expect(page.getByTestId('explore-empty')).toContainText('opens by itself');
  await shoot(page, '18-explore-empty');

  // The first run continues from a second window; once it ends, the queued run starts
  // and this page opens by itself when that run has saved its first epoch.
  const other = await page.context().newPage();
  await other.goto(`${studio.url.split('#')[0]}#/runs/${wide}`);
  await other.getByTestId('run-unpause').click();
  // Not 'running': on a fast machine the rest of its epochs may be over before a check.
  await expect(other.getByTestId('run-panel').getByTestId('run-status')).not.toHaveAttribute('data-status', 'paused', { timeout: 30_000 });
  await other.close();
  await expect(page.getByTestId('explore-info')).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('explore')).toHaveAttribute('data-ready', 'true');

  // A 2-D latent: the map is the latent itself, with the decoded plane beside it.
  await page.getByTestId('explore-tab-map').click();
  await expect(page).toHaveURL(new RegExp(`#/runs/${plane}/explore/map$`));
  const canvas = page.getByTestId('map-canvas');
  await expect.poll(async () => Number(await canvas.getAttribute('data-points')), { timeout: 60_000 }).toBeGreaterThan(50);
  await expect(page.getByTestId('map-projection')).toContainText('latent itself');
  await expect(page.getByTestId('map-legend-item')).toHaveCount(10);
  const manifold = page.getByTestId('map-manifold');
  const plane15 = await settledSrc(manifold);
  expect(await naturalSize(manifold)).toEqual({ width: 15 * 28 + 16 * 2, height: 15 * 28 + 16 * 2 });
  await page.getByTestId('map-manifold-steps').fill('8');
  await changedSrc(manifold, plane15);
  expect(await naturalSize(manifold)).toEqual({ width: 8 * 28 + 9 * 2, height: 8 * 28 + 9 * 2 });
  await hoverSomePoint(page);
  await expect(page.getByTestId('map-hover-image')).toBeVisible();
  await expect(page.getByTestId('map-hover-image')).toHaveAttribute('src', /^data:image\/png;base64,/);
  await shoot(page, '19-explore-map-2d');

  // The keyboard reaches the same pictures: arrows walk from point to point, Escape hides.
  await page.mouse.move(0, 0);
  const hover = page.getByTestId('map-hover');
  await expect(hover).toHaveCount(0);
  await canvas.focus();
  await page.keyboard.press('ArrowRight');
  await expect(hover).toBeVisible();
  const firstPoint = (await hover.getAttribute('data-index')) ?? '';
  await page.keyboard.press('ArrowRight');
  await expect(hover).not.toHaveAttribute('data-index', firstPoint);
  await expect(page.getByTestId('map-hover-image')).toBeVisible();
  await expect(page.getByTestId('map-announce')).toContainText(/test image \d+/);
  await page.keyboard.press('Escape');
  await expect(hover).toHaveCount(0);

  // The 8-dim run has finished meanwhile; its page opens Explore from the button.
  await page.goto(`${studio.url.split('#')[0]}#/runs/${wide}`);
  await expect(page.getByTestId('run-panel').getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 120_000 });
  await page.getByTestId('run-explore').click();
  await expect(page).toHaveURL(new RegExp(`#/runs/${wide}/explore$`));
  await expect(page.getByTestId('explore-info')).toContainText('8 dims', { timeout: 60_000 });

  // Traversals: one row per dimension, most KL first, each labelled with its KL.
  const grid = page.getByTestId('traverse-grid');
  const first = await settledSrc(grid);
  await expect(page.getByTestId('traverse-row')).toHaveCount(8);
  const klLabels = await page.getByTestId('traverse-row').locator('.kl').allTextContents();
  const kls = klLabels.map((text) => parseFloat(text));
  expect(kls).toEqual([...kls].sort((a, b) => b - a));
  expect(await naturalSize(grid)).toEqual({ width: 9 * 28 + 10 * 2, height: 8 * 28 + 9 * 2 });
  // Fewer steps and fewer dims: a smaller grid.
  await page.getByTestId('traverse-steps').fill('5');
  await page.getByTestId('traverse-count').fill('4');
  const smaller = await changedSrc(grid, first);
  expect(await naturalSize(grid)).toEqual({ width: 5 * 28 + 6 * 2, height: 4 * 28 + 5 * 2 });
  await expect(page.getByTestId('traverse-row')).toHaveCount(4);
  // Another base: same size, other pictures.
  await page.getByTestId('traverse-base-image').nth(3).click();
  await expect(page.getByTestId('traverse-base-image').nth(3)).toHaveAttribute('aria-pressed', 'true');
  const based = await changedSrc(grid, smaller);
  // A wider range from that base changes the pictures again.
  await page.getByTestId('traverse-range').fill('5');
  await expect(page.getByTestId('traverse-range-value')).toHaveText('5.00 σ');
  await changedSrc(grid, based);
  await page.getByTestId('traverse-steps').fill('9');
  await page.getByTestId('traverse-count').fill('8');
  await expect(page.getByTestId('traverse-row')).toHaveCount(8, { timeout: 30_000 });
  await settledSrc(grid);
  await shoot(page, '20-explore-traverse');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shoot(page, '20-explore-traverse-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // The latent map of an 8-dim latent is a PCA projection.
  await page.getByTestId('explore-tab-map').click();
  await expect.poll(async () => Number(await canvas.getAttribute('data-points')), { timeout: 60_000 }).toBeGreaterThan(50);
  await expect(page.getByTestId('map-projection')).toHaveText(/^PCA, \d+% \+ \d+% of variance$/);
  await expect(page.getByTestId('map-manifold')).toHaveCount(0);
  await hoverSomePoint(page);
  await expect(page.getByTestId('map-hover-image')).toBeVisible();
  await shoot(page, '21-explore-map-pca');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shoot(page, '21-explore-map-pca-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.mouse.move(0, 0);

  // Interpolation: both paths between two picked images, end points included.
  await page.getByTestId('explore-tab-interpolate').click();
  const linear = page.getByTestId('interpolate-linear');
  const spherical = page.getByTestId('interpolate-spherical');
  const linearFirst = await settledSrc(linear);
  await settledSrc(spherical);
  expect(await naturalSize(linear)).toEqual({ width: 10 * 28 + 11 * 2, height: 28 + 2 * 2 });
  await page.getByTestId('interpolate-pick-to').check();
  await page.getByTestId('interpolate-ends-image').nth(5).click();
  await expect(page.getByTestId('interpolate-ends-image').nth(5)).toHaveAttribute('aria-pressed', 'true');
  await changedSrc(linear, linearFirst);
  await settledSrc(spherical);
  await shoot(page, '22-explore-interpolate');

  // Samples: the temperature moves the same codes, a new seed draws new ones.
  await page.getByTestId('explore-tab-samples').click();
  const samples = page.getByTestId('samples-grid');
  const atOne = await settledSrc(samples);
  await page.getByTestId('samples-temperature').fill('0.3');
  const cooler = await changedSrc(samples, atOne);
  await page.getByTestId('samples-new').click();
  const reseeded = await changedSrc(samples, cooler);
  await page.getByTestId('samples-temperature').fill('1');
  await changedSrc(samples, reseeded);
  await shoot(page, '23-explore-samples');

  // The tab is part of the address: a reload comes back to it, and to the model.
  await page.reload();
  await expect(page.getByTestId('explore-tab-samples')).toHaveAttribute('aria-selected', 'true');
  await settledSrc(page.getByTestId('samples-grid'));

  // "e" opens Explore from a run's page.
  await page.goto(`${studio.url.split('#')[0]}#/runs/${plane}`);
  await expect(page.getByTestId('run-explore')).toBeEnabled();
  await page.keyboard.press('e');
  await expect(page).toHaveURL(new RegExp(`#/runs/${plane}/explore$`));
});
