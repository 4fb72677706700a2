import type { Artifact, MetricColumns, MetricCursor, MetricPage, MetricPoint, Run, RunProgress } from '@shared/types';
import { call, on, onConnection } from './api';
import { bridge } from './bridge';
import { MetricSeries } from './metric-series';
import { toUserError } from './errors';
import { isActive } from './run-status';

/** The artifact kinds the run panels show, in display order. */
export const artifactKinds = ['reconstructions', 'samples', 'traversal'] as const;

const ARTIFACT_INTERVAL_MS = 250;

export { isActive, isResumable } from './run-status';

/**
 * Everything one run streams: its record, progress, metric series and latest images.
 * Metric series are long, so they live outside the reactive graph and are appended
 * in place; `revision` bumps once per batch so the chart can copy just the new tail.
 * It subscribes before loading what is already stored, so a reload continues the
 * curve without gaps or duplicates.
 */
export class RunFeed {
  readonly runId: number;
  run = $state.raw<Run | null>(null);
  progress = $state.raw<RunProgress | null>(null);
  /** Latest artifact per kind. */
  artifacts = $state.raw<Record<string, Artifact>>({});
  series = $state.raw<Record<string, MetricSeries>>({});
  revision = $state(0);
  /** Bumped when the series are thrown away and reloaded (after a resume). */
  generation = $state(0);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** An on-demand evaluation under way (runs.evaluate): what it computes. */
  evaluation = $state.raw<NonNullable<Run['evaluating']> | null>(null);
  /** Why the last on-demand evaluation failed, until another starts. */
  evaluationError = $state<string | null>(null);

  #lastStep: Record<string, number> = {};
  #lastT = 0;
  /** Status events seen: events arrive in order on one socket, answers may not. */
  #statusEvents = 0;
  #artifactQueue: Artifact[] = [];
  #artifactTimer: ReturnType<typeof setTimeout> | null = null;
  #pending: MetricPoint[][] | null = [];
  /**
   * Which stored history is loading: bumped with `generation` when the series are thrown
   * away, so pages of the history before are dropped. Not reactive: start() reads it
   * inside its caller's effect, which must not re-run when it changes.
   */
  #history = 0;
  #unsubscribe: (() => void)[] = [];

  readonly #images: boolean;
  readonly #metrics: readonly string[] | null;

  /**
   * `images: false` (Compare) follows only the record and the curves, never the image
   * grids; `metrics` keeps only those series (loaded and streamed), not every kl_dim_*.
   */
  constructor(runId: number, initial: Run | null = null, options: { images?: boolean; metrics?: readonly string[] } = {}) {
    this.runId = runId;
    this.run = initial;
    this.#images = options.images ?? true;
    this.#metrics = options.metrics ?? null;
  }

  /**
   * Appends every stored point after `afterStep` (all: -1), a page at a time as each
   * comes (runs.metrics pages a long history so neither the core nor this window is held
   * up by one large answer). Stops when the series are thrown away meanwhile (a resume).
   */
  async #loadMetrics(afterStep = -1): Promise<void> {
    const generation = this.#history;
    let after: MetricCursor | null = null;
    do {
      const page: MetricPage = await call('runs.metrics', {
        runId: this.runId,
        ...(this.#metrics && { names: [...this.#metrics] }),
        ...(afterStep >= 0 && { afterStep }),
        ...(after && { after }),
      });
      if (this.#history !== generation) return;
      this.#appendColumns(page.series);
      after = page.next;
    } while (after !== null);
  }

  #latestImages(): Promise<Artifact[]> {
    return this.#images ? call('runs.artifacts', { runId: this.runId, latest: true, inline: !bridge.artifactUrls }) : Promise.resolve([]);
  }

