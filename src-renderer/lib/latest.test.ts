import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Latest } from './latest';
import { deferred } from '../test/deferred';

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('Latest', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(delayMs = 100) {
    const calls = new Map<number, ReturnType<typeof deferred<string>>>();
    const sent: number[] = [];
    const results: string[] = [];
    const errors: unknown[] = [];
    const pending: boolean[] = [];
    const latest = new Latest<number, string>(
      (input) => {
        sent.push(input);
        const call = deferred<string>();
        calls.set(input, call);
        return call.promise;
      },
      {
        result: (output) => results.push(output),
        error: (error) => errors.push(error),
        pending: (value) => pending.push(value),
      },
      delayMs,
    );
    return { latest, calls, sent, results, errors, pending };
  }

  it('sends only the last input of a burst, after the delay', async () => {
    const { latest, sent, calls, results } = setup();
    latest.request(1);
    vi.advanceTimersByTime(50);
    latest.request(2);
    vi.advanceTimersByTime(50);
    latest.request(3);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([3]);
    calls.get(3)!.resolve('three');
    await flush();
    expect(results).toEqual(['three']);
  });

  it('drops an older answer that arrives after a newer request was made', async () => {
    const { latest, calls, results, pending } = setup();
    latest.request(1, true);
    latest.request(2, true);
    calls.get(2)!.resolve('two');
    await flush();
    calls.get(1)!.resolve('one');
    await flush();
    expect(results).toEqual(['two']);
    // Busy until the newest answer came, and not flipped back by the stale one.
    expect(pending.at(-1)).toBe(false);
    expect(pending.filter((p) => !p)).toHaveLength(1);
  });

  it('reports errors of the newest request only', async () => {
    const { latest, calls, errors, results } = setup();
    latest.request(1, true);
    latest.request(2, true);
    calls.get(1)!.reject(new Error('stale failure'));
    calls.get(2)!.reject(new Error('current failure'));
    await flush();
    expect(results).toEqual([]);
    expect(errors).toEqual([new Error('current failure')]);
  });

  it('cancel forgets scheduled and in-flight requests', async () => {
    const { latest, calls, sent, results } = setup();
    latest.request(1, true);
    latest.request(2);
    latest.cancel();
    vi.advanceTimersByTime(500);
    expect(sent).toEqual([1]);
    calls.get(1)!.resolve('one');
    await flush();
    expect(results).toEqual([]);
  });
});
