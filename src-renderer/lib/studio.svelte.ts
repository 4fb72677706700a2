import { MAX_RUNS_PAGE } from '@shared/api';
import type { AppInfo, Dataset, Project, Run } from '@shared/types';
import { call, on, onConnection } from './api';
import { toUserError } from './errors';
import { isActive } from './run-status';

const PROJECT_KEY = 'vae-studio.projectId';

function rememberedProjectId(): number | null {
  try {
    const value = Number(localStorage.getItem(PROJECT_KEY));
    return Number.isInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

function rememberProjectId(id: number): void {
  try {
    localStorage.setItem(PROJECT_KEY, String(id));
  } catch {
    // Storage can be disabled; the picker still works, it just forgets on reload.
  }
}

/** Newest runs the start-up reads: the Train view's latest run, the sidebar's recent work. */
export const RECENT_RUNS = 50;

/**
 * What the start-up asks for besides the newest page: every run training, queued or
 * paused (the sidebar's live count, the Train view, a dataset that cannot be deleted
 * now) and every imported run (a dataset that is a model's held-out images).
 */
const HELD_FILTERS = ['status:queued', 'status:running', 'status:paused', 'importedFrom>""'];

const newestFirst = (a: { createdAt: string; id: number }, b: { createdAt: string; id: number }): number =>
  b.createdAt.localeCompare(a.createdAt) || b.id - a.id;

/**
 * The app-wide state: which project is open, its datasets, and the runs this window
 * holds — not every run: the newest page, the active and imported ones, and any a view
 * asked for by id (`run(id)` fetches one it does not hold). Views that list runs ask the
 * core for the page they show (runs.query). Lists are replaced, never mutated, so they
 * can stay `$state.raw` (no deep proxies).
 */
class Studio {
  info = $state.raw<AppInfo | null>(null);
  projects = $state.raw<Project[]>([]);
  projectId = $state<number | null>(null);
  datasets = $state.raw<Dataset[]>([]);
  /** The runs held (see above), newest first; the project's count is `project.runCount`. */
  runs = $state.raw<Run[]>([]);
  /** 'loading' until the first answer from the core; 'error' if there was none. */
  phase = $state<'loading' | 'ready' | 'error'>('loading');
  /** False while the page has lost the core (web mode): a reconnecting banner shows. */
  online = $state(true);
  loadError = $state<string | null>(null);
  /** Set by "Train on this dataset"; the new-run form takes it once. */
  trainDatasetId = $state<number | null>(null);
  /** Set by Clone: the run whose settings the new-run form holds, named beside the form until a run starts. */
  clonedFrom = $state.raw<{ runId: number; name: string } | null>(null);
  /** Set by "Sweep from this run": the new-run form opens with its sweep rows showing. */
  sweepNext = $state(false);
  /** Set by "Show its runs" (a dataset's delete dialog): the Runs view shows that dataset's runs, taken once. */
  runsFilter = $state.raw<{ datasetId: number; name: string } | null>(null);
  /**
   * A file or folder dropped on the window; the import form takes it once. `path` is
   * null in web mode, where a page is never told where a dropped file lives.
   */
  pendingDrop = $state.raw<{ path: string | null; name: string } | null>(null);

  project = $derived(this.projects.find((p) => p.id === this.projectId) ?? null);
  activeRuns = $derived(this.runs.filter((r) => isActive(r)));

  #started = false;
  /** Ids being fetched by run(id), or found missing: asked once each. */
  #asked = new Set<number>();

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    // Subscribing early also opens the event socket before any import or run starts.
    on('run.status', ({ run }) => this.upsertRun(run));
    onConnection((online) => {
      this.online = online;
      // Status events sent while the page was away are lost: ask again.
      if (online && this.phase === 'ready') void this.refreshAll();
    });
    try {
      const [info, projects] = await Promise.all([call('app.info', {}), call('projects.list', {})]);
      this.info = info;
      this.projects = projects;
      const remembered = rememberedProjectId();
      const initial = projects.find((p) => p.id === remembered) ?? projects[0] ?? null;
      if (initial) await this.openProject(initial.id);
      this.phase = 'ready';
    } catch (error) {
      this.loadError = toUserError(error).message;
      this.phase = 'error';
    }
  }

  async openProject(id: number): Promise<void> {
    this.projectId = id;
    rememberProjectId(id);
    this.datasets = [];
    this.runs = [];
    this.#asked.clear();
    await Promise.all([this.refreshDatasets(), this.refreshRuns()]);
  }

  async createProject(name: string): Promise<Project> {
    const project = await call('projects.create', { name });
    this.projects = [...this.projects, project];
    await this.openProject(project.id);
    return project;
  }

  async refreshAll(): Promise<void> {
    try {
      await Promise.all([this.refreshDatasets(), this.refreshRuns()]);
    } catch {
      // Still away: the next reconnection asks again.
    }
  }

  async refreshDatasets(): Promise<void> {
    const projectId = this.projectId;
    if (projectId === null) return;
    const datasets = await call('datasets.list', { projectId });
    if (this.projectId === projectId) this.datasets = [...datasets].sort(newestFirst);
  }

  async refreshRuns(): Promise<void> {
    const projectId = this.projectId;
    if (projectId === null) return;
    const [recent, ...held] = await Promise.all([
      call('runs.query', { projectId, limit: RECENT_RUNS }),
      ...HELD_FILTERS.map((filter) => call('runs.query', { projectId, filter, limit: MAX_RUNS_PAGE })),
    ]);
    if (this.projectId !== projectId) return;
    // Runs fetched by id stay held (a page open on one keeps it); each run once, the answer's copy.
    const answered = [recent, ...held].flatMap((page) => page.runs);
    const kept = this.runs.filter((run) => this.#asked.has(run.id) && !answered.some((r) => r.id === run.id));
    this.runs = [...answered, ...kept].filter((run, i, list) => list.findIndex((r) => r.id === run.id) === i).sort(newestFirst);
    this.#setProject(projectId, 'runCount', recent.total);
  }

  addDataset(dataset: Dataset): void {
    if (dataset.projectId !== this.projectId) return;
    this.datasets = [dataset, ...this.datasets.filter((d) => d.id !== dataset.id)];
    this.#setProject(dataset.projectId, 'datasetCount', this.datasets.length);
  }

  /** Status events carry the whole run: replace ours, or add it if it is new. */
  upsertRun(run: Run): void {
    if (run.projectId !== this.projectId) return;
    const known = this.runs.some((r) => r.id === run.id);
    // A run newer than every run held is a new one (an older one not held changed).
    const isNew = !known && this.runs.every((r) => r.id < run.id);
    this.runs = known ? this.runs.map((r) => (r.id === run.id ? run : r)) : [run, ...this.runs].sort(newestFirst);
    if (isNew) this.#setProject(run.projectId, 'runCount', (this.project?.runCount ?? 0) + 1);
  }

  /** Runs deleted in this window (a list that holds their ids drops them). */
  removed = $state.raw<ReadonlySet<number>>(new Set());

  removeRun(runId: number): void {
    this.removed = new Set([...this.removed, runId]);
    const held = this.runs.length;
    this.runs = this.runs.filter((r) => r.id !== runId);
    if (this.runs.length < held && this.projectId !== null) this.#setProject(this.projectId, 'runCount', Math.max(0, (this.project?.runCount ?? 1) - 1));
  }

  dataset(id: number | null): Dataset | null {
    return id === null ? null : (this.datasets.find((d) => d.id === id) ?? null);
  }

  /** The imported run whose held-out images a dataset is (models.import keeps them as one), if it is. */
  importedRunOf(datasetId: number): Run | null {
    return this.runs.find((r) => r.imported !== undefined && r.datasetId === datasetId) ?? null;
  }

  /** A run by id: held, or null while it is fetched (once; the answer lands in `runs`). */
  run(id: number | null): Run | null {
    if (id === null) return null;
    const held = this.runs.find((r) => r.id === id);
    if (held || this.#asked.has(id) || this.projectId === null) return held ?? null;
    this.#asked.add(id);
    // Not from inside a reactive read: the answer changes state.
    queueMicrotask(() => void this.#fetchRun(id));
    return null;
  }

  async #fetchRun(id: number): Promise<void> {
    try {
      const run = await call('runs.get', { runId: id });
      if (run.projectId === this.projectId && !this.runs.some((r) => r.id === id)) this.runs = [run, ...this.runs].sort(newestFirst);
    } catch {
      // Deleted or never there: the view shows it as not found.
    }
  }

  #setProject(id: number, key: 'datasetCount' | 'runCount', value: number): void {
    this.projects = this.projects.map((p) => (p.id === id ? { ...p, [key]: value } : p));
  }
}

export const studio = new Studio();
