/**
 * Whether the page has the core: set by the transport (web mode loses it when the
 * loopback server stops or the socket drops), read by the reconnecting banner and by
 * views that must catch up on the events they missed.
 */
export class ConnectionState {
  #online = true;
  readonly #listeners = new Set<(online: boolean) => void>();
  #waiters: (() => void)[] = [];

  get online(): boolean {
    return this.#online;
  }

  down(): void {
    if (!this.#online) return;
    this.#online = false;
    for (const listener of [...this.#listeners]) listener(false);
  }

  up(): void {
    if (this.#online) return;
    this.#online = true;
    for (const wake of this.#waiters.splice(0)) wake();
    for (const listener of [...this.#listeners]) listener(true);
  }

  listen(listener: (online: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves true once online (at once when online now), false after `timeoutMs`. */
  whenOnline(timeoutMs: number): Promise<boolean> {
    if (this.#online) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== wake);
        resolve(false);
      }, timeoutMs);
      this.#waiters.push(wake);
    });
  }
}
