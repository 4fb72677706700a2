import { describe, expect, it } from 'vitest';
import { LruCache } from './lru';

describe('LruCache', () => {
  it('evicts the least recently used entry', () => {
    const cache = new LruCache<number, string>(2);
    cache.set(1, 'a');
    cache.set(2, 'b');
    expect(cache.get(1)).toBe('a');
    cache.set(3, 'c');
    expect(cache.get(2)).toBeUndefined();
    expect(cache.get(1)).toBe('a');
    expect(cache.get(3)).toBe('c');
    expect(cache.size).toBe(2);
  });

  it('loads a key once for callers that ask while it is in flight, then serves it from memory', async () => {
    const cache = new LruCache<number, string>(4);
    let loads = 0;
    const load = async (key: number) => {
      loads++;
      return `image ${key}`;
    };
    const [a, b] = await Promise.all([cache.load(7, load), cache.load(7, load)]);
    expect([a, b]).toEqual(['image 7', 'image 7']);
    expect(await cache.load(7, load)).toBe('image 7');
    expect(loads).toBe(1);
  });

  it('does not keep failures', async () => {
    const cache = new LruCache<number, string>(4);
    await expect(cache.load(1, () => Promise.reject(new Error('worker gone')))).rejects.toThrow('worker gone');
    expect(await cache.load(1, async () => 'ok')).toBe('ok');
  });
});
