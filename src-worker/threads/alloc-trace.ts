/**
 * Where a thread allocates memory outside V8's heap (`VAE_ALLOC_TRACE=1`, with
 * `VAE_STEP_TRACE=1`: `node scripts/bench-trace.mjs`). Every ArrayBuffer that JavaScript
 * creates of at least 64 KiB — `new Float32Array(n)`, `Float32Array.from`, a typed
 * array's `slice()`, `new ArrayBuffer(n)` — is counted by the call site that made it,
 * so a replica can say what a step allocates: the buffers that, piling up, make V8
 * collect the whole heap "for external memory pressure". Buffers a message brings are
 * counted by `process.memoryUsage().arrayBuffers`, not here. Off (the default), nothing
 * is patched.
 */
import { writeSync } from 'node:fs';

export const allocTraceOn = process.env['VAE_ALLOC_TRACE'] === '1';

const LEAST = 64 * 1024;
const sites = new Map<string, { count: number; bytes: number }>();

function site(): string {
  const stack = new Error().stack ?? '';
  return stack
    .split('\n')
    .slice(3, 7)
    .map((line) => line.trim().replace(/^at /, '').replace(/\(?file:\/\/[^)]*\/(out|node_modules)\//, '($1/'))
    .join(' < ');
}

function count(bytes: number): void {
  if (!(bytes >= LEAST)) return;
  const key = site();
  const entry = sites.get(key) ?? { count: 0, bytes: 0 };
  entry.count++;
  entry.bytes += bytes;
  sites.set(key, entry);
}

function byteLength(args: unknown[], bytesPer: number): number {
  const first = args[0];
  if (typeof first === 'number') return first * bytesPer;
  if (first instanceof ArrayBuffer || first instanceof SharedArrayBuffer) return 0; // a view, no allocation
  if (first !== null && typeof first === 'object' && 'length' in first) return Number((first as { length: number }).length) * bytesPer;
  return 0;
}

/** Patches the typed array constructors of this thread (once). */
export function startAllocTrace(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  for (const name of ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array', 'Uint32Array', 'Int8Array', 'Uint16Array', 'Int16Array']) {
    const original = g[name] as { BYTES_PER_ELEMENT: number; prototype: object } & (new (...args: unknown[]) => object);
    const per = original.BYTES_PER_ELEMENT;
    const proxy: unknown = new Proxy(original, {
      construct(target, args, newTarget) {
        count(byteLength(args, per));
        return Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as object;
      },
    });
    g[name] = proxy;
  }
  type Slice = (this: unknown, begin?: number, end?: number) => { byteLength: number };
  const typedProto = Object.getPrototypeOf(Float32Array.prototype) as { slice: Slice };
  const slice = typedProto.slice;
  typedProto.slice = function (this: unknown, begin?: number, end?: number) {
    const result = slice.call(this, begin, end);
    count(result.byteLength);
    return result;
  };
  const OriginalBuffer = ArrayBuffer;
  const bufferProxy: unknown = new Proxy(OriginalBuffer, {
    construct(target, args, newTarget) {
      count(Number(args[0] ?? 0));
      return Reflect.construct(target, args, newTarget === bufferProxy ? target : newTarget) as object;
    },
  });
  g['ArrayBuffer'] = bufferProxy;
  const bufferSlice = OriginalBuffer.prototype.slice;
  OriginalBuffer.prototype.slice = function (this: ArrayBuffer, begin?: number, end?: number) {
    const result = bufferSlice.call(this, begin, end);
    count(result.byteLength);
    return result;
  };
}

/** Writes the sites counted since the last report (per step: divided by `steps`) to stderr, and forgets them. */
export function reportAllocs(label: string, steps: number): void {
  const rows = [...sites.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
  const total = rows.reduce((sum, [, e]) => sum + e.bytes, 0);
  const lines = [`${label}: ${(total / steps / 2 ** 20).toFixed(1)} MiB a step in buffers ≥ 64 KiB, by site (count, MiB a step):`];
  for (const [key, e] of rows) lines.push(`  ${(e.count / steps).toFixed(1).padStart(6)} ${(e.bytes / steps / 2 ** 20).toFixed(2).padStart(8)}  ${key}`);
  const mem = process.memoryUsage();
  lines.push(`  arrayBuffers now ${(mem.arrayBuffers / 2 ** 20).toFixed(1)} MiB, external ${(mem.external / 2 ** 20).toFixed(1)} MiB`);
  writeSync(2, `${lines.join('\n')}\n`);
  sites.clear();
}
