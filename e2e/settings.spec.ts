import { expect, openStudio, test } from './fixtures';
import { createFirstProject } from './steps';

/** Issue 23: the Settings page saves where runs train; a URL the core refuses is named beside its field. */
test('Settings saves a Redis URL, refuses one it cannot use beside the field, and trains here again', async ({ page, studio }, testInfo) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openStudio(page, studio);
  await createFirstProject(page);
  await page.getByTestId('nav-settings').click();
  await expect(page).toHaveURL(/#\/settings$/);

  await page.getByTestId('settings-redis-url').fill('http://queue:6379');
  await page.getByTestId('settings-save').click();
  await expect(page.getByTestId('error-redisUrl')).toContainText('must start with redis:// or rediss://');

  // Saved without a server to reach: runs wait for it; the page says where they go.
  await page.getByTestId('settings-redis-url').fill('redis://user:secret@127.0.0.1:1');
  await page.getByTestId('settings-save').click();
  await expect(page.getByTestId('settings-saved')).toContainText('queue on this Redis');
  await page.screenshot({ path: testInfo.outputPath('settings.png'), fullPage: true });
  await page.reload();
  // Reopened, the page keeps the URL but never shows its password.
  await expect(page.getByTestId('settings-redis-url')).toHaveValue('redis://user:***@127.0.0.1:1');
  expect(await page.content()).not.toContain('secret');

  await page.getByTestId('settings-local').click();
  await expect(page.getByTestId('settings-saved')).toContainText('train on this machine');
  await expect(page.getByTestId('settings-redis-url')).toHaveValue('');
});
