/**
 * Debounced, newest-wins requests, for controls that fire on every slider tick: only
 * the last input of a burst is sent, and an answer to anything but the newest request
 * is dropped, so a slow early answer can never replace a later one on screen.
 */
export interface LatestHandlers<I, O> {
  result(output: O, input: I): void;
  error(error: unknown, input: I): void;
  /** True from the moment a request is scheduled until its answer (or its drop). */
  pending(pending: boolean): void;
}

export interface Timers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class Latest<I, O> {
  #seq = 0;
  #timer: unknown = null;
  readonly #send: (input: I) => Promise<O>;
  readonly #handlers: LatestHandlers<I, O>;
  readonly #delayMs: number;
  readonly #timers: Timers;

  constructor(send: (input: I) => Promise<O>, handlers: LatestHandlers<I, O>, delayMs = 150, timers: Timers = realTimers) {
    this.#send = send;
    this.#handlers = handlers;
    this.#delayMs = delayMs;
    this.#timers = timers;
  }

  /** Schedules `input`; `immediate` skips the wait (a click, not a drag). */
  request(input: I, immediate = false): void {
    const seq = ++this.#seq;
    this.#clearTimer();
    this.#handlers.pending(true);
    const go = (): void => {
      this.#timer = null;
      this.#send(input).then(
        (output) => {
          if (seq !== this.#seq) return;
          this.#handlers.pending(false);
          this.#handlers.result(output, input);
        },
        (error: unknown) => {
          if (seq !== this.#seq) return;
          this.#handlers.pending(false);
          this.#handlers.error(error, input);
        },
      );
    };
    if (immediate || this.#delayMs <= 0) go();
    else this.#timer = this.#timers.set(go, this.#delayMs);
  }

  /** Forgets whatever is scheduled or in flight: no handler is called for it. */
  cancel(): void {
    this.#seq++;
    this.#clearTimer();
    this.#handlers.pending(false);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#timers.clear(this.#timer);
    this.#timer = null;
  }
}
