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

const newestFirst = (a: { createdAt: string; id: number }, b: { createdAt: string; id: number }): number =>
  b.createdAt.localeCompare(a.createdAt) || b.id - a.id;

/**
 * The app-wide state: which project is open and its datasets and runs. Lists are
 * replaced, never mutated, so they can stay `$state.raw` (no deep proxies).
 */
class Studio {
  info = $state.raw<AppInfo | null>(null);
  projects = $state.raw<Project[]>([]);
  projectId = $state<number | null>(null);
  datasets = $state.raw<Dataset[]>([]);
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
    const runs = await call('runs.list', { projectId });
    if (this.projectId === projectId) this.runs = [...runs].sort(newestFirst);
  }

  addDataset(dataset: Dataset): void {
    if (dataset.projectId !== this.projectId) return;
    this.datasets = [dataset, ...this.datasets.filter((d) => d.id !== dataset.id)];
    this.#bumpProject(dataset.projectId, 'datasetCount', this.datasets.length);
  }

  /** Status events carry the whole run: replace ours, or add it if it is new. */
  upsertRun(run: Run): void {
    if (run.projectId !== this.projectId) return;
    const known = this.runs.some((r) => r.id === run.id);
    this.runs = known ? this.runs.map((r) => (r.id === run.id ? run : r)) : [run, ...this.runs].sort(newestFirst);
    if (!known) this.#bumpProject(run.projectId, 'runCount', this.runs.length);
  }

  removeRun(runId: number): void {
    this.runs = this.runs.filter((r) => r.id !== runId);
  }

  dataset(id: number | null): Dataset | null {
    return id === null ? null : (this.datasets.find((d) => d.id === id) ?? null);
  }

  /** The imported run whose held-out images a dataset is (models.import keeps them as one), if it is. */
  importedRunOf(datasetId: number): Run | null {
    return this.runs.find((r) => r.imported !== undefined && r.datasetId === datasetId) ?? null;
  }

  run(id: number | null): Run | null {
    return id === null ? null : (this.runs.find((r) => r.id === id) ?? null);
  }

  #bumpProject(id: number, key: 'datasetCount' | 'runCount', value: number): void {
    this.projects = this.projects.map((p) => (p.id === id ? { ...p, [key]: value } : p));
  }
}

export const studio = new Studio();
