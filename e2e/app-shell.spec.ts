import type { Page } from '@playwright/test';
import { expect, openStudio, screenshot, test } from './fixtures';
import { createFirstProject } from './steps';

/** Drags a file over the page and drops it, as a file manager would. */
async function dropFile(page: Page, name: string): Promise<void> {
  const dataTransfer = await page.evaluateHandle((fileName) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['not read'], fileName));
    return transfer;
  }, name);
  await page.dispatchEvent('main', 'dragover', { dataTransfer });
  await expect(page.getByTestId('drop-overlay')).toContainText('Web mode cannot read');
  await page.dispatchEvent('main', 'drop', { dataTransfer });
  await expect(page.getByTestId('drop-overlay')).toHaveCount(0);
}

test('keyboard shortcuts move between screens, wait while typing, and list themselves on ?', async ({ page, studio }) => {
  await openStudio(page, studio);
  await createFirstProject(page);

  await page.keyboard.press('?');
  const help = page.getByTestId('shortcuts-help');
  await expect(help).toBeVisible();
  await expect(help).toContainText('Go to Runs');
  await screenshot(page, '17-shortcuts');
  // While a dialog is open the shortcuts wait; Esc closes it.
  await page.keyboard.press('g');
  await page.keyboard.press('r');
  await expect(page).not.toHaveURL(/#\/runs$/);
  await page.keyboard.press('Escape');
  await expect(help).toHaveCount(0);

  await page.keyboard.press('g');
  await page.keyboard.press('r');
  await expect(page).toHaveURL(/#\/runs$/);
  await expect(page.getByTestId('runs-empty')).toContainText('Press n to start one');

  await page.keyboard.press('/');
  const search = page.getByTestId('runs-search');
  await expect(search).toBeFocused();
  // Typed into the field, "g d" is text, not a shortcut.
  await page.keyboard.type('gd');
  await expect(search).toHaveValue('gd');
  await expect(page).toHaveURL(/#\/runs$/);
  await search.blur();

  await page.keyboard.press('n');
  await expect(page).toHaveURL(/#\/train$/);
  await expect(page.getByTestId('run-form')).toContainText('No dataset in this project yet');

  await page.keyboard.press('i');
  await expect(page).toHaveURL(/#\/datasets$/);
  await expect(page.getByTestId('import-folder')).toBeFocused();
  await page.getByTestId('import-folder').blur();

  await page.keyboard.press('g');
  await page.keyboard.press('t');
  await expect(page).toHaveURL(/#\/train$/);
});

test('a folder dropped on the window opens the import form; web mode says to type the path', async ({ page, studio }) => {
  await openStudio(page, studio);
  await createFirstProject(page);
  await page.getByTestId('nav-runs').click();

  await dropFile(page, 'holiday-photos');
  await expect(page).toHaveURL(/#\/datasets$/);
  await expect(page.getByTestId('import-notice')).toContainText('"holiday-photos"');
  await expect(page.getByTestId('import-notice')).toContainText('Type (or paste) the folder');
  // Web mode offers its own folder browser beside the typed path.
  await expect(page.locator('[data-field="folder"]')).toContainText('Browse the folders of the machine running VAE Studio');
  // The app is still there: the drop did not replace the page with the file.
  await expect(page.getByTestId('import-form')).toBeVisible();
});
