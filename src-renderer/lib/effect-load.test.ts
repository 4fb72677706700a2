import { describe, expect, it } from 'vitest';
import { loadWhileCurrent } from './effect-load';
import { deferred } from '../test/deferred';

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('loadWhileCurrent', () => {
  it('applies the answer of a load that is still current', async () => {
    const load = deferred<string>();
    const applied: string[] = [];
    loadWhileCurrent(load.promise, (v) => applied.push(v), () => applied.push('failed'));
    load.resolve('run 1');
    await settle();
    expect(applied).toEqual(['run 1']);
  });

  it('drops the answer of a load whose effect re-ran or was destroyed, even when it comes last', async () => {
    const shown: string[] = [];
    const older = deferred<string>();
    const stop = loadWhileCurrent(older.promise, (v) => shown.push(v), () => shown.push('failed'));
    stop(); // the effect re-runs for another run
    const newer = deferred<string>();
    loadWhileCurrent(newer.promise, (v) => shown.push(v), () => shown.push('failed'));
    newer.resolve('run 2');
    await settle();
    older.resolve('run 1'); // the slow answer for the page shown before
    await settle();
    expect(shown).toEqual(['run 2']);
  });

  it('reports a failure only while current, and never leaves a rejection unhandled', async () => {
    const errors: unknown[] = [];
    const live = deferred<string>();
    loadWhileCurrent(live.promise, () => {}, (e) => errors.push(e));
    live.reject(new Error('no such run'));
    const gone = deferred<string>();
    loadWhileCurrent(gone.promise, () => {}, (e) => errors.push(e))();
    gone.reject(new Error('late'));
    await settle();
    expect(errors.map((e) => (e as Error).message)).toEqual(['no such run']);
  });

  it('hands an exception thrown while applying to fail, as .then().catch() would', async () => {
    const errors: unknown[] = [];
    loadWhileCurrent(
      Promise.resolve(1),
      () => {
        throw new Error('bad answer');
      },
      (e) => errors.push(e),
    );
    await settle();
    expect(errors.map((e) => (e as Error).message)).toEqual(['bad answer']);
  });
});
