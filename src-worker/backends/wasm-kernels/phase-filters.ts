import type { tf } from '../../engine/tf';
import { isHeapBackend, type KernelBackendLike } from './kernel-utils';

/**
 * The per-phase filters of the sub-pixel Conv2DBackpropInput (see
 * conv2d-backprop-input.ts), built in one pass over the filter values instead of a
 * StridedSlice, Reverse and Transpose per phase: stock wasm StridedSlice alone took
 * ~1 ms on a 4×4×32×64 filter, most of a single-image decode.
 *
 * Phase (ry, rx) uses taps i = ρy + s·a (a < th), flipped, with the channel axes
 * swapped: sub[a][b][o][c] = W[ρy + s·(th−1−a)][ρx + s·(tw−1−b)][c][o], 0 past the filter.
 *
 * Results are cached by the filter's data (tfjs data never changes once written; a
 * variable update gets new data): decoding and evaluation reuse one set of weights
 * thousands of times, and the backend then also reuses its compiled convolutions,
 * which it keys by filter. Training misses once per weight update and call.
 */
export interface PhaseGeometry {
  kh: number;
  kw: number;
  /** dx channels (the filter's third axis). */
  inC: number;
  /** dy channels (the filter's fourth axis). */
  outC: number;
  stride: number;
  top: number;
  left: number;
}

interface Entry {
  dataId: object;
  key: string;
  filters: tf.TensorInfo[];
  backend: KernelBackendLike;
}

/** Two deconvolutions and one conv input-gradient per model: room for a few models. */
const CACHE_SIZE = 12;
const cache: Entry[] = [];

export function phaseFilters(backend: KernelBackendLike, filter: tf.TensorInfo, g: PhaseGeometry): tf.TensorInfo[] {
  const key = `${g.kh},${g.kw},${g.inC},${g.outC},${g.stride},${g.top},${g.left}`;
  const at = cache.findIndex((e) => e.dataId === filter.dataId && e.key === key && e.backend === backend);
  if (at >= 0) {
    const [hit] = cache.splice(at, 1);
    cache.unshift(hit!);
    return hit!.filters;
  }
  const filters = buildPhaseFilters(backend, filter, g);
  cache.unshift({ dataId: filter.dataId, key, filters, backend });
  while (cache.length > CACHE_SIZE) {
    const old = cache.pop()!;
    for (const f of old.filters) old.backend.disposeData(f.dataId);
  }
  return filters;
}

/**
 * On wasm the phases are written straight into heap memory allocated for them, read from
 * a view of the filter's (no copy out of the heap, no buffer per phase: training builds
 * them at every weight update, 16 a step for the medium 64×64×3 model, 3.4 MB of buffers
 * outside V8's heap that made it collect "for external memory pressure" — docs/PERFORMANCE.md,
 * gc27); elsewhere through a copy and a buffer per phase. The same values either way.
 */
function buildPhaseFilters(backend: KernelBackendLike, filter: tf.TensorInfo, g: PhaseGeometry): tf.TensorInfo[] {
  const { kh, kw, inC, outC, stride: s } = g;
  const th = Math.ceil(kh / s);
  const tw = Math.ceil(kw / s);
  const shape = [th, tw, outC, inC];
  const phases = s * s;
  if (isHeapBackend(backend)) {
    const out = Array.from({ length: phases }, () => backend.makeOutput(shape, 'float32'));
    // Views after every allocation: an allocation may grow (and so move) the heap.
    const w = backend.typedArrayFromHeap(filter) as Float32Array;
    out.forEach((info, p) => fillPhase(w, backend.typedArrayFromHeap(info) as Float32Array, p, g));
    return out;
  }
  const w = backend.readSync(filter.dataId) as Float32Array;
  return Array.from({ length: phases }, (_, p) => {
    const sub = new Float32Array(th * tw * outC * inC);
    fillPhase(w, sub, p, g);
    return { dataId: backend.write(sub, shape, 'float32'), shape, dtype: 'float32' as const };
  });
}

/** Phase p = ry·s + rx of filter values `w` into `sub` (every element written: 0 past the filter). */
function fillPhase(w: Float32Array, sub: Float32Array, p: number, g: PhaseGeometry): void {
  const { kh, kw, inC, outC, stride: s, top, left } = g;
  const th = Math.ceil(kh / s);
  const tw = Math.ceil(kw / s);
  const rhoY = (Math.floor(p / s) + top) % s;
  const rhoX = ((p % s) + left) % s;
  sub.fill(0);
  for (let a = 0; a < th; a++) {
    const i = rhoY + s * (th - 1 - a);
    if (i >= kh) continue;
    for (let b = 0; b < tw; b++) {
      const j = rhoX + s * (tw - 1 - b);
      if (j >= kw) continue;
      const src = (i * kw + j) * inC * outC;
      const dst = (a * tw + b) * outC * inC;
      for (let c = 0; c < inC; c++) {
        for (let o = 0; o < outC; o++) sub[dst + o * inC + c] = w[src + c * outC + o]!;
      }
    }
  }
}

/** Frees every cached filter (tests, backend switches). */
export function clearPhaseFilterCache(): void {
  for (const e of cache.splice(0)) for (const f of e.filters) e.backend.disposeData(f.dataId);
}
