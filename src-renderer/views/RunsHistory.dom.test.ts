import { describe, expect, it } from 'vitest';
import type { RequestInput } from '@shared/api';
import RunsView from './RunsView.svelte';
import { studio } from '../lib/studio.svelte';
import { HISTORY_PAGE, HISTORY_PAGES_KEPT, RunHistory } from '../lib/history.svelte';
import RunsTable from '../components/RunsTable.svelte';
import { makeRun } from '../test/fixtures';
import { fakeBridge } from '../test/fake-bridge';
import { render, settle, waitFor } from '../test/render';

const TOTAL = 10_000;

/** A core with TOTAL runs: each page made on request, as runs.query pages them. */
function answerManyRuns(): void {
  fakeBridge.answer('runs.query', (input: RequestInput<'runs.query'>) => {
    const offset = input.offset ?? 0;
    const limit = input.limit ?? 100;
    const runs = Array.from({ length: Math.max(0, Math.min(limit, TOTAL - offset)) }, (_, i) => makeRun({ id: TOTAL - offset - i, name: `run-${TOTAL - offset - i}` }));
    return { runs, total: TOTAL, offset };
  });
}

describe('Runs history at 10 000 runs', () => {
  it('puts only the rows in view in the DOM, and keeps a bounded number of pages while scrolling to the end', async () => {
    answerManyRuns();
    const history = new RunHistory(1);
    await history.reset();
    const view = render(RunsTable, { history, now: Date.now() });
    await waitFor(() => expect(view.all('run-row').length).toBeGreaterThan(10));
    expect(view.all('run-row').length).toBeLessThan(60);
    expect(view.get('runs-table').dataset['total']).toBe(String(TOTAL));
    const scroller = view.get('runs-table-scroll');
    for (let top = 0; top <= TOTAL * 37; top += 37 * 1900) {
      scroller.scrollTop = top;
      scroller.dispatchEvent(new Event('scroll'));
      await settle();
      expect(view.all('run-row').length + view.all('run-row-loading').length).toBeLessThan(60);
      expect(history.pagesHeld).toBeLessThanOrEqual(HISTORY_PAGES_KEPT);
    }
    scroller.scrollTop = TOTAL * 37;
    scroller.dispatchEvent(new Event('scroll'));
    await waitFor(() => expect(view.all('run-row').at(-1)?.dataset['runId']).toBe('1'));
    // Pages were asked for as they came into view, not all 100 of them.
    expect(fakeBridge.inputs('runs.query').length).toBeLessThan(TOTAL / HISTORY_PAGE / 2);
  });

  it('shows a filter that does not parse inline, the bad term marked, and keeps the last good one', async () => {
    answerManyRuns();
    studio.projectId = 1;
    studio.runs = [];
    const view = render(RunsView, {});
    await waitFor(() => expect(view.all('run-row').length).toBeGreaterThan(0));
    const box = view.get('runs-search') as HTMLInputElement;
    box.value = 'beta<1 latnt>=16';
    box.dispatchEvent(new Event('input', { bubbles: true }));
    await settle();
    const error = view.get('history-filter-error');
    expect(error.dataset['token']).toBe('latnt>=16');
    expect(error.querySelector('mark')?.textContent).toBe('latnt>=16');
    expect(error.textContent).toMatch(/unknown key "latnt" — did you mean latent\?/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fakeBridge.inputs('runs.query').every((input) => !String(input.filter).includes('latnt'))).toBe(true);
    box.value = 'beta<1 latent>=16';
    box.dispatchEvent(new Event('input', { bubbles: true }));
    await waitFor(() => expect(fakeBridge.inputs('runs.query').at(-1)?.filter).toBe('beta<1 latent>=16'));
    expect(view.all('history-filter-error')).toHaveLength(0);
  });
});
