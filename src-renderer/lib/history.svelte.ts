import { FilterSyntaxError, parseRunFilter } from '@shared/run-filter';
import type { Run } from '@shared/types';
import { call } from './api';
import { toUserError } from './errors';

/** Runs per page asked of the core. */
export const HISTORY_PAGE = 100;
/** Pages kept in memory (the least recently read go first): the table holds at most this × HISTORY_PAGE runs. */
export const HISTORY_PAGES_KEPT = 8;

export interface FilterProblem {
  message: string;
  token: string;
  start: number;
  end: number;
}

/** The filter as typed, checked here with the core's own parser: null when it parses. */
export function filterProblem(text: string): FilterProblem | null {
  try {
    parseRunFilter(text);
    return null;
  } catch (error) {
    if (error instanceof FilterSyntaxError) return { message: error.message, token: error.token, start: error.start, end: error.end };
    throw error;
  }
}

/**
 * The Runs view's window on the history: the total matching the filter, and the pages of
 * it the table has scrolled through, fetched from the core (runs.query) on demand and
 * bounded (HISTORY_PAGES_KEPT), so renderer memory does not grow with the runs.
 */
export class RunHistory {
  /** The filter sent to the core (what was typed, once it parses), plus an exact dataset when asked. */
  filter = $state('');
  sort = $state<{ key: string; descending: boolean }>({ key: 'id', descending: true });
  total = $state(0);
  /** Bumped when pages arrive or go: rowAt readers re-read. */
  version = $state(0);
  loaded = $state(false);
  error = $state<string | null>(null);
  readonly projectId: number;

  /** Loaded pages, least recently read first (a few, so a list serves), and pages on their way. */
  #pages: { page: number; runs: Run[] }[] = [];
  #pending: number[] = [];
  /** Requests from before the last reset are ignored when they land. */
  #generation = 0;

  constructor(projectId: number) {
    this.projectId = projectId;
  }

  /** The run at `index` in the sorted, filtered order, or undefined while its page loads. */
  rowAt(index: number): Run | undefined {
    void this.version;
    const number = Math.floor(index / HISTORY_PAGE);
    return this.#pages.find((entry) => entry.page === number)?.runs[index % HISTORY_PAGE];
  }

  /** Loads the pages rows first‥last fall on (those not loaded or loading). */
  ensure(first: number, last: number): void {
    const from = Math.max(0, Math.floor(first / HISTORY_PAGE));
    const to = Math.floor(Math.max(first, last) / HISTORY_PAGE);
    for (let page = from; page <= to; page++) {
      const at = this.#pages.findIndex((entry) => entry.page === page);
      if (at >= 0) {
        // Most recently read last: the first is the one to drop.
        this.#pages.push(...this.#pages.splice(at, 1));
      } else if (!this.#pending.includes(page) && (page === 0 || page * HISTORY_PAGE < this.total)) {
        void this.#load(page);
      }
    }
  }

  /** Everything again from the first page (a new filter or sort, or runs changed). */
  reset(): Promise<void> {
    this.#generation += 1;
    this.#pages = [];
    this.#pending = [];
    this.version += 1;
    return this.#load(0);
  }

  /** A run changed (status event): replace it where a loaded page holds it. Answers whether one did. */
  replace(run: Run): boolean {
    for (const { runs } of this.#pages) {
      const at = runs.findIndex((r) => r.id === run.id);
      if (at >= 0) {
        runs[at] = run;
        this.version += 1;
        return true;
      }
    }
    return false;
  }

  get pagesHeld(): number {
    return this.#pages.length;
  }

  async #load(page: number): Promise<void> {
    const generation = this.#generation;
    this.#pending.push(page);
    try {
      const answer = await call('runs.query', {
        projectId: this.projectId,
        filter: this.filter,
        sort: this.sort.key,
        descending: this.sort.descending,
        offset: page * HISTORY_PAGE,
        limit: HISTORY_PAGE,
      });
      if (generation !== this.#generation) return;
      this.#pages.push({ page, runs: answer.runs });
      if (this.#pages.length > HISTORY_PAGES_KEPT) this.#pages.splice(0, this.#pages.length - HISTORY_PAGES_KEPT);
      this.total = answer.total;
      this.error = null;
    } catch (error) {
      if (generation === this.#generation) this.error = toUserError(error).message;
    } finally {
      if (generation === this.#generation) {
        this.#pending = this.#pending.filter((other) => other !== page);
        this.loaded = true;
        this.version += 1;
      }
    }
  }
}

/** Kept here for the Runs view's import; lib/download.ts has it. */
export { downloadText } from './download';
