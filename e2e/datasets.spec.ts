import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, openStudio, screenshot, tempFolder, test, writeShapesFolder } from './fixtures';

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
