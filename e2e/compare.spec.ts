import { expect, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { chartPoints, openWithFolder, trainTinyRun } from './steps';

test('compare two runs: curves overlaid with a legend per run, settings diffed; their dataset goes only with them', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(data.path, 8);
    await openWithFolder(page, studio, folder, 'shapes');
    const small = await trainTinyRun(page, { name: 'small-z', latent: 2, epochs: 2 });
    const wide = await trainTinyRun(page, { name: 'wide-z', latent: 6, epochs: 2, beta: 2 });

    await page.getByTestId('nav-runs').click();
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    // At 1280 px the history table fits with its default columns (no column cut off, no
    // sideways page); a hidden column comes back from the column choice.
    await page.setViewportSize({ width: 1280, height: 800 });
    await expect(page.getByTestId('runs-table-scroll')).toHaveAttribute('data-more-right', 'false');
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await expect(page.getByTestId('runs-units')).toContainText('nats per image');
    await screenshot(page, '12-runs-1280');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '12-runs-1280-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByTestId('runs-columns').click();
    await page.getByTestId('runs-column-toggle-backend').check();
    await expect(page.locator('[data-testid="runs-column"][data-key="backend"]')).toBeVisible();
    await page.getByTestId('runs-column-toggle-backend').uncheck();
    await page.setViewportSize({ width: 1440, height: 900 });
    // One run ticked is not a comparison yet.
    await page.locator(`[data-testid="run-row"][data-run-id="${small}"]`).getByTestId('run-select').check();
    await expect(page.getByTestId('runs-compare')).toHaveAttribute('aria-disabled', 'true');
    await page.locator(`[data-testid="run-row"][data-run-id="${wide}"]`).getByTestId('run-select').check();
    await expect(page.getByTestId('runs-selected')).toHaveText('2 selected');
    await page.getByTestId('runs-compare').click();

    await expect(page).toHaveURL(new RegExp(`#/compare/${small},${wide}$`));
    const legend = page.getByTestId('compare-legend-item');
    await expect(legend).toHaveCount(2);
    await expect(legend.nth(0)).toContainText('small-z');
    await expect(legend.nth(1)).toContainText('wide-z');
    // Both runs' training curves are drawn (every step of both).
    await expect.poll(() => chartPoints(page, 'compare-chart')).toBeGreaterThanOrEqual(8);

    // Per-epoch validation loss: one point per epoch and run.
    await page.getByTestId('compare-metric').selectOption('val_loss');
    await expect.poll(() => chartPoints(page, 'compare-chart')).toBe(4);
    await page.getByTestId('chart-x-epoch').check();
    await expect(page.getByTestId('compare-chart')).toHaveAttribute('data-metric', 'val_loss');

    // Only the settings that differ show at first, in the run page's words; all of them
    // (none another family's) on request, the shared ones unmarked.
    await expect(page.getByTestId('diff-only')).toBeChecked();
    await expect(page.getByTestId('diff-row')).toHaveCount(2);
    await expect(page.locator('[data-testid="diff-row"][data-key="latent"]')).toHaveAttribute('data-differs', 'true');
    await expect(page.locator('[data-testid="diff-row"][data-key="latent"]')).toContainText('Latent size');
    await expect(page.locator('[data-testid="diff-row"][data-key="latent"]')).toContainText('2');
    await expect(page.locator('[data-testid="diff-row"][data-key="beta"]')).toHaveAttribute('data-differs', 'true');
    await page.getByTestId('diff-only').uncheck();
    await expect(page.locator('[data-testid="diff-row"][data-key="epochs"]')).toHaveAttribute('data-differs', 'false');
    await expect(page.locator('[data-testid="diff-row"][data-key="codebookDecay"]')).toHaveCount(0);
    await expect(page.getByTestId('config-diff')).not.toContainText('klWarmupSteps');
    await page.getByTestId('diff-only').check();
    await expect(page.getByTestId('diff-row')).toHaveCount(2);
    await expect(page.getByTestId('compare-summary')).toContainText('Test NLL (nats per image)');
    await expect(page.getByTestId('compare-chart')).toHaveAttribute('data-unit', 'nats per image');
    // Nothing on Compare scrolls sideways at 1280 px (once the chart has followed the new width).
    await page.setViewportSize({ width: 1280, height: 800 });
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await screenshot(page, '13-compare-1280');
    await page.setViewportSize({ width: 1440, height: 900 });
    await screenshot(page, '13-compare');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '13-compare-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // The runs still use their dataset: the dialog offers what can work — going to them,
    // or deleting the dataset with them (their count on the button).
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('dataset-row').click();
    await page.getByTestId('dataset-delete').click();
    await expect(page.getByTestId('confirm')).toContainText('2 runs trained on it');
    await expect(page.getByTestId('confirm-ok')).toHaveText('Delete dataset and 2 runs');
    await page.getByTestId('confirm-alternative').click();
    await expect(page).toHaveURL(/#\/runs$/);
    await expect(page.getByTestId('runs-dataset-filter')).toContainText('Runs trained on shapes');
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('dataset-row').click();
    await page.getByTestId('dataset-delete').click();
    await page.getByTestId('confirm-ok').click();
    await expect(page.getByTestId('dataset-row')).toHaveCount(0);
    await page.getByTestId('nav-runs').click();
    await expect(page.getByTestId('runs-empty')).toBeVisible();
  } finally {
    await data.remove();
  }
});
