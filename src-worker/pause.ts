/**
 * Pause between training steps. `pause` only raises a flag; the loop holds at its next
 * `wait`, and only then reports `paused`, so the supervisor's status says what the
 * worker is really doing. A pause and resume that both land between two steps leave
 * no trace. `interrupt` (a stop) releases the hold without reporting `running`.
 */
export class PauseGate {
  private paused = false;
  private release: (() => void) | null = null;

  constructor(private readonly onState: (state: 'paused' | 'running') => void) {}

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.release?.();
  }

  interrupt(): void {
    this.release?.();
  }

  /** Resolves at once unless paused; then when resumed or interrupted. */
  async wait(shouldStop: () => boolean): Promise<void> {
    if (!this.paused || shouldStop()) return;
    this.onState('paused');
    while (this.paused && !shouldStop()) {
      await new Promise<void>((resolve) => (this.release = resolve));
      this.release = null;
    }
    if (!shouldStop()) this.onState('running');
  }
}
