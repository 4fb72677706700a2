import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, openStudio, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { createFirstProject, importFolder } from './steps';

// The screens are checked at 1280×800, light and dark.
test.use({ viewport: { width: 1280, height: 800 } });

test('the run page says what its test NLL covers, and a full evaluation shows its progress and can be cancelled', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    // 48 training images and a test/ folder of 30, enlarged to 64×64 so that every
    // test image with k = 5 000 is far more than the bound at the end of training buys.
    const folder = join(data.path, 'shapes-split');
    await mkdir(folder);
    await rename((await writeShapesFolder(join(data.path, 'a'), 16)).folder, join(folder, 'train'));
    await rename((await writeShapesFolder(join(data.path, 'b'), 10, 99)).folder, join(folder, 'test'));
    await openStudio(page, studio);
    await createFirstProject(page);
    await importFolder(page, folder, 'big shapes', 64);

    await page.getByTestId('nav-train').click();
    await page.getByTestId('run-name-input').fill('budgeted');
    await page.getByTestId('run-model-mlp').check();
    await page.getByTestId('run-latent').fill('4');
    await page.getByTestId('run-hidden').fill('256');
    await page.getByTestId('run-epochs').fill('1');
    await page.getByTestId('run-batch-size').fill('16');
    await page.getByTestId('run-advanced').locator('summary').click();
    await page.getByTestId('run-iwae-samples').fill('5000');
    await page.getByTestId('run-start').click();
    const panel = page.getByTestId('run-panel');
    await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'finished', { timeout: 90_000 });

    // The figure says how many test images it read and with which k.
    const note = panel.getByTestId('run-test-nll-note');
    await expect(note).toContainText(/Test NLL [\d.,]+ nats on \d+ of 30 test images, k = \d+\./);
    const budgeted = await note.textContent();
    expect(budgeted).toBeTruthy();

    // Full evaluation, on the run page: every test image with the run's k, in its own process.
    await expect(note).toContainText('Full evaluation on the run page');
    await page.getByRole('link', { name: 'Open in Runs' }).click();
    await expect(note).toHaveText(budgeted!.replace('Full evaluation on the run page', 'Full evaluation'));
    await page.getByTestId('run-evaluate').click();
    const cancel = page.getByTestId('run-evaluate-cancel');
    await expect(cancel).toBeVisible();
    await expect(page.getByTestId('run-evaluate')).toHaveCount(0);
    const phase = panel.getByTestId('run-phase');
    // It says what runs at once; the share comes when its process (at low priority) reports.
    await expect(phase).toContainText('evaluating the test bound');
    await expect(phase).toContainText(/evaluating the test bound · \d+ %/, { timeout: 90_000 });
    await expect(phase).toHaveAttribute('title', /IWAE bound on 30 test images with k = 5[ ,\u202f\u00a0]?000: \d+ done/);
    await expect(cancel).toContainText(/Cancel evaluation \(\d+ %\)/);
    await screenshot(page, '18-full-evaluation');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '18-full-evaluation-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Cancelled, it leaves the run as it was: finished, with the figure it had.
    await cancel.click();
    await expect(page.getByTestId('run-evaluate')).toBeVisible({ timeout: 15_000 });
    await expect(page.getByTestId('run-evaluate')).toHaveText('Full evaluation');
    await expect(panel.getByTestId('run-phase')).toHaveCount(0);
    await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'finished');
    await expect(note).toHaveText(budgeted!.replace('Full evaluation on the run page', 'Full evaluation'));
  } finally {
    await data.remove();
  }
});
