import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { ApiError } from '@shared/errors';
import type { BackendName } from '@shared/config';
import { tf } from '../engine/tf';
import { gradientSelfCheck } from './self-check';
import { registerWasmKernels } from './wasm-kernels/register';

/**
 * Backend choice, fastest first (DESIGN.md "Compute backend"). Each candidate either
 * becomes the active tfjs backend or says why not; the reasons travel to the run
 * record so the user can see why training is not on the GPU. Adding a backend means
 * adding one entry to `candidates`.
 */
export interface BackendSelection {
  backend: BackendName;
  /** One line per backend tried and not used (and limits of the chosen one). */
  notes: string[];
}

export interface SelectOptions {
  /** Force this backend; failing it is an error instead of a fallback. */
  requested?: BackendName;
  /** Folder holding tfjs-backend-wasm's .wasm files (with trailing slash). */
  wasmDir?: string;
  /** Run the gradient self-check against cpu (default true). */
  selfCheck?: boolean;
}

type Attempt = { ok: true; notes: string[] } | { ok: false; reason: string };
type Candidate = (options: SelectOptions) => Promise<Attempt>;

/**
 * tf.setBackend reports failure only as `false` and prints the cause with
 * console.warn; capture those lines so the note can say what went wrong.
 */
async function setBackendExplained(name: string): Promise<Attempt> {
  const warnings: string[] = [];
  const originalWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  };
  try {
    const ok = await tf.setBackend(name);
    return ok ? { ok: true, notes: [] } : { ok: false, reason: warnings.join('; ') || 'initialization failed' };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    console.warn = originalWarn;
  }
}

const unavailable =
  (reason: string): Candidate =>
  () =>
    Promise.resolve({ ok: false, reason });

const candidates: Record<BackendName, Candidate> = {
  webgpu: unavailable('not available in this build (no WebGPU backend is bundled yet)'),
  'tensorflow-gpu': unavailable('@tensorflow/tfjs-node-gpu is not installed'),
  tensorflow: unavailable('@tensorflow/tfjs-node is not installed'),
  wasm: async (options) => {
    if (options.wasmDir !== undefined) setWasmPaths(options.wasmDir);
    registerWasmKernels('wasm');
    const init = await setBackendExplained('wasm');
    if (!init.ok) return init;
    if (options.selfCheck !== false) {
      const check = await gradientSelfCheck('wasm', 'cpu');
      if (!check.ok) {
        return {
          ok: false,
          reason: `failed the gradient self-check against cpu (${check.worst}: relative error ${check.maxRelativeError.toExponential(2)})`,
        };
      }
    }
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return {
      ok: true,
      notes: [`wasm: ${simd ? 'SIMD' : 'no SIMD'}, single thread (tfjs-backend-wasm has no thread support under Node)`],
    };
  },
  cpu: () => setBackendExplained('cpu'),
};

export const backendOrder: readonly BackendName[] = ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export async function selectBackend(options: SelectOptions = {}): Promise<BackendSelection> {
  if (options.requested !== undefined) {
    const attempt = await candidates[options.requested](options);
    if (!attempt.ok) {
      throw new ApiError(
        'invalid_input',
        `Backend '${options.requested}' cannot be used: ${attempt.reason}. Leave backend empty to choose automatically.`,
        { field: 'backend' },
      );
    }
    const forced = `${options.requested}: forced by the run config (no automatic choice)`;
    return { backend: options.requested, notes: [forced, ...attempt.notes] };
  }
  const notes: string[] = [];
  for (const name of backendOrder) {
    const attempt = await candidates[name](options);
    if (attempt.ok) return { backend: name, notes: [...notes, ...attempt.notes] };
    notes.push(`${name}: ${attempt.reason}`);
  }
  throw new ApiError('worker_failed', `No compute backend could start: ${notes.join('; ')}`, { field: 'backend' });
}
