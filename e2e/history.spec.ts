import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, openStudio, screenshot, test } from './fixtures';

// The screens are checked at 1280×800, light and dark.
test.use({ viewport: { width: 1280, height: 800 } });

/**
 * 240 finished runs straight into the served workspace's database (as a long history
 * would have them): β × latent × learning rate × seeds, val_loss falling with latent and
 * rising with β far from 1; the learning rate and seed do nothing.
 */
function seedHistory(home: string): void {
  const db = new Database(join(home, 'studio.db'));
  db.pragma('busy_timeout = 5000');
  db.transaction(() => {
    db.prepare(`INSERT INTO projects (id, name, created_at) VALUES (1, 'Sweep history', '2026-06-01T00:00:00Z')`).run();
    db.prepare(
      `INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json,
         label_counts_json, skipped_json, settings_json, blob_hash, created_at)
       VALUES (1, 1, 'digits', '/digits', 28, 28, 1, 1000, '[]', '{}', '[]', '{}', ?, '2026-06-01T00:00:00Z')`,
    ).run('0'.repeat(64));
    const insert = db.prepare(
      `INSERT INTO runs (project_id, dataset_id, name, config_json, status, created_at, summary_json, tags_json, epochs_done)
       VALUES (1, 1, ?, ?, 'finished', ?, ?, ?, 10)`,
    );
    let i = 0;
    for (const beta of [0.25, 0.5, 1, 2, 4])
      for (const latent of [4, 8, 16, 32])
        for (const learningRate of [3e-4, 1e-3, 3e-3])
          for (let seed = 1; seed <= 4; seed++) {
            i += 1;
            const valLoss = 100 - 4 * Math.log2(latent) + 3 * Math.log2(beta) ** 2 + ((seed * 7 + i) % 5) * 0.1;
            insert.run(
              `b${beta}-z${latent}-s${seed}-${i}`,
              JSON.stringify({ beta, latent, learningRate, seed, epochs: 10 }),
              new Date(Date.UTC(2026, 5, 1, 0, i)).toISOString(),
              JSON.stringify({ loss: valLoss - 1, val_loss: valLoss, test_nll: valLoss + 0.5 }),
              JSON.stringify(seed === 1 ? ['first-seed'] : []),
            );
          }
  })();
  db.close();
}

test('history: filter with the language, group across seeds, parallel coordinates and importance', async ({ page, studio }) => {
  await openStudio(page, studio);
  seedHistory(studio.home);
  await page.reload();
  await page.getByTestId('nav-runs').click();
  await expect(page.getByTestId('run-row').first()).toBeVisible();
  await expect(page.getByTestId('runs-table')).toHaveAttribute('data-total', '240');

  // A typo is marked where it is, and the table keeps the last filter that parsed.
  const box = page.getByTestId('runs-search');
  await box.fill('beta<1 latnt>=16');
  await expect(page.getByTestId('history-filter-error')).toHaveAttribute('data-token', 'latnt>=16');
  await expect(page.getByTestId('history-filter-error')).toContainText('did you mean latent?');
  await expect(page.getByTestId('runs-table')).toHaveAttribute('data-total', '240');
  await box.fill('beta<1 latent>=16 status:finished');
  await expect(page.getByTestId('history-filter-error')).toHaveCount(0);
  // β 0.25 and 0.5 × latent 16 and 32 × 3 learning rates × 4 seeds.
  await expect(page.getByTestId('runs-table')).toHaveAttribute('data-total', '48');
  for (const row of await page.getByTestId('run-row').all()) await expect(row.getByTestId('run-link')).toHaveText(/^b0\.(25|5)-z(16|32)-/);

  // Sorting is the core's: by val_loss, lowest first, the best run leads; again, the worst.
  await page.getByTestId('sort-valLoss').click();
  await expect(page.getByTestId('run-row').first().getByTestId('run-link')).toHaveText(/^b0\.5-z32-/);
  await page.getByTestId('sort-valLoss').click();
  await expect(page.getByTestId('run-row').first().getByTestId('run-link')).toHaveText(/^b0\.25-z16-/);
  await screenshot(page, '23-history-filter');

  // Group by latent: one row per latent size, its seeds and learning rates pooled, mean ± sd.
  await page.getByTestId('history-group').selectOption('latent');
  await expect(page.getByTestId('history-group-row')).toHaveCount(2);
  await expect(page.getByTestId('history-groups')).toContainText('±');
  await screenshot(page, '23-history-groups');
  await page.getByTestId('history-group-row').first().getByRole('button').first().click();
  await expect(box).toHaveValue(/beta<1 latent>=16 status:finished latent:(16|32)/);
  await expect(page.getByTestId('runs-table')).toHaveAttribute('data-total', '24');

  // Parallel coordinates and importance over the whole history: β and latent matter, the seed does not.
  await box.fill('');
  await page.getByTestId('history-tab-plot').check({ force: true });
  await expect(page.getByTestId('parallel-coords')).toHaveAttribute('data-lines', '240');
  const ranked = await page.getByTestId('importance-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')));
  expect(ranked.slice(0, 2).sort()).toEqual(['beta', 'latent']);
  expect(ranked.at(-1) === 'seed' || ranked.at(-1) === 'learningRate').toBe(true);
  await screenshot(page, '23-history-plot');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, '23-history-plot-dark');
  await page.getByTestId('history-tab-table').check({ force: true });
  await screenshot(page, '23-history-table-dark');
});
