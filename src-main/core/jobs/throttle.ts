/**
 * Collects items and hands them over at most once per interval — the UI gets ≤ 10
 * metric events a second however fast the worker reports.
 */
export class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly deliver: (items: T[]) => void,
  ) {}

  push(...items: T[]): void {
    this.items.push(...items);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.deliver(items);
  }
}
