import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, openStudio, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';
import { importFolder, trainTinyRun } from './steps';

test('import with preprocessing options, export the skipped report, re-import reusing files, delete', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder, images } = await writeShapesFolder(data.path, 12);
    // An exact copy is reported as a duplicate and left out.
    await writeFile(join(folder, 'bars', 'copy.png'), await readFile(join(folder, 'bars', 'bars-000.png')));

    await openStudio(page, studio);
    await page.getByTestId('create-first-project').click();
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('dataset-new').click();
    await page.getByTestId('import-folder').fill(folder);
    await page.getByTestId('import-name').fill('shapes');
    await page.getByTestId('import-size').fill('16');
    await page.getByTestId('import-advanced').locator('summary').click();
    await page.getByTestId('import-fit').selectOption('pad');
    await page.getByTestId('import-background').fill('#202020');
    await page.getByTestId('import-binarize').check();
    await page.getByTestId('import-test').fill('20');
    await screenshot(page, '10-import-advanced');
    await page.getByTestId('import-submit').click();

    await expect(page.getByTestId('dataset-name')).toHaveText('shapes', { timeout: 60_000 });
    await expect(page.getByTestId('dataset-count')).toHaveText(String(images));
    const split = (await page.getByTestId('dataset-split').textContent())!.split('/').map((n) => Number(n.trim()));
    expect(split.reduce((a, b) => a + b, 0)).toBe(images);
    expect(split[2]).toBeGreaterThan(0);
    await expect(page.getByTestId('dataset-stats')).toContainText('1 duplicate left out');
    await expect(page.getByTestId('dataset-stats')).toContainText('Fit pad, binarized, background #202020');
    await expect(page.getByTestId('dataset-skipped')).toContainText('duplicate of bars/bars-000.png');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('dataset-skipped-csv').click()]);
    expect(download.suggestedFilename()).toBe('shapes-skipped.csv');
    const csv = await readFile((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('path,reason');
    expect(csv).toContain('rings/broken.png,');
    expect(csv).toContain('bars/copy.png,duplicate of bars/bars-000.png');
    await screenshot(page, '11-dataset-detail');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, '11-dataset-detail-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Change the folder, then re-import: a new version, unchanged files reused.
    await rm(join(folder, 'bars', 'bars-001.png'));
    await page.getByTestId('dataset-reimport').click();
    await expect(page.getByTestId('dataset-name')).toHaveText('shapes (v2)', { timeout: 60_000 });
    await expect(page.getByTestId('dataset-count')).toHaveText(String(images - 1));
    await expect(page.getByTestId('dataset-stats')).toContainText(`${images - 1} reused`);
    await expect(page.getByTestId('dataset-stats')).toContainText('+0 added, −1 removed');

    await page.getByTestId('dataset-delete').click();
    await expect(page.getByTestId('confirm')).toContainText('Delete "shapes (v2)"?');
    await screenshot(page, '16-dataset-delete-confirm');
    await page.getByTestId('confirm-ok').click();
    await expect(page.getByTestId('dataset-row')).toHaveCount(1);
    await expect(page.getByTestId('dataset-row')).toContainText('shapes');
  } finally {
    await data.remove();
  }
});

