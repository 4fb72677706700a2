import { describe, expect, it } from 'vitest';
import { hashFilter, href, landingRoute, parseHash, section, type Route } from './routes';

describe('routes', () => {
  it('round-trips every route through its hash', () => {
    const routes: Route[] = [
      { view: 'projects' },
      { view: 'datasets', datasetId: null },
      { view: 'datasets', datasetId: 7 },
      { view: 'health', datasetId: 7 },
      { view: 'train', runId: null },
      { view: 'train', runId: 12 },
      { view: 'runs' },
      { view: 'run', runId: 12 },
      { view: 'compare', runIds: [3, 12] },
      { view: 'explore', runId: 12, tab: 'traverse' },
      { view: 'explore', runId: 12, tab: 'map' },
      { view: 'explore', runId: 4, tab: 'interpolate' },
      { view: 'explore', runId: 4, tab: 'samples' },
      { view: 'explore', runId: 4, tab: 'codes' },
      { view: 'inpaint', runId: 12 },
      { view: 'sweep', sweepId: 3 },
    ];
    for (const route of routes) expect(parseHash(href(route))).toEqual(route);
  });

  it("reads the Runs view's filter a sweep's link carries, and none from a plain hash", () => {
    const link = `${href({ view: 'runs' })}?filter=${encodeURIComponent('sweep:3 status:finished')}`;
    expect(parseHash(link)).toEqual({ view: 'runs' });
    expect(hashFilter(link)).toBe('sweep:3 status:finished');
    expect(hashFilter('#/runs')).toBe('');
  });

  it('falls back to the datasets view for unknown or malformed hashes', () => {
    expect(parseHash('')).toEqual({ view: 'datasets', datasetId: null });
    expect(parseHash('#/nowhere')).toEqual({ view: 'datasets', datasetId: null });
    expect(parseHash('#/runs/abc')).toEqual({ view: 'runs' });
    expect(parseHash('#/runs?filter=sweep%3A3')).toEqual({ view: 'runs' });
    expect(parseHash('#/sweeps/x')).toEqual({ view: 'runs' });
    expect(parseHash('#/train/-3')).toEqual({ view: 'train', runId: null });
    expect(parseHash('#/runs/1.5')).toEqual({ view: 'runs' });
    // Compare keeps the valid ids once each; with none it is the runs list.
    expect(parseHash('#/compare/4,x,4,9')).toEqual({ view: 'compare', runIds: [4, 9] });
    expect(parseHash('#/compare/')).toEqual({ view: 'runs' });
    // Explore opens on its traversals when the tab is missing or unknown.
    expect(parseHash('#/runs/12/explore')).toEqual({ view: 'explore', runId: 12, tab: 'traverse' });
    expect(parseHash('#/runs/12/explore/nope')).toEqual({ view: 'explore', runId: 12, tab: 'traverse' });
    expect(parseHash('#/runs/x/explore/map')).toEqual({ view: 'runs' });
    expect(parseHash('#/runs/12/other')).toEqual({ view: 'run', runId: 12 });
    expect(parseHash('#/runs/12/inpaint')).toEqual({ view: 'inpaint', runId: 12 });
    expect(parseHash('#/runs/x/inpaint')).toEqual({ view: 'runs' });
    expect(parseHash('#/datasets/x/health')).toEqual({ view: 'datasets', datasetId: null });
  });

  it('gives a bare Explore link to the traversals', () => {
    expect(href({ view: 'explore', runId: 3, tab: 'traverse' })).toBe('#/runs/3/explore');
    expect(href({ view: 'explore', runId: 3, tab: 'map' })).toBe('#/runs/3/explore/map');
  });

  it('the projects list belongs to no sidebar entry', () => {
    expect(parseHash('#/projects')).toEqual({ view: 'projects' });
    expect(section({ view: 'projects' })).toBeNull();
  });

  it('puts a run detail under the Runs section', () => {
    expect(section({ view: 'run', runId: 3 })).toBe('runs');
    expect(section({ view: 'compare', runIds: [1, 2] })).toBe('runs');
    expect(section({ view: 'inpaint', runId: 3 })).toBe('runs');
    expect(section({ view: 'explore', runId: 3, tab: 'samples' })).toBe('runs');
    expect(section({ view: 'train', runId: 3 })).toBe('train');
  });

  it('opened with no screen in the address, lands on the run training now (then paused, then queued), else stays', () => {
    const runs = [
      { id: 4, status: 'queued' },
      { id: 3, status: 'paused' },
      { id: 2, status: 'running' },
      { id: 1, status: 'finished' },
    ];
    expect(landingRoute('', runs)).toEqual({ view: 'train', runId: 2 });
    expect(landingRoute('#/', runs.slice(0, 2))).toEqual({ view: 'train', runId: 3 });
    expect(landingRoute('#', [runs[0]!])).toEqual({ view: 'train', runId: 4 });
    expect(landingRoute('', [runs[3]!])).toBeNull();
    // An address that names a screen (a reload, a pasted link) is kept.
    expect(landingRoute('#/datasets', runs)).toBeNull();
    expect(landingRoute('#/runs/1', runs)).toBeNull();
  });
});
