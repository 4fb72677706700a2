import type { ModelKind } from '@shared/config';
import { tf } from '../engine/tf';
import { createRng, STREAM } from '../engine/random';
import { createVae } from '../model/create';
import { bernoulliDecoder, betaVaeObjective, gaussianKl, gaussianKlPerDim, reparameterize } from '../objectives/elbo';

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
}

const TOLERANCE = 2e-3;

interface Snapshot {
  values: Map<string, Float32Array>;
}

async function gradientSnapshot(backend: string, kind: ModelKind): Promise<Snapshot> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} could not be initialized`);
  const spec = { kind, image: { width: 8, height: 8, channels: 1 as const }, latent: 3, hidden: 12 };
  const model = createVae(spec, 7);
  try {
    const rng = createRng(7, STREAM.selfCheck);
    const n = 4;
    const xValues = new Float32Array(n * model.inputSize).map(() => rng.uniform());
    const epsValues = rng.normals(n * spec.latent);
    const values = new Map<string, Float32Array>();
    tf.tidy(() => {
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
      values.set('loss', value.dataSync() as Float32Array);
      // Index by position: variable names carry a per-process counter.
      model.variables.forEach((v, i) => {
        const g = grads[v.name];
        if (g !== undefined) values.set(`${i}:${v.name.replace(/#\d+$/, '')}`, g.dataSync() as Float32Array);
      });
    });
    return { values };
  } finally {
    model.dispose();
  }
}

function compare(candidate: Snapshot, reference: Snapshot): SelfCheckResult {
  let maxRelativeError = 0;
  let worst = '';
  for (const [name, ref] of reference.values) {
    const got = candidate.values.get(name);
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
  return { ok: maxRelativeError <= TOLERANCE, maxRelativeError, worst };
}

/**
 * Compare `candidate` against `reference` on both model kinds. Leaves `candidate`
 * as the active backend.
 */
export async function gradientSelfCheck(candidate: string, reference = 'cpu'): Promise<SelfCheckResult> {
  let result: SelfCheckResult = { ok: true, maxRelativeError: 0, worst: '' };
  try {
    for (const kind of ['mlp', 'conv'] as const) {
      const ref = await gradientSnapshot(reference, kind);
      const got = await gradientSnapshot(candidate, kind);
      const r = compare(got, ref);
      if (r.maxRelativeError >= result.maxRelativeError) result = { ...r, worst: `${kind} ${r.worst}` };
      if (!r.ok) break;
    }
  } finally {
    await tf.setBackend(candidate);
  }
  return result;
}
