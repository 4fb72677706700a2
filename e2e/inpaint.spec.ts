import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import sharp from 'sharp';
import { expect, openStudio, screenshot, tempFolder, test } from './fixtures';
import { createFirstProject, trainTinyRun } from './steps';

/** Drags the pointer over the mask canvas between two points given as fractions of its size. */
async function drag(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const box = await page.getByTestId('inpaint-canvas').boundingBox();
  if (!box) throw new Error('the mask canvas has no box');
  await page.mouse.move(box.x + from[0] * box.width, box.y + from[1] * box.height);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    const t = i / 8;
    await page.mouse.move(box.x + (from[0] + (to[0] - from[0]) * t) * box.width, box.y + (from[1] + (to[1] - from[1]) * t) * box.height);
  }
  await page.mouse.up();
}

const missingPercent = async (page: Page): Promise<number> => Number(/(\d+) %/.exec((await page.getByTestId('inpaint-missing').textContent()) ?? '')?.[1]);

/** The grey values of an <img> at its natural size, read in the page. */
async function pixelsOf(page: Page, testId: string): Promise<number[]> {
  return page.getByTestId(testId).evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    return Array.from({ length: canvas.width * canvas.height }, (_, i) => data[i * 4]!);
  });
}

/** The mask the view sends (one byte per pixel, 1 = missing), from the canvas's data attribute. */
async function maskOf(page: Page): Promise<number[]> {
  const text = (await page.getByTestId('inpaint-canvas').getAttribute('data-mask')) ?? '';
  const bytes = Buffer.from(text, 'base64');
  return Array.from({ length: 28 * 28 }, (_, i) => (bytes[i >> 3]! >> (i & 7)) & 1);
}

test('inpaint: paint a mask on a digit, impute it live, cancel, save, open a file', async ({ page, studio }) => {
  test.setTimeout(300_000);
  await openStudio(page, studio);
  await createFirstProject(page);
  await page.getByTestId('import-sample').click();
  await expect(page.getByTestId('dataset-name')).toHaveText('Sample digits', { timeout: 60_000 });
  const runId = await trainTinyRun(page, { name: 'digits-inpaint', latent: 8, hidden: 128, epochs: 4 });

  await page.getByTestId('run-panel').getByTestId('run-inpaint').click();
  await expect(page).toHaveURL(new RegExp(`#/runs/${runId}/inpaint$`));
  await expect(page.getByTestId('inpaint')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 });
  // A test digit is chosen and the bottom half is masked to start with.
  await expect(page.getByTestId('inpaint-pick').first()).toHaveClass(/chosen/);
  expect(await missingPercent(page)).toBe(50);

  // Paint: clear, a brush stroke across the middle, a rectangle, then undo/redo.
  await page.getByTestId('inpaint-clear').click();
  expect(await missingPercent(page)).toBe(0);
  await expect(page.getByTestId('inpaint-run')).toBeDisabled();
  await page.getByTestId('inpaint-size').fill('2');
  await drag(page, [0.1, 0.5], [0.9, 0.5]);
  const afterStroke = await missingPercent(page);
  expect(afterStroke).toBeGreaterThan(5);
  await page.getByTestId('inpaint-tool-rect').check();
  await drag(page, [0.25, 0.1], [0.75, 0.4]);
  const afterRect = await missingPercent(page);
  expect(afterRect).toBeGreaterThan(afterStroke);
  await page.getByTestId('inpaint-undo').click();
  expect(await missingPercent(page)).toBe(afterStroke);
  await page.getByTestId('inpaint-redo').click();
  expect(await missingPercent(page)).toBe(afterRect);
  await page.getByTestId('inpaint-invert').click();
  expect(await missingPercent(page)).toBe(100 - afterRect);
  await page.getByTestId('inpaint-invert').click();

  // Impute with Metropolis-within-Gibbs; frames stream in, then the result.
  await page.getByTestId('inpaint-method').selectOption('metropolis');
  await page.getByTestId('inpaint-iterations').fill('80');
  await page.getByTestId('inpaint-samples').fill('6');
  await page.getByTestId('inpaint-run').click();
  const results = page.getByTestId('inpaint-results');
  await expect(results).toHaveAttribute('data-done', 'true', { timeout: 60_000 });
  await expect(results).toHaveAttribute('data-iteration', '80');
  await expect(page.getByTestId('inpaint-status')).toContainText('acceptance');
  await expect(page.getByTestId('inpaint-samples-row').locator('img')).toHaveCount(6);

  const mask = await maskOf(page);
  const original = await pixelsOf(page, 'inpaint-original');
  const imputed = await pixelsOf(page, 'inpaint-mean');
  expect(imputed).toHaveLength(784);
  const missing = mask.flatMap((m, i) => (m ? [i] : []));
  const observed = mask.flatMap((m, i) => (m ? [] : [i]));
  // Observed pixels come back as they were; the missing ones are filled with a picture
  // (not one flat value): the imputation differs from the masked input there.
  for (const i of observed) expect(imputed[i]).toBe(original[i]);
  const filled = missing.map((i) => imputed[i]!);
  expect(Math.max(...filled) - Math.min(...filled)).toBeGreaterThan(60);
  expect(filled.filter((v) => v > 127).length).toBeGreaterThan(3);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await screenshot(page, '50-inpaint');

  // Save PNG downloads the imputation at the model's size.
  const download = page.waitForEvent('download');
  await page.getByTestId('inpaint-save').click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/digits-inpaint-image-\d+-metropolis\.png$/);
  const saved = await sharp(await file.path()).metadata();
  expect([saved.width, saved.height]).toEqual([28, 28]);

  // A long imputation can be cancelled while it refines.
  await page.getByTestId('inpaint-method').selectOption('importance');
  await page.getByTestId('inpaint-iterations').fill('2000');
  await page.getByTestId('inpaint-run').click();
  await expect.poll(async () => Number(await results.getAttribute('data-iteration')), { timeout: 30_000 }).toBeGreaterThan(0);
  await page.getByTestId('inpaint-cancel').click();
  await expect(page.getByTestId('inpaint-cancelled')).toBeVisible({ timeout: 10_000 });
  await expect(page.getByTestId('inpaint-run')).toBeEnabled();

  // Any image file, resized like the dataset (28×28 grey): a big white ring on black.
  const folder = await tempFolder();
  try {
    const size = 200;
    const ring = Buffer.alloc(size * size);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) ring[y * size + x] = Math.abs(Math.hypot(x - 100, y - 100) - 60) < 14 ? 255 : 0;
    const path = join(folder.path, 'ring.png');
    await writeFile(path, await sharp(ring, { raw: { width: size, height: size, channels: 1 } }).png().toBuffer());
    await page.getByTestId('inpaint-file').setInputFiles(path);
    await expect(page.getByTestId('inpaint-pick').first()).not.toHaveClass(/chosen/);
    await expect
      .poll(() => page.getByTestId('inpaint-original').evaluate((img: HTMLImageElement) => `${img.naturalWidth}x${img.naturalHeight}`))
      .toBe('28x28');
    await page.getByTestId('inpaint-top').click();
    await page.getByTestId('inpaint-iterations').fill('20');
    await page.getByTestId('inpaint-run').click();
    await expect(results).toHaveAttribute('data-done', 'true', { timeout: 60_000 });
    await expect(page.getByTestId('inpaint-status')).toContainText('ESS');
  } finally {
    await folder.remove();
  }

  await page.emulateMedia({ colorScheme: 'dark' });
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await screenshot(page, '51-inpaint-dark');
});
