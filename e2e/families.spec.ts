import type { Locator } from '@playwright/test';
import { join } from 'node:path';
import { expect, screenshot, tempFolder, test } from './fixtures';
import { openWithSampleDigits } from './steps';

/** The picture a figure shows once no request is in flight. */
async function settledSrc(figure: Locator): Promise<string> {
  await expect(figure).toHaveAttribute('data-loading', 'false', { timeout: 60_000 });
  const img = figure.locator('img');
  await expect(img).toBeVisible();
  return (await img.getAttribute('src')) ?? '';
}

test('a conditional VAE from the new-run form: Explore generates a chosen class and swaps the class of an image', async ({ page, studio }) => {
  test.setTimeout(240_000);
  await openWithSampleDigits(page, studio);

  await page.getByTestId('nav-train').click();
  await page.getByTestId('run-name-input').fill('digits-cvae');
  await page.getByTestId('run-model-mlp').check();
  await page.getByTestId('run-family').selectOption('cvae');
  // With an inverse autoregressive flow on its posterior: a flow works with every Gaussian family.
  await page.getByTestId('run-flow').selectOption('iaf');
  await page.getByTestId('run-flow-steps').fill('2');
  await page.getByTestId('run-latent').fill('2');
  await page.getByTestId('run-hidden').fill('128');
  await page.getByTestId('run-epochs').fill('30');
  await page.getByTestId('run-batch-size').fill('32');
  await page.getByTestId('run-start').click();
  const panel = page.getByTestId('run-panel');
  await expect(panel.getByTestId('run-name')).toHaveText('digits-cvae');
  await expect(panel).toContainText('conditional · IAF ×2');
  const runId = (await panel.getAttribute('data-run-id')) ?? '';
  await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 180_000 });

  await page.goto(`${studio.url.split('#')[0]}#/runs/${runId}/explore/classes`);
  await expect(page.getByTestId('explore')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('explore-tab-classes')).toHaveAttribute('aria-selected', 'true');
  const grid = page.getByTestId('classes-grid');
  const zero = await settledSrc(grid);
  await page.getByTestId('classes-label').selectOption({ index: 7 });
  await expect.poll(() => settledSrc(grid), { timeout: 60_000 }).not.toBe(zero);
  const swap = page.getByTestId('classes-swap');
  const first = await settledSrc(swap);
  await page.getByTestId('classes-base-image').nth(3).click();
  await expect.poll(() => settledSrc(swap), { timeout: 60_000 }).not.toBe(first);
  await expect(page.getByTestId('classes-swap-labels')).toContainText('0 · 1 · 2');
  await screenshot(page, '40-explore-classes');

  // Inpaint imputes with the chosen image's class, preselected, or with another one asked for.
  await page.goto(`${studio.url.split('#')[0]}#/runs/${runId}/inpaint`);
  await expect(page.getByTestId('inpaint')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 });
  const own = (await page.getByTestId('inpaint-pick').first().getAttribute('data-label')) ?? '';
  await expect(page.getByTestId('inpaint-label')).toHaveValue(own);
  await expect(page.getByTestId('inpaint-label').locator('option')).toHaveCount(10);
  await page.getByTestId('inpaint-top').click();
  await page.getByTestId('inpaint-iterations').fill('30');
  const results = page.getByTestId('inpaint-results');
  await page.getByTestId('inpaint-run').click();
  await expect(results).toHaveAttribute('data-done', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('inpaint-given')).toHaveText(`Imputed as class ${own}`);
  const ownFill = await page.getByTestId('inpaint-mean').getAttribute('src');
  const other = String((Number(own) + 5) % 10);
  await page.getByTestId('inpaint-label').selectOption(other);
  await page.getByTestId('inpaint-run').click();
  await expect(page.getByTestId('inpaint-given')).toHaveText(`Imputed as class ${other}`, { timeout: 60_000 });
  await expect(results).toHaveAttribute('data-done', 'true', { timeout: 60_000 });
  expect(await page.getByTestId('inpaint-mean').getAttribute('src')).not.toBe(ownFill);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await screenshot(page, '43-inpaint-cvae');
});

