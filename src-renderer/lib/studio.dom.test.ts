import { describe, expect, it } from 'vitest';
import Sidebar from '../components/Sidebar.svelte';
import { fakeBridge } from '../test/fake-bridge';
import { makeRun } from '../test/fixtures';
import { render, waitFor } from '../test/render';
import { RECENT_RUNS, studio } from './studio.svelte';

/**
 * Start-up with thousands of runs: the window asks for the newest page and the runs it must hold
 * (training, queued, paused, imported), never every run; a run a page opens by id is
 * fetched then.
 */
describe('studio start-up', () => {
  it('holds the newest page and the active runs, not all 2 000; the sidebar counts all of them; a run opened by id is fetched', async () => {
    const all = Array.from({ length: 2_000 }, (_, i) =>
      makeRun({ id: i + 1, name: `run-${i + 1}`, status: i === 17 ? 'running' : i === 40 ? 'queued' : 'finished', createdAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString() }),
    );
    const newestFirst = [...all].reverse();
    fakeBridge
      .answer('app.info', { version: 'test' } as never)
      .answer('projects.list', [{ id: 1, name: 'p', createdAt: 'now', datasetCount: 0, runCount: 1_999 }] as never)
      .answer('datasets.list', [])
      .answer('runs.query', ({ filter = '', limit = 100 }) => {
        const status = /status:(\w+)/.exec(filter)?.[1];
        const found = newestFirst.filter((run) => (status === undefined || run.status === status) && (!filter.includes('importedFrom') || run.imported !== undefined));
        return { runs: found.slice(0, limit), total: found.length, offset: 0 };
      })
      .answer('runs.get', ({ runId }) => all[runId - 1]!);
    await studio.start();
    expect(studio.phase).toBe('ready');
    expect(fakeBridge.inputs('runs.list')).toEqual([]);
    expect(studio.runs.length).toBe(RECENT_RUNS + 2);
    expect(studio.activeRuns.map((run) => run.id).sort()).toEqual([18, 41]);
    expect(studio.runs[0]!.id).toBe(2_000);

    const sidebar = render(Sidebar, {});
    // The count the core gave with the newest page (the project list's was one behind).
    await waitFor(() => expect(sidebar.get('nav-runs').textContent).toContain('2000'));

    expect(studio.run(500)).toBeNull();
    await waitFor(() => expect(studio.run(500)?.name).toBe('run-500'));
    expect(fakeBridge.inputs('runs.get')).toEqual([{ runId: 500 }]);
  });
});
