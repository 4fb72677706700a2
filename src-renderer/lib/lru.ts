/**
 * A small least-recently-used cache of answers by key, which also shares one request
 * between callers asking for the same key while it is in flight (the latent map asks
 * for the image under the pointer on every move).
 */
export class LruCache<K, V> {
  readonly #max: number;
  readonly #values = new Map<K, V>();
  readonly #inFlight = new Map<K, Promise<V>>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  get size(): number {
    return this.#values.size;
  }

  get(key: K): V | undefined {
    const value = this.#values.get(key);
    if (value === undefined) return undefined;
    // Map keeps insertion order: re-inserting marks it most recent.
    this.#values.delete(key);
    this.#values.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.#values.delete(key);
    this.#values.set(key, value);
    while (this.#values.size > this.#max) this.#values.delete(this.#values.keys().next().value as K);
  }

  /** The cached value, else `load(key)`, called once however many ask meanwhile. Failures are not kept. */
  load(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const promise = load(key).then(
      (value) => {
        this.#inFlight.delete(key);
        this.set(key, value);
        return value;
      },
      (error: unknown) => {
        this.#inFlight.delete(key);
        throw error;
      },
    );
    this.#inFlight.set(key, promise);
    return promise;
  }

  clear(): void {
    this.#values.clear();
    this.#inFlight.clear();
  }
}