test('a semi-supervised M2 run with 10 % of the labels: its accuracy on the run page, its predictions on the latent map', async ({ page, studio }) => {
  test.setTimeout(240_000);
  await openWithSampleDigits(page, studio);

  await page.getByTestId('nav-train').click();
  await page.getByTestId('run-name-input').fill('digits-m2');
  await page.getByTestId('run-family').selectOption('m2');
  // A conv model offers a conv classifier; the MLP model has the MLP one only.
  await page.getByTestId('run-model-conv').check();
  await expect(page.getByTestId('run-classifier')).toHaveValue('mlp');
  await expect(page.getByTestId('run-classifier').locator('option')).toHaveText(['MLP', 'Convolutional']);
  await screenshot(page, '41-form-m2-conv');
  await page.getByTestId('run-model-mlp').check();
  await expect(page.getByTestId('run-classifier')).toHaveCount(0);
  await page.getByTestId('run-label-percent').fill('10');
  await page.getByTestId('run-latent').fill('2');
  await page.getByTestId('run-hidden').fill('64');
  await page.getByTestId('run-epochs').fill('4');
  await page.getByTestId('run-batch-size').fill('32');
  await page.getByTestId('run-start').click();
  const panel = page.getByTestId('run-panel');
  await expect(panel).toContainText('M2, 10 % labels');
  const runId = (await panel.getAttribute('data-run-id')) ?? '';
  await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 180_000 });
  // Chance is 10 %: the figure is the test split's, next to the share of labels kept.
  await expect(panel.getByTestId('run-accuracy')).toHaveText(/^\d+\.\d %$/);
  expect(parseFloat((await panel.getByTestId('run-accuracy').textContent()) ?? '0')).toBeGreaterThan(20);
  await screenshot(page, '41-run-m2');

  // Its page lists the classifier: an MLP one for an MLP run, with α at its default.
  await page.goto(`${studio.url.split('#')[0]}#/runs/${runId}`);
  const config = page.getByTestId('run-config');
  await expect(config).toContainText('10 % of the training images');
  await expect(config).toContainText('MLP, weight α = 0.1 × unlabelled / labelled images');
  await config.scrollIntoViewIfNeeded();
  await screenshot(page, '41-run-m2-config');

  await page.goto(`${studio.url.split('#')[0]}#/runs/${runId}/explore/map`);
  await expect(page.getByTestId('map-predicted')).toContainText('its classifier predicts the label of', { timeout: 60_000 });

  // Inpaint can leave the class to the model, which says which one it settled on.
  await page.goto(`${studio.url.split('#')[0]}#/runs/${runId}/inpaint`);
  await expect(page.getByTestId('inpaint')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 });
  const own = (await page.getByTestId('inpaint-pick').first().getAttribute('data-label')) ?? '';
  await expect(page.getByTestId('inpaint-label')).toHaveValue(own);
  await page.getByTestId('inpaint-label').selectOption('-1');
  await page.getByTestId('inpaint-iterations').fill('20');
  await page.getByTestId('inpaint-run').click();
  await expect(page.getByTestId('inpaint-results')).toHaveAttribute('data-done', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('inpaint-predicted')).toContainText(/Predicted class \d/);
  await expect(page.getByTestId('inpaint-predicted')).toHaveAttribute('data-label', /^\d$/);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await screenshot(page, '44-inpaint-m2');
});

