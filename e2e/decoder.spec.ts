import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, openStudio, screensDir, tempFolder, test, writeShapesFolder } from './fixtures';
import { createFirstProject, importFolder } from './steps';

/** The form at 1280×800 with the decoder's explanation in view, as a person sees it. */
async function captureDecoder(page: Page, name: string): Promise<void> {
  await mkdir(screensDir, { recursive: true });
  await page.getByTestId('run-decoder-explanation').evaluate((element) => element.scrollIntoView({ block: 'center' }));
  await page.screenshot({ path: join(screensDir, `${name}.png`), animations: 'disabled' });
}

test('the run form picks the decoder from the pixels, says why, and flags Bernoulli on 8-bit data', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    // Grey PNGs with noise: 8-bit levels, not 0/1.
    const { folder } = await writeShapesFolder(data.path, 6);
    await page.setViewportSize({ width: 1280, height: 800 });
    await openStudio(page, studio);
    await createFirstProject(page);
    await importFolder(page, folder, 'shapes');

    await page.getByTestId('nav-train').click();
    // The decoder sits in the advanced settings, whose title names it.
    await expect(page.getByTestId('run-advanced-summary')).toContainText('Logistic mixture decoder');
    await page.getByTestId('run-advanced').locator('summary').click();
    await expect(page.getByTestId('run-decoder')).toHaveValue('logistic');
    await expect(page.getByTestId('run-decoder-hint')).toContainText('8-bit greyscale pixels');
    await expect(page.getByTestId('run-decoder-meaning')).toContainText('Bits/dim on the 0–255 scale');
    await expect(page.getByTestId('run-mixture-components')).toHaveValue('1');
    await expect(page.getByTestId('run-decoder-caveat')).toHaveCount(0);
    await captureDecoder(page, '19-decoder-logistic');
    await page.emulateMedia({ colorScheme: 'dark' });
    await captureDecoder(page, '19-decoder-logistic-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Bernoulli stays selectable, with the note that its NLL is no likelihood of these pixels.
    await page.getByTestId('run-decoder').selectOption('bernoulli');
    await expect(page.getByTestId('run-decoder-hint')).toContainText('Suggested: Logistic mixture.');
    await expect(page.getByTestId('run-decoder-caveat')).toContainText('not a likelihood of this data');
    await expect(page.getByTestId('run-mixture-components')).toHaveCount(0);
    await captureDecoder(page, '19-decoder-bernoulli-caveat');
    await page.emulateMedia({ colorScheme: 'dark' });
    await captureDecoder(page, '19-decoder-bernoulli-caveat-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  } finally {
    await data.remove();
  }
});
