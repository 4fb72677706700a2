import { beforeEach, describe, expect, it } from 'vitest';
import type { ImportedModel } from '@shared/model-card';
import RunsTable from './RunsTable.svelte';
import type { Run } from '@shared/types';
import { makeRun } from '../test/fixtures';
import { fakeBridge } from '../test/fake-bridge';
import { RunHistory } from '../lib/history.svelte';
import { check, click, render } from '../test/render';

/** A history whose core answers these runs (already loaded, as the Runs view has them). */
async function historyOf(runs: Run[]): Promise<RunHistory> {
  fakeBridge.answer('runs.query', { runs, total: runs.length, offset: 0 });
  const history = new RunHistory(1);
  await history.reset();
  return history;
}

const headers = (view: ReturnType<typeof render>) => view.all('runs-column').map((th) => th.dataset['key']);

describe('Runs table', () => {
  beforeEach(() => localStorage.clear());

  it('fits by default (latent beside the model, backend hidden), and the column choice shows, hides and remembers columns', async () => {
    const run = makeRun({ id: 1, config: { latent: 12 } });
    const view = render(RunsTable, { history: await historyOf([run]), now: Date.now() });
    expect(headers(view)).toEqual(['name', 'dataset', 'model', 'epochs', 'status', 'loss', 'valLoss', 'testNll', 'duration', 'created']);
    expect(view.get('run-row').textContent).toContain('z12');

    click(view.get('runs-columns'));
    check(view.get('runs-column-toggle-backend'), true);
    check(view.get('runs-column-toggle-latent'), true);
    check(view.get('runs-column-toggle-created'), false);
    expect(headers(view)).toEqual(['name', 'dataset', 'model', 'latent', 'epochs', 'status', 'loss', 'valLoss', 'testNll', 'duration', 'backend']);
    expect(view.get('run-row').textContent).not.toContain('z12');
    // Every row has a cell per header (plus the tick box and the chooser's column).
    expect(view.get('run-row').querySelectorAll('td')).toHaveLength(headers(view).length + 2);

    // Remembered: the next time the table opens it shows the same columns.
    view.unmount();
    const again = render(RunsTable, { history: await historyOf([run]), now: Date.now() });
    expect(headers(again)).toContain('backend');
    expect(headers(again)).not.toContain('created');
  });

  it('says the figures are nats per image and what each one averages', async () => {
    const view = render(RunsTable, { history: await historyOf([makeRun()]), now: Date.now() });
    expect(view.get('runs-units').textContent).toMatch(/nats per image: loss averaged over the last epoch's training images/);
    expect(view.all('runs-column').find((th) => th.dataset['key'] === 'loss')!.title).toMatch(/nats per image/);
  });

  it("shows an imported run's duration as the training time its card carries, the same as the original's", async () => {
    const summary = { loss: 100, seconds: 149 };
    const original = makeRun({ id: 1, summary, startedAt: '2025-01-01T10:00:00.000Z', finishedAt: '2025-01-01T10:03:08.000Z' });
    const imported = makeRun({
      id: 2,
      summary,
      // Imported now: the run's own start and end are the same instant.
      startedAt: '2025-02-01T10:00:00.000Z',
      finishedAt: '2025-02-01T10:00:00.000Z',
      imported: { card: { metrics: { final: summary } } } as unknown as ImportedModel,
    });
    const view = render(RunsTable, { history: await historyOf([original, imported]), now: Date.now() });
    expect(view.all('run-duration').map((cell) => cell.textContent)).toEqual(['2m 29s', '2m 29s']);
  });

  it('shows a run whose stored settings cannot be read, marked with the reason, among the others', async () => {
    const good = makeRun({ id: 1, name: 'good', config: { latent: 12 } });
    const bad = makeRun({ id: 2, name: 'cut-short', configError: 'not JSON (Unterminated string in JSON at position 17)', epochsDone: 3, summary: { loss: 88.5 } });
    const view = render(RunsTable, { history: await historyOf([bad, good]), now: Date.now() });
    const rows = view.all('run-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]!.textContent).toContain('cut-short');
    expect(view.get('run-config-error').textContent).toBe('settings unreadable: not JSON (Unterminated string in JSON at position 17)');
    // Its model and latent are not the defaults standing in; its figures are shown.
    expect(rows[0]!.textContent).not.toContain('z16');
    expect(rows[0]!.querySelector('[data-testid="run-final-loss"]')!.textContent).toContain('88.5');
    expect(rows[0]!.querySelectorAll('td')).toHaveLength(rows[1]!.querySelectorAll('td').length);
    expect(rows[1]!.textContent).toContain('z12');
    expect(rows[1]!.querySelector('[data-testid="run-config-error"]')).toBeNull();
  });
});