test('a VQ-VAE run: codebook settings in the form, then reconstructions, prior samples and codebook usage on the run page, and Explore with its code grids', async ({ page, studio }) => {
  test.setTimeout(240_000);
  await openWithSampleDigits(page, studio);

  await page.getByTestId('nav-train').click();
  await page.getByTestId('run-name-input').fill('digits-vq');
  await page.getByTestId('run-model-conv').check();
  await page.getByTestId('run-family').selectOption('vqvae');
  // Nothing of a Gaussian KL is on offer for discrete codes.
  await expect(page.getByTestId('run-beta')).toHaveCount(0);
  await expect(page.getByTestId('run-flow')).toHaveCount(0);
  await page.getByTestId('run-codebook-size').fill('32');
  await page.getByTestId('run-code-dim').fill('8');
  await page.getByTestId('run-prior-epochs').fill('2');
  await page.getByTestId('run-hidden').fill('64');
  await page.getByTestId('run-epochs').fill('5');
  await page.getByTestId('run-batch-size').fill('32');
  await page.getByTestId('run-start').click();
  const panel = page.getByTestId('run-panel');
  await expect(panel).toContainText('VQ-VAE, 32 codes');
  await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 200_000 });
  await expect(panel.getByTestId('run-perplexity')).toHaveText(/^\d+(\.\d+)?\/32$/);
  for (const kind of ['reconstructions', 'samples', 'codebook']) {
    await expect(page.getByTestId(`artifact-${kind}`)).toHaveAttribute('data-epoch', '5');
  }
  await expect(page.getByTestId('artifact-traversal')).toHaveCount(0);
  await expect(page.getByTestId('artifact-samples')).toContainText('learned autoregressive prior');
  // Its bars are code positions (each costs −log π(k)), not latent dims that may collapse.
  await expect(panel.getByTestId('kl-dims')).toContainText('code positions');
  await expect(panel.getByTestId('legend-kl')).toContainText('code cost');
  // The loss changes meaning when the prior's epochs begin, and the chart says so.
  await expect(panel.getByTestId('loss-prior-note')).toContainText('From epoch 4 the autoencoder is frozen');
  await expect(panel.getByTestId('kl-active')).toHaveCount(0);
  await screenshot(page, '42-run-vqvae');
  const vqRunId = (await panel.getAttribute('data-run-id')) ?? '';

  // Explore opens on its Samples: code grids drawn from the learned prior, sharper as the temperature drops.
  await panel.getByTestId('run-explore').click();
  await expect(page.getByTestId('explore')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('explore-tab-samples')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('explore-tab-codes')).toBeVisible();
  await expect(page.getByTestId('explore-tab-traverse')).toHaveCount(0);
  await expect(page.getByTestId('explore-codebook')).toHaveText('32 codes · 7×7 grid');
  await expect(page.getByTestId('explore-prior')).toHaveText('autoregressive, trained');
  const samples = page.getByTestId('samples-grid');
  const warm = await settledSrc(samples);
  await page.getByTestId('samples-temperature').fill('0.3');
  await expect.poll(() => settledSrc(samples), { timeout: 60_000 }).not.toBe(warm);
  await expect(page.getByTestId('samples-uniform')).toHaveCount(0);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await screenshot(page, '44-explore-vq-samples');

  // Codes: an image's 7×7 code grid; continuations keep the codes before the clicked position.
  await page.getByTestId('explore-tab-codes').click();
  const grid = page.getByTestId('codes-grid');
  await expect(page.getByTestId('codes-cell')).toHaveCount(49, { timeout: 60_000 });
  await expect(grid).toHaveAttribute('data-from', '24');
  const codes = ((await grid.getAttribute('data-codes')) ?? '').split(',').map(Number);
  expect(codes.every((k) => Number.isInteger(k) && k >= 0 && k < 32)).toBe(true);
  await expect(page.getByTestId('codes-reconstruction')).toBeVisible();
  const variations = page.getByTestId('codes-variations');
  const middle = await settledSrc(variations);
  await page.getByTestId('codes-cell').nth(10).click();
  await expect(grid).toHaveAttribute('data-from', '10');
  await expect.poll(() => settledSrc(variations), { timeout: 60_000 }).not.toBe(middle);
  await page.getByTestId('codes-image-image').nth(2).click();
  await expect.poll(async () => (await grid.getAttribute('data-codes')) ?? '', { timeout: 60_000 }).not.toBe(codes.join(','));
  await settledSrc(variations);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await screenshot(page, '45-explore-vq-codes');

  // A link to a continuous-latent tab opens it, and it says why there is nothing to show.
  await page.goto(`${studio.url.split('#')[0]}#/runs/${vqRunId}/explore/map`);
  await expect(page.getByTestId('explore-unsupported')).toContainText('grid of discrete codes', { timeout: 60_000 });
  // Its bare Explore address (what `e` on the run page opens) lands on Samples.
  await page.goto(`${studio.url.split('#')[0]}#/runs/${vqRunId}/explore`);
  await expect(page).toHaveURL(new RegExp(`#/runs/${vqRunId}/explore/samples$`), { timeout: 60_000 });
  // Inpainting still refuses a VQ-VAE, saying why on its button.
  await page.goto(`${studio.url.split('#')[0]}#/runs/${vqRunId}`);
  await expect(page.getByTestId('run-inpaint')).toBeDisabled();

  // Exported with its code prior, and imported back with a card that says what it is.
  const out = await tempFolder();
  try {
    await expect(page.getByTestId('export-contents')).toHaveText('encoder, decoder, code prior, model card, README, samples and metrics');
    const archive = join(out.path, 'digits-vq.vaestudio');
    await page.getByTestId('export-path').fill(archive);
    await page.getByTestId('export-submit').click();
    await expect(page.getByTestId('export-done')).toContainText(archive, { timeout: 30_000 });
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('runs-import-model').click();
    await page.getByTestId('import-model-path').fill(archive);
    await page.getByTestId('import-model-submit').click();
    await expect(page.getByTestId('model-card')).toContainText('CONV VQ-VAE (32 codes of dimension 8 on a 7×7 grid', { timeout: 30_000 });
    await expect(page.getByTestId('model-card')).toContainText('encoder, decoder, prior');
    // The training time it came with, not the instant of the import.
    await expect(page.getByTestId('run-eta')).not.toHaveText('0s');
    // Its configuration lists the codebook and prior, not a Gaussian latent or IWAE samples.
    const config = page.getByTestId('run-config');
    await expect(config).toContainText('VQ-VAE (discrete codes)');
    await expect(config).toContainText('32 codes × 8 dims');
    await expect(config).not.toContainText('IWAE k');
    await expect(config).not.toContainText('Latent size');
    await page.getByTestId('model-card').scrollIntoViewIfNeeded();
    await screenshot(page, '43-imported-vqvae-card');
  } finally {
    await out.remove();
  }
});
