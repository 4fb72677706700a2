import { flushSync, mount, unmount, type Component } from 'svelte';

/**
 * Mounting real components in happy-dom for the renderer-dom tests (*.dom.test.ts).
 * `render` mounts into a fresh element of the page; setup.ts unmounts everything after
 * each test. `waitFor` polls an assertion until it holds (answers from the fake bridge
 * and chart redraws are asynchronous), so tests wait for what a user would see, not for
 * a fixed time.
 */

interface Mounted {
  target: HTMLElement;
  instance: Record<string, unknown>;
}

const mounted: Mounted[] = [];

export interface Rendered {
  /** The element the component was mounted into. */
  target: HTMLElement;
  /** The first element with this data-testid; throws if none. */
  get(testid: string): HTMLElement;
  /** Every element with this data-testid (empty when none). */
  all(testid: string): HTMLElement[];
  /** The first element with this data-testid, or null. */
  query(testid: string): HTMLElement | null;
  unmount(): void;
}

export function render<Props extends Record<string, unknown>>(component: Component<Props>, props: Props): Rendered {
  const target = document.createElement('div');
  document.body.append(target);
  const instance = mount(component, { target, props }) as Record<string, unknown>;
  const entry = { target, instance };
  mounted.push(entry);
  flushSync();
  const query = (testid: string): HTMLElement | null => target.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
  return {
    target,
    query,
    get(testid) {
      const element = query(testid);
      if (!element) throw new Error(`No element with data-testid="${testid}" is on screen`);
      return element;
    },
    all: (testid) => [...target.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)],
    unmount() {
      const index = mounted.indexOf(entry);
      if (index >= 0) mounted.splice(index, 1);
      void unmount(instance);
      target.remove();
    },
  };
}

/** Unmounts every component `render` mounted (setup.ts calls it after each test). */
export function cleanup(): void {
  for (const { target, instance } of mounted.splice(0)) {
    void unmount(instance);
    target.remove();
  }
}

/** Lets pending promises (the fake bridge's answers) settle and Svelte apply what they changed. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    flushSync();
  }
}

/** Polls `check` (an assertion) until it stops throwing, for at most `timeout` ms. */
export async function waitFor<T>(check: () => T, timeout = 5000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    flushSync();
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** Clicks like a user: the event bubbles, then Svelte applies the state it changed. */
export function click(element: Element): void {
  (element as HTMLElement).click();
  flushSync();
}

/** Sets a select's or input's value and fires what a user's change fires. */
export function choose(element: Element, value: string): void {
  const field = element as HTMLInputElement | HTMLSelectElement;
  field.value = value;
  field.dispatchEvent(new Event('input', { bubbles: true }));
  field.dispatchEvent(new Event('change', { bubbles: true }));
  flushSync();
}

/** Ticks or unticks a checkbox as a click would. */
export function check(element: Element, checked: boolean): void {
  const box = element as HTMLInputElement;
  if (box.checked !== checked) box.click();
  flushSync();
}
