import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { expect, openStudio, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { createFirstProject, importFolder, trainTinyRun } from './steps';

test('dataset health: near-duplicates, blank images, class balance; sort, filter and page through them', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder, images } = await writeShapesFolder(data.path, 12);
    // A blank frame among the bars, and a re-saved copy of a ring with one pixel changed.
    await sharp(Buffer.alloc(16 * 16, 40), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(folder, 'bars', 'blank.png'));
    const ring = await sharp(await readFile(join(folder, 'rings', 'rings-003.png'))).extractChannel(0).raw().toBuffer();
    ring[0] = ring[0]! ^ 3;
    await writeFile(join(folder, 'rings', 'rings-003-again.png'), await sharp(ring, { raw: { width: 16, height: 16, channels: 1 } }).png().toBuffer());

    await page.setViewportSize({ width: 1280, height: 800 });
    await openStudio(page, studio);
    await createFirstProject(page);
    await importFolder(page, folder, 'shapes');
    await page.getByTestId('dataset-health').click();

    await expect(page.getByTestId('health-summary')).toBeVisible();
    await expect(page.getByTestId('health-blanks')).toHaveText('1');
    await expect(page.getByTestId('health-class')).toHaveCount(3);

    await page.getByTestId('health-kind-blank').check();
    await expect(page.getByTestId('health-item')).toHaveCount(1);
    await expect(page.getByTestId('health-path')).toHaveText('bars/blank.png');

    await page.getByTestId('health-kind-pairs').check();
    const items = page.getByTestId('health-items');
    await expect(items).toBeVisible();
    const total = Number(await items.getAttribute('data-total'));
    expect(total).toBeGreaterThan(0);
    // The planted copy is among the pairs (its rings are filtered in by label).
    await page.getByTestId('health-label').selectOption('rings');
    await expect(page.getByTestId('health-path').filter({ hasText: 'rings/rings-003-again.png' })).toHaveCount(1);
    await page.getByTestId('health-label').selectOption('');
    // Dataset order sorts pairs by their first image; a split filter keeps only pairs touching it.
    await page.getByTestId('health-sort').selectOption('index');
    await expect(page.getByTestId('health-item').first()).toBeVisible();
    // A split filter keeps the pairs with an image in that split: the planted pair's own split keeps it, another drops it.
    await page.getByTestId('health-sort').selectOption('rank');
    const splits = await page.getByTestId('health-item').first().locator('.tag[class*="split-"]').allTextContents();
    const other = ['train', 'validation', 'test'].find((name) => !splits.includes(name))!;
    await page.getByTestId('health-split').selectOption(other);
    await expect(page.getByTestId('health-none')).toBeVisible();
    await page.getByTestId('health-split').selectOption(splits[0]!);
    await expect(page.getByTestId('health-item')).toHaveCount(1);
    await page.getByTestId('health-split').selectOption('');
    await page.getByTestId('health-sort').selectOption('rank');
    await expect(page.getByTestId('health-items')).toHaveAttribute('data-total', String(total));
    if (total > 24) {
      await page.getByTestId('health-next').click();
      await expect(page.getByTestId('health-range')).toContainText(`25–`);
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('health-csv').click()]);
    expect(download.suggestedFilename()).toBe('shapes-health.csv');
    const csv = await readFile((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('path,split,label,finding,score,reason');
    expect(csv).toContain('bars/blank.png,');
    expect(csv).toContain('rings/rings-003-again.png,');
    await screenshot(page, '30-dataset-health');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '30-dataset-health-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Leave out the blank frame and the re-saved ring: a new version without them, the old one kept.
    await page.locator('[data-testid="health-pick"][data-path="rings/rings-003-again.png"]').check();
    await page.getByTestId('health-kind-blank').check();
    await page.locator('[data-testid="health-pick"][data-path="bars/blank.png"]').check();
    await expect(page.getByTestId('health-picked')).toHaveText('2 picked');
    await screenshot(page, '31-dataset-health-exclude');
    await page.getByTestId('health-exclude').click();
    await expect(page.getByTestId('dataset-name')).toHaveText('shapes (v2)', { timeout: 30_000 });
    await expect(page.getByTestId('dataset-count')).toHaveText(String(images));
    await expect(page.getByTestId('dataset-stats')).toContainText('2 images left out by hand from the previous version');
    await expect(page.getByTestId('dataset-row')).toHaveCount(2);
    await page.getByTestId('dataset-health').click();
    await expect(page.getByTestId('health-blanks')).toHaveText('0');
    await expect(page.getByTestId('health-pairs')).toHaveText('0');
    await page.getByTestId('health-back').click();
    await expect(page.getByTestId('dataset-name')).toHaveText('shapes (v2)');
  } finally {
    await data.remove();
  }
});

