import { expect, openStudio, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { createFirstProject, importFolder } from './steps';

test('sweep from the new-run form: a bad row is named, trials queue two at a time and finish; the sweep page shows them', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(data.path, 8);
    await openStudio(page, studio);
    await createFirstProject(page);
    await importFolder(page, folder, 'shapes', 8);

    await page.getByTestId('nav-train').click();
    await page.getByTestId('run-model-mlp').check();
    await page.getByTestId('run-hidden').fill('16');
    await page.getByTestId('run-epochs').fill('1');
    await page.getByTestId('run-batch-size').fill('16');
    await page.getByTestId('sweep-toggle').click();

    // Latent becomes a list of values; a value the schema refuses is named on its row.
    await page.getByTestId('sweep-add-setting').selectOption('latent');
    await page.getByTestId('sweep-add').click();
    await page.getByTestId('sweep-values-latent').fill('2,3,9999');
    await expect(page.getByTestId('sweep-row-error')).toContainText('latent = 9999 is refused');
    await page.getByTestId('sweep-values-latent').fill('2,3');
    await page.getByTestId('sweep-add-setting').selectOption('beta');
    await page.getByTestId('sweep-add').click();
    await page.getByTestId('sweep-values-beta').fill('0.5,1');
    await page.getByTestId('sweep-concurrency').fill('2');
    await expect(page.getByTestId('sweep-summary')).toContainText('4 trials × 1 seed = 4 runs, 2 at once');
    await page.setViewportSize({ width: 1280, height: 800 });
    await screenshot(page, '20-sweep-form-1280');
    await page.getByTestId('sweep-start').click();

    // The sweep page: trials queue (never more than two training) and all finish.
    await expect(page.getByTestId('sweep-status')).toBeVisible();
    const trials = page.getByTestId('sweep-trial');
    let mostTraining = 0;
    await expect
      .poll(
        async () => {
          mostTraining = Math.max(mostTraining, await page.locator('[data-testid="sweep-trial"][data-status="running"]').count());
          return page.locator('[data-testid="sweep-trial"][data-status="finished"]').count();
        },
        { timeout: 120_000, intervals: [200] },
      )
      .toBe(4);
    expect(mostTraining).toBeLessThanOrEqual(2);
    await expect(trials).toHaveCount(4);
    await expect(page.getByTestId('sweep-status')).toHaveAttribute('data-status', 'finished');
    await expect(page.getByTestId('sweep-ended')).toHaveText('4 / 4');
    await expect(page.getByTestId('sweep-best')).toContainText('val loss');
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await screenshot(page, '21-sweep-1280');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '21-sweep-1280-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // The Runs view lists the sweep above its trials' runs and leads back to it.
    await page.getByTestId('nav-runs').click();
    await expect(page.getByTestId('sweeps-strip-item')).toContainText('4/4');
    await expect(page.getByTestId('run-row')).toHaveCount(4);
    await page.getByTestId('sweeps-strip-item').click();
    await expect(page.getByTestId('sweep-trial')).toHaveCount(4);

    // "Sweep from this run" opens the form with the run's settings and the sweep rows.
    await page.getByTestId('sweep-best').locator('a').click();
    await page.getByTestId('run-sweep-from').click();
    await expect(page.getByTestId('sweep-fields')).toBeVisible();
    await expect(page.getByTestId('run-epochs')).toHaveValue('1');
  } finally {
    await data.remove();
  }
});
