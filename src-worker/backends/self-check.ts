import type { ArchitectureKind } from '@shared/config';
import { tf } from '../engine/tf';
import { createRng, STREAM } from '../engine/random';
import { createVae } from '../model/create';
import { bernoulliDecoder, betaVaeObjective, gaussianKl, gaussianKlPerDim, reparameterize } from '../objectives/elbo';
import { matmulProbe } from './matmul-probe';

/**
 * "Never silently wrong": before a backend trains anything, one gradient of a tiny
 * VAE is computed on it and on the reference cpu backend from identical weights and
 * inputs, and compared. Catches missing or broken kernels (e.g. a wrong
 * Conv2DBackpropFilter) at start-up instead of as a mysteriously bad run.
 */
export interface SelfCheckResult {
  ok: boolean;
  /** Largest gradient difference relative to that gradient's scale. */
  maxRelativeError: number;
  /** Variable or value where the largest difference was found. */
  worst: string;
  seconds: number;
}

/**
 * Largest accepted difference, relative to the largest magnitude of the value compared
 * (max |candidate − cpu| / max |cpu|). Both sides are float32 but sum in different
 * orders, some GPUs fuse multiply-adds and WGSL lets exp/log be a few ULP off. The
 * longest sum here is the 3136-term probe product: its worst-case rounding is about
 * 3136 · 2⁻²⁴ ≈ 2·10⁻⁴ of the largest term; measured differences are 1.7·10⁻⁶ on both
 * wasm and lavapipe. 2·10⁻³ is ten times that worst case, while the failures this
 * exists for — a wrong or zeroed kernel, a missing term — are off by order one (the
 * split-K bug: 1.5).
 */
export const SELF_CHECK_TOLERANCE = 2e-3;

type Snapshot = Map<string, Float32Array>;

/**
 * Read back and free. Asynchronously: WebGPU in Node has no synchronous readback
 * (tfjs-backend-webgpu's dataSync needs a browser's OffscreenCanvas).
 */
export async function readAll(tensors: Record<string, tf.Tensor>): Promise<Snapshot> {
  const values: Snapshot = new Map();
  try {
    for (const [name, t] of Object.entries(tensors)) values.set(name, (await t.data()) as Float32Array);
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return values;
}

async function activate(backend: string): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} could not be initialized`);
}

async function gradientSnapshot(backend: string, kind: ArchitectureKind): Promise<Snapshot> {
  await activate(backend);
  const spec = { kind, image: { width: 8, height: 8, channels: 1 as const }, latent: 3, hidden: 12 };
  const model = createVae(spec, 7);
  try {
    const rng = createRng(7, STREAM.selfCheck);
    const n = 4;
    const xValues = new Float32Array(n * model.inputSize).map(() => rng.uniform());
    const epsValues = rng.normals(n * spec.latent);
    const tensors = tf.tidy(() => {
      const x = tf.tensor2d(xValues, [n, model.inputSize]);
      const eps = tf.tensor2d(epsValues, [n, spec.latent]);
      const decoder = bernoulliDecoder();
      const { value, grads } = tf.variableGrads(() => {
        const { mu, logVar } = model.encode(x);
        const output = model.decode(reparameterize(mu, logVar, eps));
        const parts = {
          logLikelihood: decoder.logLikelihood(x, output),
          kl: gaussianKl(mu, logVar),
          klPerDim: gaussianKlPerDim(mu, logVar),
        };
        return betaVaeObjective(parts, 1).loss;
      }, model.variables);
      const named: Record<string, tf.Tensor> = { loss: value };
      // Index by position: variable names carry a per-process counter.
      model.variables.forEach((v, i) => {
        const g = grads[v.name];
        if (g !== undefined) named[`${i}:${v.name.replace(/#\d+$/, '')}`] = g;
      });
      return named;
    });
    return await readAll(tensors);
  } finally {
    model.dispose();
  }
}

function compare(candidate: Snapshot, reference: Snapshot): Omit<SelfCheckResult, 'seconds'> {
  let maxRelativeError = 0;
  let worst = '';
  for (const [name, ref] of reference) {
    const got = candidate.get(name);
    if (got === undefined || got.length !== ref.length) return { ok: false, maxRelativeError: Infinity, worst: name };
    let scale = 0;
    for (const v of ref) scale = Math.max(scale, Math.abs(v));
    let diff = 0;
    for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs((got[i] ?? NaN) - (ref[i] ?? NaN)));
    const relative = Number.isNaN(diff) ? Infinity : diff / Math.max(scale, 1e-6);
    if (relative > maxRelativeError || Number.isNaN(relative)) {
      maxRelativeError = relative;
      worst = name;
    }
  }
  return { ok: maxRelativeError <= SELF_CHECK_TOLERANCE, maxRelativeError, worst };
}

const checks: { label: string; snapshot: (backend: string) => Promise<Snapshot> }[] = [
  { label: 'mlp ', snapshot: (backend) => gradientSnapshot(backend, 'mlp') },
  { label: 'conv ', snapshot: (backend) => gradientSnapshot(backend, 'conv') },
  { label: '', snapshot: async (backend) => (await activate(backend), readAll(matmulProbe())) },
];

/**
 * Compare `candidate` against `reference`: gradients of an MLP and a conv VAE, then
 * dense-layer products at full size. Stops at the first failure. Leaves `candidate`
 * as the active backend.
 */
export async function gradientSelfCheck(candidate: string, reference = 'cpu'): Promise<SelfCheckResult> {
  const started = performance.now();
  let result = { ok: true, maxRelativeError: 0, worst: '' };
  try {
    for (const check of checks) {
      const ref = await check.snapshot(reference);
      const got = await check.snapshot(candidate);
      const r = compare(got, ref);
      if (r.maxRelativeError >= result.maxRelativeError) result = { ...r, worst: `${check.label}${r.worst}` };
      if (!r.ok) break;
    }
  } finally {
    await tf.setBackend(candidate);
  }
  return { ...result, seconds: (performance.now() - started) / 1000 };
}
