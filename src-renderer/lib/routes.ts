/**
 * Hash routes, so a reload (or a link pasted from the web mode) lands on the same
 * screen: #/projects, #/datasets, #/datasets/7, #/datasets/7/health, #/train, #/train/12, #/runs, #/runs/12,
 * #/runs/12/explore[/map|interpolate|samples|classes|codes], #/runs/12/inpaint, #/compare/12,15, #/sweeps/3, #/settings.
 */
export type Route =
  | { view: 'projects' }
  | { view: 'datasets'; datasetId: number | null }
  | { view: 'health'; datasetId: number }
  | { view: 'train'; runId: number | null }
  | { view: 'runs' }
  | { view: 'run'; runId: number }
  | { view: 'compare'; runIds: number[] }
  | { view: 'explore'; runId: number; tab: ExploreTab }
  | { view: 'inpaint'; runId: number }
  | { view: 'sweep'; sweepId: number }
  | { view: 'settings' };

/**
 * Explore's sections; `traverse` is the one a bare #/runs/12/explore opens. `classes` only
 * appears for models whose decoder takes a label (conditional VAE, M2); a VQ-VAE shows
 * `samples` and `codes` (its code grids) instead of the continuous-latent sections.
 */
export const exploreTabs = ['traverse', 'map', 'interpolate', 'samples', 'classes', 'codes'] as const;
/** The sections that move through a continuous latent, which a VQ-VAE does not have. */
export const continuousTabs: readonly ExploreTab[] = ['traverse', 'map', 'interpolate'];
export type ExploreTab = (typeof exploreTabs)[number];

const toTab = (text: string | undefined): ExploreTab => exploreTabs.find((tab) => tab === text) ?? 'traverse';

export type ViewName = 'datasets' | 'train' | 'runs';

function toId(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : null;
}

export function parseHash(hash: string): Route {
  // A query after the path (#/runs?filter=sweep:3, the Runs view's filter) does not change the screen.
  const [view, id, sub, tab] = hash.replace(/^#\/?/, '').split('?')[0]!.split('/');
  switch (view) {
    case 'train':
      return { view: 'train', runId: toId(id) };
    case 'runs': {
      const runId = toId(id);
      if (runId === null) return { view: 'runs' };
      if (sub === 'inpaint') return { view: 'inpaint', runId };
      return sub === 'explore' ? { view: 'explore', runId, tab: toTab(tab) } : { view: 'run', runId };
    }
    case 'datasets': {
      const datasetId = toId(id);
      return datasetId !== null && sub === 'health' ? { view: 'health', datasetId } : { view: 'datasets', datasetId };
    }
    case 'projects':
      return { view: 'projects' };
    case 'settings':
      return { view: 'settings' };
    case 'sweeps': {
      const sweepId = toId(id);
      return sweepId === null ? { view: 'runs' } : { view: 'sweep', sweepId };
    }
    case 'compare': {
      const ids = (id ?? '').split(',').map(toId);
      const runIds = [...new Set(ids.filter((value): value is number => value !== null))];
      return runIds.length > 0 ? { view: 'compare', runIds } : { view: 'runs' };
    }
    default:
      return { view: 'datasets', datasetId: null };
  }
}

export function href(route: Route): string {
  switch (route.view) {
    case 'projects':
      return '#/projects';
    case 'datasets':
      return route.datasetId === null ? '#/datasets' : `#/datasets/${route.datasetId}`;
    case 'health':
      return `#/datasets/${route.datasetId}/health`;
    case 'train':
      return route.runId === null ? '#/train' : `#/train/${route.runId}`;
    case 'runs':
      return '#/runs';
    case 'run':
      return `#/runs/${route.runId}`;
    case 'compare':
      return `#/compare/${route.runIds.join(',')}`;
    case 'explore':
      return route.tab === 'traverse' ? `#/runs/${route.runId}/explore` : `#/runs/${route.runId}/explore/${route.tab}`;
    case 'inpaint':
      return `#/runs/${route.runId}/inpaint`;
    case 'settings':
      return '#/settings';
    case 'sweep':
      return `#/sweeps/${route.sweepId}`;
  }
}

/** Which sidebar entry a route belongs to (the projects list has none: the picker leads there; settings: the footer). */
export function section(route: Route): ViewName | null {
  if (route.view === 'projects' || route.view === 'settings') return null;
  if (route.view === 'health') return 'datasets';
  return route.view === 'run' || route.view === 'compare' || route.view === 'explore' || route.view === 'inpaint' || route.view === 'sweep' ? 'runs' : route.view;
}

/**
 * Where opening the app without a screen in its address lands: on the run training now
 * (or paused, or next in the queue) when there is one, so coming back during training
 * shows it; otherwise the Datasets screen. Null: the address names a screen, keep it.
 */
export function landingRoute(hash: string, activeRuns: readonly { id: number; status: string }[]): Route | null {
  if (hash.replace(/^#\/?/, '') !== '') return null;
  const order = ['running', 'paused', 'queued'];
  const active = [...activeRuns].filter((r) => order.includes(r.status)).sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status))[0];
  return active ? { view: 'train', runId: active.id } : null;
}

/** The Runs view's filter a link carries after the path (#/runs?filter=sweep:3, a sweep's "In Runs"); '' when none. */
export function hashFilter(hash: string): string {
  const query = hash.split('?')[1];
  return query === undefined ? '' : (new URLSearchParams(query).get('filter') ?? '');
}
