import { join } from 'node:path';
import { expect, openStudio, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { createFirstProject } from './steps';

// The screens are checked at 1280×800, light and dark.
test.use({ viewport: { width: 1280, height: 800 } });

test('the conv architecture chooser shows each preset with its stages, parameters, memory and measured speed, and a preset sets its settings', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(join(data.path, 'shapes'), 8);
    await openStudio(page, studio);
    await createFirstProject(page);
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('dataset-new').click();
    await page.getByTestId('import-folder').fill(folder);
    await page.getByTestId('import-name').fill('shapes 64 rgb');
    await page.getByTestId('import-size').fill('64');
    await page.getByTestId('import-channels').selectOption('3');
    await page.getByTestId('import-submit').click();
    await expect(page.getByTestId('dataset-name')).toHaveText('shapes 64 rgb', { timeout: 60_000 });

    await page.getByTestId('nav-train').click();
    // At 64 px the form proposes the conv model for the first run, and says why.
    await expect(page.getByTestId('run-model-conv')).toBeChecked();
    await expect(page.getByTestId('run-model-note')).toContainText('The convolutional model is proposed for these images');
    await page.getByTestId('run-model-mlp').check();
    await expect(page.getByTestId('run-model-note')).toContainText('MLP (chosen). Proposed here: the convolutional model.');
    await page.getByTestId('run-model-conv').check();
    const chooser = page.getByTestId('run-conv-arch');
    await expect(chooser).toBeVisible();
    // A new conv run starts on the medium preset; at 64 px the scaled presets have four stages, classic two.
    await expect(page.getByTestId('run-conv-arch-medium')).toBeChecked();
    await expect(page.getByTestId('run-conv-figures-classic')).toContainText('2 stages');
    for (const preset of ['small', 'medium', 'large']) await expect(page.getByTestId(`run-conv-figures-${preset}`)).toContainText(/4 stages · [\d.]+ [Mk] params · ≥ [\d.]+ [MG]B per step · [\d.]+ img\/s at 64 px/);
    await expect(page.getByTestId('run-conv-bench-source')).toContainText(/measured by npm run bench:arch on .*cores/);
    await expect(page.getByTestId('run-conv-width')).toHaveValue('16');
    await page.getByTestId('run-form').scrollIntoViewIfNeeded();
    await screenshot(page, '20-conv-presets');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '20-conv-presets-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    await page.getByText('Large', { exact: true }).click();
    await expect(page.getByTestId('run-conv-width')).toHaveValue('32');
    await expect(page.getByTestId('run-conv-res-blocks')).toHaveValue('2');
    // At 64 px and more the form proposes the centred encoder input and says why; the preset keeps its layer norm at Adam 1e-3 (src-shared/training-proposal.ts).
    await expect(page.getByTestId('run-conv-norm')).toHaveValue('layer');
    await expect(page.getByTestId('run-learning-rate')).toHaveValue('0.001');
    await expect(page.getByTestId('run-encoder-input')).toHaveValue('centred');
    await expect(page.getByTestId('run-encoder-input-note')).toContainText('Centred: the encoder reads 2x − 1');
    await page.getByText('Classic', { exact: true }).click();
    await expect(page.getByTestId('run-encoder-input')).toHaveValue('unit');
    await expect(page.getByTestId('run-conv-width')).toHaveCount(0);
  } finally {
    await data.remove();
  }
});