// The screens are checked at 1280×800, light and dark.
test.describe('layouts and warnings', () => {
  test.use({ viewport: { width: 1280, height: 800 } });

  test('a train/ and test/ folder imports with its classes and split; the form says which layout it read and takes another', async ({ page, studio }) => {
    const data = await tempFolder();
    try {
      const folder = join(data.path, 'shapes-split');
      await mkdir(folder);
      await rename((await writeShapesFolder(join(data.path, 'a'), 8)).folder, join(folder, 'train'));
      await rename((await writeShapesFolder(join(data.path, 'b'), 3, 99)).folder, join(folder, 'test'));

      await openStudio(page, studio);
      await page.getByTestId('create-first-project').click();
      await page.getByTestId('nav-datasets').click();
      await page.getByTestId('dataset-new').click();
      await page.getByTestId('import-folder').fill(folder);
      await page.getByTestId('import-name').fill('split shapes');
      await page.getByTestId('import-size').fill('16');
      const detected = page.getByTestId('import-layout-detected');
      await expect(detected).toHaveAttribute('data-kind', 'split');
      await expect(detected).toContainText('35 image files. Split folders (detected): train/ → train, test/ → test, validation drawn from train (10 %); labels from the folders inside them.');
      await expect(detected).toContainText('25 train, 10 test');
      await expect(page.getByTestId('import-class')).toHaveText(['bars 11', 'crosses 11', 'rings 13']);
      await screenshot(page, '17-import-split-detected');
      await page.emulateMedia({ colorScheme: 'dark' });
      await screenshot(page, '17-import-split-detected-dark');
      await page.emulateMedia({ colorScheme: 'light' });

      // Asked for the old reading, the same folder has two classes, "test" and "train".
      await page.getByTestId('import-layout').selectOption('classes');
      await expect(detected).toHaveAttribute('data-kind', 'classes');
      await expect(page.getByTestId('import-class')).toHaveText(['test 10', 'train 25']);
      await page.getByTestId('import-layout').selectOption('auto');
      await expect(detected).toHaveAttribute('data-kind', 'split');

      await page.getByTestId('import-submit').click();
      await expect(page.getByTestId('dataset-name')).toHaveText('split shapes', { timeout: 60_000 });
      await expect(page.getByTestId('dataset-count')).toHaveText('33');
      const split = (await page.getByTestId('dataset-split').textContent())!.split('/').map((n) => Number(n.trim()));
      expect(split[0]! + split[1]!).toBe(24);
      expect(split[2]).toBe(9);
      await expect(page.getByTestId('class-row')).toHaveCount(3);
      await expect(page.getByTestId('dataset-layout')).toHaveAttribute('data-kind', 'split');
      // Every class in the preview, by name.
      await expect(page.getByTestId('preview-class')).toHaveCount(3);
      await expect(page.getByTestId('preview-class').nth(2)).toHaveAttribute('data-label', 'rings');
    } finally {
      await data.remove();
    }
  });

  test('a one-image folder imports with its warnings, and a run on it says it has no test images', async ({ page, studio }) => {
    const data = await tempFolder();
    try {
      const folder = join(data.path, 'one');
      await mkdir(folder);
      const { folder: shapes } = await writeShapesFolder(join(data.path, 'src'), 1);
      await rename(join(shapes, 'rings', 'rings-000.png'), join(folder, 'ring.png'));

      await openStudio(page, studio);
      await page.getByTestId('create-first-project').click();
      await importFolder(page, folder, 'one ring', 28);
      const warnings = page.getByTestId('dataset-warning');
      await expect(warnings).toHaveCount(4);
      expect(await warnings.evaluateAll((items) => items.map((i) => i.getAttribute('data-code')))).toEqual(['tiny', 'no-validation', 'no-test', 'upscaled']);
      await expect(warnings.first()).toContainText('Only 1 training image, fewer than one batch of 64');
      await expect(page.getByTestId('dataset-split')).toHaveText('1 / 0 / 0');
      const preview = page.getByTestId('dataset-preview');
      await expect(preview).toHaveJSProperty('complete', true);
      const grid = await preview.evaluate((img: HTMLImageElement) => ({ shown: img.getBoundingClientRect().width, natural: img.naturalWidth }));
      expect(grid.shown).toBeLessThanOrEqual(grid.natural * 4 + 0.5);
      await screenshot(page, '18-dataset-tiny-warnings');
      await page.emulateMedia({ colorScheme: 'dark' });
      await screenshot(page, '18-dataset-tiny-warnings-dark');
      await page.emulateMedia({ colorScheme: 'light' });

      await trainTinyRun(page, { name: 'one image' });
      const panel = page.getByTestId('run-panel');
      await expect(panel.getByTestId('run-test-nll')).toHaveText('No test images');
      await expect(panel.getByTestId('run-val-loss')).toHaveText('No validation images');
      await expect(panel.getByTestId('artifact-reconstructions-caption')).toContainText('Top: training images');
      // One column of two 28 px images: shown at most 4× its own size, not stretched across the tile.
      const recon = panel.getByTestId('artifact-reconstructions').locator('img');
      await expect(recon).toHaveJSProperty('complete', true);
      const { shown, natural } = await recon.evaluate((img: HTMLImageElement) => ({ shown: img.getBoundingClientRect().width, natural: img.naturalWidth }));
      expect(natural).toBeLessThan(40);
      expect(shown).toBeLessThanOrEqual(natural * 4 + 0.5);
      await screenshot(page, '19-run-no-test-images');
      await page.emulateMedia({ colorScheme: 'dark' });
      await screenshot(page, '19-run-no-test-images-dark');
    } finally {
      await data.remove();
    }
  });
});
