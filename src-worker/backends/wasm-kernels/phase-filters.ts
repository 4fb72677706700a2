import type { tf } from '../../engine/tf';
import type { KernelBackendLike } from './kernel-utils';

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

function buildPhaseFilters(backend: KernelBackendLike, filter: tf.TensorInfo, g: PhaseGeometry): tf.TensorInfo[] {
  const { kh, kw, inC, outC, stride: s, top, left } = g;
  const w = backend.readSync(filter.dataId) as Float32Array;
  const th = Math.ceil(kh / s);
  const tw = Math.ceil(kw / s);
  const out: tf.TensorInfo[] = [];
  for (let ry = 0; ry < s; ry++) {
    for (let rx = 0; rx < s; rx++) {
      const rhoY = (ry + top) % s;
      const rhoX = (rx + left) % s;
      const sub = new Float32Array(th * tw * outC * inC);
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
      const shape = [th, tw, outC, inC];
      out.push({ dataId: backend.write(sub, shape, 'float32'), shape, dtype: 'float32' });
    }
  }
  return out;
}

/** Frees every cached filter (tests, backend switches). */
export function clearPhaseFilterCache(): void {
  for (const e of cache.splice(0)) for (const f of e.filters) e.backend.disposeData(f.dataId);
}
