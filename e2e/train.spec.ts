import { expect, openStudio, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { chartPoints, createFirstProject, importFolder } from './steps';

test('new-run form: defaults per dataset, advanced options checked next to their fields; the run shows KL per dim, smoothing and x axes', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(data.path, 8);
    await openStudio(page, studio);
    await createFirstProject(page);

    // The same shapes twice: binarized greyscale, and as RGB.
    await page.getByTestId('import-folder').fill(folder);
    await page.getByTestId('import-name').fill('shapes-bw');
    await page.getByTestId('import-size').fill('16');
    await page.getByTestId('import-advanced').locator('summary').click();
    await page.getByTestId('import-binarize').check();
    await page.getByTestId('import-submit').click();
    await expect(page.getByTestId('dataset-name')).toHaveText('shapes-bw', { timeout: 60_000 });
    await page.getByTestId('dataset-new').click();
    await page.getByTestId('import-folder').fill(folder);
    await page.getByTestId('import-name').fill('shapes-rgb');
    await page.getByTestId('import-size').fill('16');
    await page.getByTestId('import-channels').selectOption('3');
    await page.getByTestId('import-submit').click();
    await expect(page.getByTestId('dataset-name')).toHaveText('shapes-rgb', { timeout: 60_000 });

    // Choosing a dataset picks the decoder that suits its pixels, and says why.
    await page.getByTestId('nav-train').click();
    const dataset = page.getByTestId('run-dataset');
    await dataset.selectOption({ label: 'shapes-rgb · 24 · 16×16×3' });
    // The advanced settings' title names it; they open to say why.
    await expect(page.getByTestId('run-advanced-summary')).toContainText('Logistic mixture decoder');
    await page.getByTestId('run-advanced').locator('summary').click();
    await expect(page.getByTestId('run-decoder')).toHaveValue('logistic');
    await expect(page.getByTestId('run-decoder-hint')).toContainText('8-bit RGB');
    await expect(page.getByTestId('run-mixture-components')).toBeVisible();
    await expect(page.getByTestId('run-sigma')).toHaveCount(0);
    // Bernoulli stays selectable on 8-bit pixels, flagged: its NLL is no likelihood of them.
    await page.getByTestId('run-decoder').selectOption('bernoulli');
    await expect(page.getByTestId('run-decoder-caveat')).toContainText('not a likelihood');
    await page.getByTestId('run-decoder').selectOption('gaussian');
    await expect(page.getByTestId('run-sigma')).toBeVisible();
    await dataset.selectOption({ label: 'shapes-bw · 24 · 16×16×1' });
    await expect(page.getByTestId('run-decoder')).toHaveValue('bernoulli');
    await expect(page.getByTestId('run-decoder-hint')).toContainText('0 or 1');
    await expect(page.getByTestId('run-decoder-caveat')).toHaveCount(0);

    // Capacity annealing: its own fields replace β, warm-up and free bits.
    await page.getByTestId('run-objective').selectOption('capacity');
    await expect(page.getByTestId('run-beta')).toHaveCount(0);
    await page.getByTestId('run-capacity-max').fill('5');
    await expect(page.getByTestId('run-kl-warmup-steps')).toHaveCount(0);
    await page.getByTestId('run-capacity-steps').fill('0');
    await page.getByTestId('run-capacity-gamma').fill('50');
    await page.getByTestId('run-lr-decay').selectOption('step');
    await page.getByTestId('run-lr-decay-rate').fill('1.5');
    await page.getByTestId('run-lr-decay-steps').fill('10');
    await page.getByTestId('run-denoise').selectOption('mask');
    await page.getByTestId('run-denoise-mask-prob').fill('0.3');
    await page.getByTestId('run-iwae-samples').fill('5');
    await page.getByTestId('run-name-input').fill('capacity-run');
    await page.getByTestId('run-model-mlp').check();
    await page.getByTestId('run-latent').fill('3');
    await page.getByTestId('run-hidden').fill('24');
    await page.getByTestId('run-epochs').fill('3');
    await page.getByTestId('run-batch-size').fill('8');
    await page.getByTestId('run-start').click();

    // Each bad value is explained inside its own field; nothing started.
    await expect(page.locator('[data-field="capacitySteps"]').getByTestId('error-capacitySteps')).toHaveText('Must be at least 1.');
    await expect(page.locator('[data-field="lrDecayRate"]').getByTestId('error-lrDecayRate')).toHaveText('Must be at most 1.');
    await expect(page.getByTestId('run-panel')).toHaveCount(0);
    await screenshot(page, '14-train-form-advanced');
    await page.getByTestId('run-capacity-steps').fill('40');
    await page.getByTestId('run-lr-decay-rate').fill('0.5');
    await expect(page.getByTestId('error-capacitySteps')).toHaveCount(0);
    await page.getByTestId('run-start').click();

    const panel = page.getByTestId('run-panel');
    await expect(panel.getByTestId('run-name')).toHaveText('capacity-run');
    await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 90_000 });

    // KL per latent dim: one bar per dim at the newest epoch, the active ones counted.
    const kl = page.getByTestId('kl-dims');
    await expect(kl).toHaveAttribute('data-dims', '3');
    await expect(kl).toHaveAttribute('data-epoch', '3');
    await expect(page.getByTestId('kl-active')).toHaveText(/^[0-3] of 3$/);
    await expect(page.getByTestId('run-test-nll')).toHaveText(/\d/);

    // Smoothing and the x axis redraw the same points in place.
    const points = await chartPoints(page);
    expect(points).toBeGreaterThan(3);
    await page.getByTestId('chart-smoothing').fill('0.9');
    await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-smoothing', '0.9');
    await page.getByTestId('chart-x-time').check();
    await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-x-axis', 'time');
    await page.getByTestId('chart-x-epoch').check();
    await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-x-axis', 'epoch');
    expect(await chartPoints(page)).toBe(points);

    // A drag across the chart zooms into that range: fewer points drawn, all of them
    // stored ones; "Show all" (or a double-click) goes back to the whole run.
    await page.getByTestId('chart-x-step').check();
    await page.getByTestId('chart-smoothing').fill('0');
    const canvas = page.getByTestId('loss-chart');
    await expect(canvas).toHaveAttribute('data-smoothing', '0');
    // The chart redraws on the next frame: let two pass before reading what it draws.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    const drawnAll = Number(await canvas.getAttribute('data-drawn'));
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect(canvas).toHaveAttribute('data-zoomed', 'true');
    await expect(page.getByTestId('chart-zoom-reset')).toContainText('Show all');
    await expect.poll(async () => Number(await canvas.getAttribute('data-drawn'))).toBeLessThan(drawnAll);
    await screenshot(page, '15-train-chart-zoomed');
    await page.getByTestId('chart-zoom-reset').click();
    await expect(canvas).toHaveAttribute('data-zoomed', 'false');
    await expect.poll(async () => Number(await canvas.getAttribute('data-drawn'))).toBe(drawnAll);
    await canvas.dblclick();
    await expect(canvas).toHaveAttribute('data-zoomed', 'false');

    // The KL bars follow the image slider back to epoch 1.
    await page.getByTestId('artifact-slider').fill('0');
    await expect(page.getByTestId('artifact-reconstructions')).toHaveAttribute('data-epoch', '1');
    await expect(kl).toHaveAttribute('data-epoch', '1');
    await screenshot(page, '15-train-kl');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '15-train-kl-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // The settings as the run stored them.
    await page.getByRole('link', { name: 'Open in Runs' }).click();
    const config = page.getByTestId('run-config');
    await expect(config).toContainText('Capacity: C → 5 nats over 40 steps, γ = 50');
    await expect(config).toContainText('30% of pixels masked');
    await expect(config).toContainText('×0.5 every 10 steps');
    await expect(config).toContainText('IWAE k 5');

    // Clone: the new-run form comes back with every setting, the advanced ones open.
    await page.getByTestId('run-clone').click();
    await expect(page).toHaveURL(/#\/train\/\d+$/);
    await expect(page.getByTestId('cloned-from')).toBeVisible();
    await expect(page.getByTestId('run-objective')).toHaveValue('capacity');
    await expect(page.getByTestId('run-capacity-max')).toHaveValue('5');
    await expect(page.getByTestId('run-advanced')).toHaveAttribute('open', '');
    await expect(page.getByTestId('run-capacity-steps')).toHaveValue('40');
    await expect(page.getByTestId('run-denoise')).toHaveValue('mask');
    await expect(page.getByTestId('run-lr-decay-rate')).toHaveValue('0.5');
    await expect(page.getByTestId('run-decoder')).toHaveValue('bernoulli');
  } finally {
    await data.remove();
  }
});

