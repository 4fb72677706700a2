import { join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { expect, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { openWithFolder, trainTinyRun } from './steps';

test('export a run as a .vaestudio archive from its page, then import it back from Runs with its model card', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(data.path, 8);
    await openWithFolder(page, studio, folder, 'shapes');
    await trainTinyRun(page, { name: 'exported mlp', latent: 3, epochs: 2 });

    await page.getByTestId('nav-runs').click();
    await page.getByTestId('run-row').click();
    const exporter = page.getByTestId('export-model');
    await expect(exporter).toBeVisible();
    // It says that the user's own images go along.
    await expect(page.getByTestId('export-heldout-note')).toContainText('up to 500 held-out images of “shapes”');
    // A typed path without a folder behind it is refused with the core's reason.
    await page.getByTestId('export-path').fill(join(data.path, 'missing', 'x.vaestudio'));
    await page.getByTestId('export-submit').click();
    await expect(page.getByTestId('export-error')).toContainText('does not exist');

    const archive = join(data.path, 'exported-mlp.vaestudio');
    await page.getByTestId('export-format-archive').check();
    await page.getByTestId('export-checkpoint-last').check();
    await page.getByTestId('export-path').fill(archive);
    await page.getByTestId('export-submit').click();
    await expect(page.getByTestId('export-done')).toContainText(archive);
    await expect(page.getByTestId('export-done')).toContainText('last checkpoint (epoch 2)');
    expect(existsSync(archive)).toBe(true);
    await exporter.scrollIntoViewIfNeeded();
    await screenshot(page, '40-export-model');

    // Exporting to the same file again asks first; Cancel writes nothing, Replace replaces it.
    const written = statSync(archive).mtimeMs;
    await page.getByTestId('export-submit').click();
    await expect(page.getByTestId('confirm')).toContainText(`${archive} already exists`);
    await page.getByTestId('confirm-cancel').click();
    await expect(page.getByTestId('export-error')).toContainText('already exists; nothing was written');
    expect(statSync(archive).mtimeMs).toBe(written);
    await page.getByTestId('export-submit').click();
    await page.getByTestId('confirm-ok').click();
    await expect(page.getByTestId('export-done')).toContainText(archive);
    expect(statSync(archive).mtimeMs).toBeGreaterThan(written);

    await page.getByTestId('nav-runs').click();
    await page.getByTestId('runs-import-model').click();
    await page.getByTestId('import-model-path').fill(join(data.path, 'shapes'));
    await page.getByTestId('import-model-submit').click();
    await expect(page.getByTestId('import-model-error')).toContainText('not a usable VAE Studio model export');
    await screenshot(page, '41-import-model-refused');
    await page.getByTestId('import-model-path').fill(archive);
    await expect(page.getByTestId('import-model-error')).toHaveCount(0);
    await page.getByTestId('import-model-submit').click();

    const card = page.getByTestId('model-card');
    await expect(card).toContainText('from run #1 "exported mlp" (last checkpoint, epoch 2)');
    await expect(card).toContainText('MLP VAE (latent 3, logistic decoder)');
    await expect(card).toContainText('Test NLL');
    await expect(page.getByTestId('run-tags')).toHaveValue(/imported/);
    // Named as a copy; its held-out images are shown as part of it.
    await expect(page.getByTestId('run-rename')).toHaveValue('exported mlp (imported)');
    await expect(page.getByTestId('model-card-heldout')).toContainText('held-out test images are kept with it');
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, '42-imported-model-card');

    await page.getByTestId('nav-runs').click();
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    await expect(page.getByTestId('run-link')).toContainText(['exported mlp (imported)', 'exported mlp']);
    // The list's duration of the copy is the original's, from its card (not 0s).
    const durations = await page.getByTestId('run-duration').allTextContents();
    expect(durations[0]).toBe(durations[1]);
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('dataset-from-model').click();
    await expect(page.getByTestId('dataset-from-model-note')).toContainText('came with the model imported as “exported mlp (imported)”');
    await expect(page.getByTestId('dataset-train')).toHaveCount(0);
    await screenshot(page, '43-imported-heldout-dataset');
  } finally {
    await data.remove();
  }
});
