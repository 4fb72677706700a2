/**
 * Keyboard shortcuts: single keys and two-key sequences ("g d"), the way GitHub and
 * Gmail do it, so none of them fights the browser's or the OS's Ctrl/Cmd shortcuts.
 */
export type ShortcutAction = 'go-datasets' | 'go-train' | 'go-runs' | 'new-run' | 'import' | 'search' | 'compare' | 'explore' | 'help';

export interface Shortcut {
  /** Keys pressed one after the other, as KeyboardEvent.key gives them. */
  keys: readonly string[];
  action: ShortcutAction;
  label: string;
}

export const shortcuts: readonly Shortcut[] = [
  { keys: ['g', 'd'], action: 'go-datasets', label: 'Go to Datasets' },
  { keys: ['g', 't'], action: 'go-train', label: 'Go to Train' },
  { keys: ['g', 'r'], action: 'go-runs', label: 'Go to Runs' },
  { keys: ['n'], action: 'new-run', label: 'New run' },
  { keys: ['i'], action: 'import', label: 'Import a folder' },
  { keys: ['/'], action: 'search', label: 'Search runs' },
  { keys: ['c'], action: 'compare', label: 'Compare the selected runs' },
  { keys: ['e'], action: 'explore', label: 'Explore the open run' },
  { keys: ['?'], action: 'help', label: 'Show these shortcuts' },
];

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** How long the second key of a sequence may wait for the first. */
export const SEQUENCE_MS = 1200;

export class ShortcutReader {
  #pending: string[] = [];
  #at = 0;

  /** The action the keys so far complete, or null (waiting for more, or nothing matched). */
  read(press: KeyPress, now: number): ShortcutAction | null {
    if (press.ctrlKey || press.metaKey || press.altKey || press.key.length !== 1) {
      this.#pending = [];
      return null;
    }
    const key = press.key === '?' || press.key === '/' ? press.key : press.key.toLowerCase();
    const sequence = now - this.#at <= SEQUENCE_MS ? [...this.#pending, key] : [key];
    this.#at = now;
    const exact = shortcuts.find((s) => s.keys.length === sequence.length && s.keys.every((k, i) => k === sequence[i]));
    if (exact) {
      this.#pending = [];
      return exact.action;
    }
    const prefix = shortcuts.some((s) => s.keys.length > sequence.length && sequence.every((k, i) => s.keys[i] === k));
    if (prefix) {
      this.#pending = sequence;
      return null;
    }
    // A key that starts nothing continues nothing: try it on its own.
    this.#pending = [];
    return sequence.length > 1 ? this.read(press, now) : null;
  }
}
