import { mulberry32Stream } from '@shared/random';

/**
 * Every random number the engine draws comes from here, never from tf.random*: a
 * JS-side generator gives the same stream on every backend, so a seed reproduces a
 * run and the backend self-check can compare backends on identical inputs.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** `n` standard normal draws, scaled by `std`. */
  normals(n: number, std?: number): Float32Array;
  /** Where the stream is, for checkpoints: restoring it replays the same draws. */
  getState(): RngState;
  setState(state: RngState): void;
}

export interface RngState {
  /** mulberry32's 32-bit state. */
  word: number;
  /** Box–Muller's second value, not yet handed out. */
  spare: number | null;
}

/** Independent streams per purpose, so e.g. changing the batch size leaves init alone. */
export const STREAM = {
  init: 0x1f1e,
  shuffle: 0x5f0f,
  noise: 0x3a7c,
  prior: 0x9e37,
  validation: 0x7ab1,
  selfCheck: 0x6c8b,
  /** Denoising corruption of encoder inputs. */
  corrupt: 0x2d4f,
  /** Dataset health scoring: its ELBO and IWAE samples, and the label check's folds and order. */
  health: 0x4ea1,
  labelCheck: 0x4ea2,
  /** Importance samples and dequantization noise of the IWAE evaluation. */
  iwae: 0x4b1d,
  /** The probe that prices a budgeted IWAE bound (its draws never reach the figure). */
  iwaeProbe: 0x4b1e,
  /** M2: the classifier's initial weights, which labels are kept, the labelled batches' order. */
  classifierInit: 0x0c1a,
  labelled: 0x1abe,
  /** The initial weights of an IAF posterior's steps. */
  flowInit: 0x1af0,
} as const;

export function createRng(seed: number, stream = 0): Rng {
  const generator = mulberry32Stream((Math.imul(seed >>> 0, 0x9e3779b1) ^ stream) >>> 0);
  const uniform = generator.next;
  let spare: number | null = null;
  // Box–Muller; the second value of each pair is kept for the next call.
  const normal = (): number => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    let u = uniform();
    while (u <= Number.MIN_VALUE) u = uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  return {
    uniform,
    normal,
    normals(n, std = 1) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = normal() * std;
      return out;
    },
    getState: () => ({ word: generator.state, spare }),
    setState(state) {
      generator.state = state.word;
      spare = state.spare;
    },
  };
}

/**
 * A stream that hands out recorded draws: `normals(n)` answers the next array of
 * `draws` (which must hold n values), so a computation given it reads exactly the
 * numbers the recording stream gave, on whichever thread it runs. Only `normals`.
 */
export function replayNormals(draws: readonly Float32Array[]): Rng {
  let next = 0;
  const refuse = (): never => {
    throw new Error('a replayed stream only answers normals()');
  };
  return {
    uniform: refuse,
    normal: refuse,
    normals(n, std = 1) {
      const values = draws[next++];
      if (values === undefined || values.length !== n || std !== 1) {
        throw new Error(`replayed draw ${next} has ${values?.length ?? 'no'} values, ${n} were asked for`);
      }
      return values;
    },
    getState: refuse,
    setState: refuse,
  };
}