test('dataset health with a run: score every image, sort by score, see reconstructions and neighbours, exclude two', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder, images } = await writeShapesFolder(data.path, 12);
    // Planted: uniform noise among the bars.
    let s = 3;
    const noise = Buffer.from(Array.from({ length: 16 * 16 }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24)));
    await sharp(noise, { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(folder, 'bars', 'noise.png'));

    await page.setViewportSize({ width: 1280, height: 800 });
    await openStudio(page, studio);
    await createFirstProject(page);
    await importFolder(page, folder, 'shapes');
    await trainTinyRun(page, { name: 'tiny', epochs: 2 });
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('dataset-row').click();
    await page.getByTestId('dataset-health').click();

    const section = page.getByTestId('run-health');
    await expect(section.getByTestId('run-health-not-scored')).toBeVisible();
    await section.getByTestId('run-health-score').click();
    await expect(section.getByTestId('run-health-items')).toHaveAttribute('data-total', String(images + 1), { timeout: 60_000 });
    // The planted noise is the most atypical image, shown with its reconstruction and error map.
    const first = section.getByTestId('run-health-item').first();
    await expect(first).toHaveAttribute('data-path', 'bars/noise.png');
    await expect(first.getByAltText('reconstruction')).toBeVisible();
    await expect(first.getByAltText('error map')).toBeVisible();
    await expect(section.getByTestId('run-health-meaning')).toContainText('Atypicality');
    // Web mode has no file manager: no "Show in folder".
    await expect(section.getByTestId('run-health-reveal')).toHaveCount(0);

    // Sort by −ELBO, best first: the list turns round and says what the score means.
    await section.getByTestId('run-health-by-elbo').check();
    await expect(section.getByTestId('run-health-meaning')).toContainText('Plain −ELBO');
    await section.getByTestId('run-health-order').selectOption('best');
    await expect(section.getByTestId('run-health-item').first()).not.toHaveAttribute('data-path', 'bars/noise.png');
    await section.getByTestId('run-health-order').selectOption('worst');
    await section.getByTestId('run-health-by-label').check();
    await expect(section.getByTestId('run-health-reason').first()).toContainText('folder label');
    await section.getByTestId('run-health-by-atypical').check();
    await expect(section.getByTestId('run-health-item').first()).toHaveAttribute('data-path', 'bars/noise.png');
    await section.getByTestId('run-health-neighbours-btn').nth(1).click();
    await expect(section.getByTestId('run-health-neighbours').locator('figure')).toHaveCount(8);

    await section.scrollIntoViewIfNeeded();
    await screenshot(page, '32-dataset-health-run');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '32-dataset-health-run-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Leave out the two most atypical images: a new version without them, the old one kept.
    await section.getByTestId('run-health-pick').nth(0).check();
    await section.getByTestId('run-health-pick').nth(1).check();
    await expect(page.getByTestId('health-picked')).toHaveText('2 picked');
    await page.getByTestId('health-exclude').click();
    await expect(page.getByTestId('dataset-name')).toHaveText('shapes (v2)', { timeout: 30_000 });
    await expect(page.getByTestId('dataset-count')).toHaveText(String(images - 1));
    await expect(page.getByTestId('dataset-row')).toHaveCount(2);
  } finally {
    await data.remove();
  }
});
