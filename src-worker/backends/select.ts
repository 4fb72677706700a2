import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import type { BackendReport, BackendStatus, GpuAdapterInfo } from '@shared/backend-report';
import { backendNames, type BackendName } from '@shared/config';
import { ApiError } from '@shared/errors';
import { NATIVE_BACKEND, startNative } from './native';
import { browserPlatform, type BackendPlatform } from './platform';
import { gradientSelfCheck } from './self-check';
import { setBackendExplained } from './set-backend';
import type { BackendStart } from './start';
import { startWasm } from './wasm';
import { startWebGpu } from './webgpu';

/**
 * Backend choice, fastest first (DESIGN.md "Compute backend"). Each candidate either
 * starts and passes the gradient self-check against cpu, or says why not; the
 * reasons travel to the run record and to `vae-studio doctor`, so a user can see why
 * training is not on their GPU. Adding a backend means one entry in `candidates`.
 */
export interface BackendSelection {
  backend: BackendName;
  /** One line per backend tried and not used, then the chosen one's self-check and limits. */
  notes: string[];
  /** The GPU, when the backend is webgpu. */
  adapter?: GpuAdapterInfo;
}

export interface SelectOptions {
  /** Force this backend; failing it is an error instead of a fallback. */
  requested?: BackendName;
  /** How this process loads native code and WebGPU (default: a browser-like context). */
  platform?: BackendPlatform;
  /** Run the gradient self-check against cpu (default true). */
  selfCheck?: boolean;
  /**
   * Choose a CPU-emulated WebGPU adapter (lavapipe, SwiftShader) automatically. Off by
   * default: on the same CPU the wasm backend is several times faster (see
   * docs/PERFORMANCE.md). A forced `webgpu` always may use one.
   */
  allowFallbackAdapter?: boolean;
}

interface Candidate {
  /** The name tfjs knows the backend by. */
  tfjs: string;
  start(platform: BackendPlatform): Promise<BackendStart>;
}

const candidates: Record<BackendName, Candidate> = {
  webgpu: { tfjs: 'webgpu', start: startWebGpu },
  'tensorflow-gpu': { tfjs: NATIVE_BACKEND, start: (platform) => startNative(true, platform) },
  tensorflow: { tfjs: NATIVE_BACKEND, start: (platform) => startNative(false, platform) },
  wasm: { tfjs: 'wasm', start: startWasm },
  cpu: {
    tfjs: 'cpu',
    start: async () => {
      const versions = { '@tensorflow/tfjs-backend-cpu': version_cpu };
      const started = await setBackendExplained('cpu');
      return started.ok ? { ok: true, notes: [], versions } : { ok: false, loaded: false, reason: started.reason, versions };
    },
  },
};

export const backendOrder: readonly BackendName[] = backendNames;

const FALLBACK_ADAPTER =
  'the WebGPU adapter offered is a CPU emulation (software rasterizer), slower than wasm on the same CPU; ' +
  'not chosen automatically (a run can still force backend webgpu)';

/**
 * Start one backend and check it. `checkAll` (doctor) also runs the self-check on a
 * backend that policy rejects anyway, so the report says whether it computes right.
 */
async function tryBackend(name: BackendName, options: SelectOptions, checkAll: boolean): Promise<BackendStatus> {
  const candidate = candidates[name];
  const start = await candidate.start(options.platform ?? browserPlatform);
  const status: BackendStatus = {
    backend: name,
    loaded: start.ok || start.loaded,
    notes: start.ok ? start.notes : [],
    versions: start.versions,
    ...(start.adapter === undefined ? {} : { adapter: start.adapter }),
  };
  if (!start.ok) return { ...status, rejected: start.reason };

  const policy = start.adapter?.isFallbackAdapter === true && options.allowFallbackAdapter !== true ? FALLBACK_ADAPTER : undefined;
  if (policy !== undefined && !checkAll) return { ...status, rejected: policy };
  if (name !== 'cpu' && options.selfCheck !== false) {
    const check = await gradientSelfCheck(candidate.tfjs, 'cpu');
    const { ok, maxRelativeError, worst, seconds } = check;
    status.selfCheck = { ok, maxRelativeError, worst, seconds };
    if (!ok) {
      const error = maxRelativeError.toExponential(2);
      return { ...status, rejected: `failed the gradient self-check against cpu (${worst}: relative error ${error})` };
    }
  }
  return policy === undefined ? status : { ...status, rejected: policy };
}

function chosenNotes(status: BackendStatus): string[] {
  const check = status.selfCheck;
  const passed =
    check === undefined
      ? []
      : [`${status.backend}: self-check against cpu passed (relative error ${check.maxRelativeError.toExponential(1)}, ${check.seconds.toFixed(1)} s)`];
  return [...passed, ...status.notes];
}

const selection = (status: BackendStatus, notes: string[]): BackendSelection => ({
  backend: status.backend,
  notes,
  ...(status.adapter === undefined ? {} : { adapter: status.adapter }),
});

export async function selectBackend(options: SelectOptions = {}): Promise<BackendSelection> {
  if (options.requested !== undefined) {
    const status = await tryBackend(options.requested, { ...options, allowFallbackAdapter: true }, false);
    if (status.rejected !== undefined) {
      throw new ApiError(
        'invalid_input',
        `Backend '${options.requested}' cannot be used: ${status.rejected}. Leave backend empty to choose automatically.`,
        { field: 'backend' },
      );
    }
    return selection(status, [`${options.requested}: forced by the run config (no automatic choice)`, ...chosenNotes(status)]);
  }
  const notes: string[] = [];
  for (const name of backendOrder) {
    const status = await tryBackend(name, options, false);
    if (status.rejected === undefined) return selection(status, [...notes, ...chosenNotes(status)]);
    notes.push(`${name}: ${status.rejected}`);
  }
  throw new ApiError('worker_failed', `No compute backend could start: ${notes.join('; ')}`, { field: 'backend' });
}

/** Every backend's status, for `vae-studio doctor`; leaves some backend active. */
export async function probeBackends(options: Omit<SelectOptions, 'requested'> = {}): Promise<Omit<BackendReport, 'runtime'>> {
  const backends: BackendStatus[] = [];
  for (const name of backendOrder) backends.push(await tryBackend(name, options, true));
  return { chosen: backends.find((b) => b.rejected === undefined)?.backend ?? null, backends };
}
