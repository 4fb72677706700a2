import { join } from 'node:path';
import { expect, openStudio, repoRoot, screenshot, test } from './fixtures';
import { createFirstProject, importFolder } from './steps';

test('projects screen: each project with what it holds; create one, open it empty, go back to the first', async ({ page, studio }) => {
  await openStudio(page, studio);
  await createFirstProject(page);
  await importFolder(page, join(repoRoot, 'resources', 'sample-digits'), 'Digits', 28);

  // The picker leads to the list of all projects.
  await page.getByTestId('project-picker').click();
  await page.getByTestId('project-all').click();
  await expect(page).toHaveURL(/#\/projects$/);
  const cards = page.getByTestId('project-card');
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toContainText('My first project');
  await expect(cards.first()).toContainText('1 dataset · 0 runs');
  await expect(cards.first().getByTestId('project-current-tag')).toBeVisible();

  // An empty name is explained next to the field and creates nothing.
  await page.getByTestId('projects-create').click();
  await expect(page.getByTestId('projects-error')).toHaveText('Give the project a name.');
  await expect(cards).toHaveCount(1);

  await page.getByTestId('projects-new-name').fill('Faces');
  await page.getByTestId('projects-create').click();
  // A new project opens on its (empty) datasets page.
  await expect(page).toHaveURL(/#\/datasets$/);
  await expect(page.getByTestId('project-current')).toHaveText('Faces');
  await expect(page.getByText('No dataset yet.')).toBeVisible();

  await page.goto(`${studio.url.split('#')[0]}#/projects`);
  await expect(cards).toHaveCount(2);
  const first = cards.filter({ hasText: 'My first project' });
  await expect(first).toContainText('1 dataset');
  await expect(cards.filter({ hasText: 'Faces' }).getByTestId('project-current-tag')).toBeVisible();
  await screenshot(page, '24-projects');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, '24-projects-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  await first.click();
  await expect(page.getByTestId('project-current')).toHaveText('My first project');
  await expect(page.getByTestId('dataset-row')).toHaveCount(1);
  await expect(page.getByTestId('dataset-row')).toContainText('Digits');
});
