import { expect, openStudio, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';

test('a run in history: scrub its images by epoch; rename, notes and tags persist; clone prefills the form; delete removes it', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(data.path, 8);
    await openStudio(page, studio);
    await page.getByTestId('create-first-project').click();
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('dataset-new').click();
    await page.getByTestId('import-folder').fill(folder);
    await page.getByTestId('import-size').fill('16');
    await page.getByTestId('import-submit').click();
    await expect(page.getByTestId('dataset-name')).toHaveText('shapes', { timeout: 60_000 });

    await page.getByTestId('nav-train').click();
    await page.getByTestId('run-latent').fill('3');
    await page.getByTestId('run-hidden').fill('24');
    await page.getByTestId('run-epochs').fill('3');
    await page.getByTestId('run-batch-size').fill('8');
    await page.getByTestId('run-start').click();
    await expect(page.getByTestId('run-panel').getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 90_000 });

    await page.getByTestId('nav-runs').click();
    await page.getByTestId('run-row').click();
    // The step slider scrubs back through the epochs' image grids.
    await expect(page.getByTestId('artifact-slider-epoch')).toHaveText('3 (latest)');
    await expect(page.getByTestId('artifact-reconstructions')).toHaveAttribute('data-epoch', '3');
    await page.getByTestId('artifact-slider').fill('0');
    await expect(page.getByTestId('artifact-slider-epoch')).toHaveText('1 of 3');
    await expect(page.getByTestId('artifact-reconstructions')).toHaveAttribute('data-epoch', '1');
    await expect(page.getByTestId('artifact-samples')).toHaveAttribute('data-epoch', '1');
    await page.getByTestId('artifact-slider').fill('2');
    await expect(page.getByTestId('artifact-reconstructions')).toHaveAttribute('data-epoch', '3');
    await page.getByTestId('run-rename').fill('');
    await expect(page.getByTestId('run-details')).toContainText('A run needs a name.');
    await expect(page.getByTestId('run-details-save')).toBeDisabled();
    await page.getByTestId('run-rename').fill('tiny baseline');
    await page.getByTestId('run-tags').fill('shapes, smoke');
    await page.getByTestId('run-notes').fill('One epoch, to see the pipeline work.');
    await page.getByTestId('run-details-save').click();
    await expect(page.getByTestId('run-name')).toHaveText('tiny baseline');
    await screenshot(page, '12-run-details');

    await page.reload();
    await expect(page.getByTestId('run-rename')).toHaveValue('tiny baseline');
    await expect(page.getByTestId('run-tags')).toHaveValue('shapes, smoke');
    await expect(page.getByTestId('run-notes')).toHaveValue('One epoch, to see the pipeline work.');

    await page.getByTestId('run-clone').click();
    // The form holds its settings, and the run they came from is beside it, named.
    await expect(page).toHaveURL(/#\/train\/\d+$/);
    await expect(page.getByTestId('cloned-from')).toContainText('Settings cloned from tiny baseline, shown on the right');
    await expect(page.getByTestId('live-panel').getByTestId('run-name')).toHaveText('tiny baseline');
    await expect(page.getByTestId('run-latent')).toHaveValue('3');
    await expect(page.getByTestId('run-hidden')).toHaveValue('24');
    await expect(page.getByTestId('run-epochs')).toHaveValue('3');

    await page.getByTestId('nav-runs').click();
    await expect(page.getByTestId('run-row')).toContainText('tiny baseline');
    await page.getByTestId('run-row').click();
    // The confirmation can be turned down (Esc) and nothing happens; then confirmed.
    await page.getByTestId('run-delete').click();
    await expect(page.getByTestId('confirm')).toContainText('Delete run "tiny baseline"?');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('confirm')).toHaveCount(0);
    await expect(page.getByTestId('run-panel')).toBeVisible();
    await page.getByTestId('run-delete').click();
    await page.getByTestId('confirm-ok').click();
    await expect(page).toHaveURL(/#\/runs$/);
    await expect(page.getByTestId('runs-empty')).toBeVisible();
  } finally {
    await data.remove();
  }
});