  start(): () => void {
    const mine = (payload: { runId: number }): boolean => payload.runId === this.runId;
    this.#unsubscribe.push(
      on('run.metrics', (payload) => {
        if (mine(payload)) this.#receive(payload.points);
      }),
      on('run.progress', (payload) => {
        if (mine(payload)) this.progress = payload;
      }),
      on('run.evaluation', (payload) => {
        if (!mine(payload)) return;
        if (payload.state === 'started') {
          this.evaluation = { iwaeSamples: payload.iwaeSamples, images: payload.images };
          this.evaluationError = null;
          this.progress = null;
        } else {
          this.evaluation = null;
          if (payload.state === 'failed') this.evaluationError = payload.error.message;
        }
      }),
      on('run.artifact', (payload) => {
        if (mine(payload) && this.#images) this.#queueArtifact(payload.artifact);
      }),
      on('run.status', (payload) => {
        if (!mine(payload)) return;
        const previous = this.run;
        const wasActive = isActive(previous);
        this.#statusEvents++;
        this.run = payload.run;
        this.#noteEpoch(previous, payload.run);
        // Events are throttled for the UI; the store has every point. Fetch the tail
        // once the run ends so the final curve matches what a reload would show.
        if (wasActive && !isActive(this.run)) void this.#catchUp();
        // Resumed: the store dropped the points after the checkpoint it continues from,
        // and the worker will record those steps again. Start over from the store.
        if (previous !== null && !wasActive && isActive(this.run)) this.#reset();
      }),
      // Back after a dropped connection: the events sent meanwhile are lost; fetch what
      // the store has since the newest point here, and the run as it is now.
      onConnection((online) => {
        if (online && this.#pending === null) void this.#catchUp(true);
      }),
    );
    void this.#load();
    return () => this.dispose();
  }

  /**
   * Runs an action (cancel, pause, resume…) and shows the run it answers, unless a
   * status event came in meanwhile: runs.cancel answers "running" while the
   * "cancelled" event may already have overtaken it.
   */
  async act(action: () => Promise<Run>): Promise<void> {
    const seen = this.#statusEvents;
    const run = await action();
    if (this.#statusEvents === seen) this.run = run;
  }

  /**
   * Steps per epoch, for plotting by epoch: the live progress says it; a stopped run's
   * epochs all had the same number of steps, so its last step over its epochs does.
   */
  get stepsPerEpoch(): number | null {
    if (this.progress && this.progress.stepsPerEpoch > 0) return this.progress.stepsPerEpoch;
    const run = this.run;
    return run && run.epochsDone > 0 && run.lastStep > 0 ? run.lastStep / run.epochsDone : null;
  }

  dispose(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    if (this.#artifactTimer !== null) clearTimeout(this.#artifactTimer);
    this.#artifactTimer = null;
  }

  async #load(): Promise<void> {
    const generation = this.#history;
    try {
      const [run, artifacts] = await Promise.all([call('runs.get', { runId: this.runId }), this.#latestImages(), this.#loadMetrics()]);
      if (this.#history !== generation) return;
      // A status event that arrived while loading is at least as new as this answer.
      if (this.#statusEvents === 0 || !isActive(run)) this.run = run;
      if (run.evaluating) this.evaluation = run.evaluating;
      for (const batch of this.#pending ?? []) this.#append(batch);
      this.#pending = null;
      for (const artifact of artifacts) this.#keepArtifact(artifact);
    } catch (error) {
      this.#pending = null;
      this.error = toUserError(error).message;
    } finally {
      this.loaded = true;
    }
  }

  #reset(): void {
    this.series = {};
    this.#lastStep = {};
    this.#pending = [];
    this.generation++;
    this.#history++;
    this.revision++;
    void this.#load();
  }

  async #catchUp(withRun = false): Promise<void> {
    const steps = Object.values(this.#lastStep);
    const afterStep = steps.length > 0 ? Math.min(...steps) : -1;
    const seen = this.#statusEvents;
    try {
      if (withRun) {
        const run = await call('runs.get', { runId: this.runId });
        if (this.#statusEvents === seen) {
          const previous = this.run;
          this.run = run;
          this.#noteEpoch(previous, run);
        }
      }
      await this.#loadMetrics(afterStep);
      for (const artifact of await this.#latestImages()) this.#keepArtifact(artifact);
    } catch {
      // The live points are already on screen; a failed catch-up only loses the tail.
    }
  }

  /** Until the stored history is loaded, live points wait so the series stay ordered. */
  #receive(points: MetricPoint[]): void {
    if (this.#pending) this.#pending.push(points);
    else this.#append(points);
  }

  #append(points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    let added = 0;
    const ordered = [...points].sort((a, b) => a.step - b.step);
    for (const point of ordered) if (this.#keep(point.name, point.step, point.epoch, point.t, point.value)) added++;
    if (added > 0) this.revision++;
  }

  /** A page of stored points: each metric's columns, in step order. */
  #appendColumns(series: readonly MetricColumns[]): void {
    let added = 0;
    for (const { name, step, epoch, t, value } of series) {
      for (let i = 0; i < step.length; i++) if (this.#keep(name, step[i]!, epoch[i]!, t[i]!, value[i]!)) added++;
    }
    if (added > 0) this.revision++;
  }

  /** Adds a point to its series when this feed follows the metric and it is finite and past the series' last step. */
  #keep(name: string, step: number, epoch: number, t: number, y: number): boolean {
    if (this.#metrics && !this.#metrics.includes(name)) return false;
    const last = this.#lastStep[name] ?? -Infinity;
    if (step <= last || !Number.isFinite(y)) return false;
    this.#lastStep[name] = step;
    if (t > this.#lastT) this.#lastT = t;
    (this.series[name] ??= new MetricSeries()).push({ step, epoch, t, y });
    return true;
  }

  /**
   * Validation figures reach the run's summary once per epoch. When the worker does not
   * also stream them as metric points, plot the epoch's value at its last step; if it
   * does, the step dedupe keeps a single point.
   */
  #noteEpoch(previous: Run | null, run: Run): void {
    const value = run.summary['val_loss'];
    if (!previous || value === undefined || run.epochsDone <= previous.epochsDone || run.lastStep < 0) return;
    // No time comes with it; the newest point's keeps a time axis in order.
    this.#receive([{ step: run.lastStep, epoch: run.epochsDone, name: 'val_loss', value, t: this.#lastT }]);
  }

  /**
   * Small datasets finish an epoch many times a second, each with new images. Decoding
   * every one would leave the page behind the stream; show the newest a few times a second.
   */
  #queueArtifact(artifact: Artifact): void {
    this.#artifactQueue.push(artifact);
    this.#artifactTimer ??= setTimeout(() => {
      this.#artifactTimer = null;
      for (const queued of this.#artifactQueue.splice(0)) this.#keepArtifact(queued);
    }, ARTIFACT_INTERVAL_MS);
  }

  #keepArtifact(artifact: Artifact): void {
    const current = this.artifacts[artifact.kind];
    if (current && (current.epoch > artifact.epoch || (current.epoch === artifact.epoch && current.id > artifact.id))) return;
    this.artifacts = { ...this.artifacts, [artifact.kind]: artifact };
  }
}