test('new-run form: a field reached with Tab is never left under the sticky Start bar (1280×800, advanced settings open)', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(data.path, 8);
    await page.setViewportSize({ width: 1280, height: 800 });
    await openStudio(page, studio);
    await createFirstProject(page);
    await importFolder(page, folder, 'shapes');
    await page.getByTestId('nav-train').click();
    await page.getByTestId('run-advanced').locator('summary').click();
    await page.getByTestId('run-dataset').focus();
    const reached: string[] = [];
    const hidden: string[] = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const where = await page.evaluate(() => {
        const field = document.activeElement as HTMLElement;
        const form = document.querySelector('[data-testid="run-form"]')!;
        if (!form.contains(field) || field.closest('footer')) return null;
        const bar = form.querySelector('footer')!.getBoundingClientRect();
        return { name: field.getAttribute('name') ?? field.dataset['testid'] ?? field.tagName, bottom: field.getBoundingClientRect().bottom, barTop: bar.top };
      });
      if (!where) continue;
      reached.push(where.name);
      if (where.bottom > where.barTop + 0.5) hidden.push(`${where.name} ends at ${Math.round(where.bottom)} px, the bar starts at ${Math.round(where.barTop)} px`);
    }
    // The rows just above the bar at the top of the page (Epochs, Batch size) and the advanced ones were all reached.
    expect(reached).toEqual(expect.arrayContaining(['epochs', 'batchSize', 'mixtureComponents', 'seed']));
    expect(hidden).toEqual([]);
  } finally {
    await data.remove();
  }
});
