import { dirname } from 'node:path';
import { expect, openStudio, tempFolder, test, writeShapesFolder } from './fixtures';
import { createFirstProject } from './steps';

/** Issue 21: the first minutes of a new user, from an empty workspace to a paused and a stopped run. */
test('one click imports the sample digits, Start training stays in view, reopening lands on the run, and pause/stop speak one vocabulary', async ({ page, studio }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openStudio(page, studio);
  await createFirstProject(page);

  // One click: no second "Import" to find.
  await page.getByTestId('import-sample').click();
  await expect(page.getByTestId('dataset-name')).toHaveText('Sample digits', { timeout: 60_000 });

  // The new-run form: its start button in view without scrolling, the advanced settings folded.
  await page.getByTestId('nav-train').click();
  await expect(page.getByTestId('run-advanced')).not.toHaveAttribute('open', '');
  for (const height of [800, 900]) {
    await page.setViewportSize({ width: 1280, height });
    await expect(page.getByTestId('run-start')).toBeInViewport({ ratio: 1 });
  }
  // Opened, the form grows past the window and the button still shows.
  await page.getByTestId('run-advanced').locator('summary').click();
  await expect(page.getByTestId('run-seed')).toBeVisible();
  await expect(page.getByTestId('run-start')).toBeInViewport({ ratio: 1 });
  await page.getByTestId('run-advanced').locator('summary').click();

  await page.getByTestId('run-epochs').fill('500');
  await page.getByTestId('run-batch-size').fill('8');
  await page.getByTestId('run-start').click();
  const panel = page.getByTestId('run-panel');
  await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
  const runId = (await panel.getAttribute('data-run-id'))!;
  await expect(page.getByTestId('run-eta')).toHaveText(/\d/, { timeout: 30_000 });

  // Reopening the app (its launch address, no screen in it) lands on the run that trains.
  await page.goto(studio.url);
  await expect(page).toHaveURL(new RegExp(`#/train/${runId}$`));
  await expect(page.getByTestId('run-panel')).toHaveAttribute('data-run-id', runId);

  // Paused: the estimate is hidden, and Resume is the word for going on.
  await page.getByTestId('run-pause').click();
  await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'paused');
  await expect(page.getByTestId('run-eta')).toHaveText('Paused');
  await expect(page.getByTestId('run-unpause')).toHaveText('Resume');
  await page.getByTestId('run-unpause').click();
  await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'running');

  // Stopped: the pill, the callout and the button use the same words.
  await page.getByTestId('run-stop').click();
  await expect(panel.getByTestId('run-status')).toHaveAttribute('data-status', 'cancelled', { timeout: 30_000 });
  await expect(panel.getByTestId('run-status')).toHaveText('stopped');
  await expect(page.getByTestId('run-error')).toContainText('Stopped');
  await expect(page.getByTestId('run-resume')).toHaveText('Resume');
});

test('web mode browses the server’s folders with their image counts instead of asking for a typed path', async ({ page, studio }) => {
  const data = await tempFolder();
  try {
    const { folder } = await writeShapesFolder(data.path, 4);
    await openStudio(page, studio);
    await createFirstProject(page);
    await page.getByTestId('import-browse').click();
    const browser = page.getByTestId('folder-browser');
    await expect(browser).toBeVisible();
    await browser.getByTestId('folder-browser-path').fill(dirname(folder));
    await browser.getByTestId('folder-browser-path').press('Enter');
    const shapes = browser.locator('[data-testid="folder-browser-entry"][data-name="shapes"]');
    // Three class folders, and no image directly in it.
    await expect(shapes).toContainText('0 images · 3 folders');
    await shapes.click();
    // Counted by name: rings/ holds 4 PNGs and one that only looks like one.
    await expect(browser.locator('[data-testid="folder-browser-entry"][data-name="rings"]')).toContainText('5 images');
    await browser.getByTestId('folder-browser-choose').click();
    await expect(browser).toHaveCount(0);
    await expect(page.getByTestId('import-folder')).toHaveValue(folder);
    await expect(page.getByTestId('import-layout-detected')).toContainText('13 image files'); // 4 of each class and one that only looks like a PNG
  } finally {
    await data.remove();
  }
});
