import type { GpuAdapterInfo } from '@shared/backend-report';
import { ApiError } from '@shared/errors';
import { tf } from '../engine/tf';
import type { BackendPlatform } from './platform';
import { setBackendExplained } from './set-backend';
import type { BackendStart } from './start';

/**
 * tfjs-backend-webgpu, on whatever GPU WebGPU offers (Dawn in Node: Vulkan, Metal or
 * D3D12 — any vendor).
 *
 * WEBGPU_MATMUL_PROGRAM_TYPE = 3 (MatMulPackedProgram) for every product: left on
 * automatic, 4.22 runs products with a long inner dimension through its split-K
 * program, which computes transposed-B products wrongly: [128,3136]×[16,3136]ᵀ, the
 * conv VAE's dense layer, is off by about 25 where values are about 17 (lavapipe).
 * The packed program is right for every shape we use (webgpu.test.ts checks that
 * exact product; the self-check's matmul probe checks it on the user's GPU).
 */
export const MATMUL_PACKED_PROGRAM = 3;

const NO_ADAPTER =
  'no WebGPU adapter: no GPU driver with Vulkan, Metal or D3D12 was found ' +
  '(install the GPU vendor’s driver; on Linux without a GPU, Mesa ≥ 25 lavapipe gives a ' +
  'software adapter, see docs/PERFORMANCE.md)';

/** Devices already watched: startWebGpu runs again whenever a selection tries webgpu. */
const watched = new WeakSet<GPUDevice>();

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function toAdapterInfo(info: Partial<Record<keyof GpuAdapterInfo, unknown>> | undefined): GpuAdapterInfo {
  return {
    vendor: text(info?.vendor),
    architecture: text(info?.architecture),
    device: text(info?.device),
    description: text(info?.description),
    isFallbackAdapter: info?.isFallbackAdapter === true,
  };
}

/** The device tfjs-backend-webgpu created (its WebGPUBackend keeps it public). */
const activeDevice = (): GPUDevice | undefined => (tf.backend() as { device?: GPUDevice }).device;

/** The adapter tfjs's device came from; older WebGPU builds lack GPUDevice.adapterInfo. */
function activeAdapterInfo(fallback: GpuAdapterInfo): GpuAdapterInfo {
  const info = activeDevice()?.adapterInfo as GPUAdapterInfo | undefined;
  return info === undefined ? fallback : toAdapterInfo(info);
}

/**
 * A WebGPU error outside an error scope — out of memory, an invalid command, a lost
 * device — arrives only as an event, and the commands it concerns silently do
 * nothing: tfjs (which installs no handler) would go on reading zeros or stale values.
 * The first such error is handed to `fail`; later ones add nothing.
 */
export function watchGpuErrors(device: GPUDevice, fail: (error: ApiError) => void): void {
  let failed = false;
  const report = (what: string): void => {
    if (failed) return;
    failed = true;
    fail(
      new ApiError('worker_failed', `The GPU reported ${what}; results after it cannot be trusted. Try a smaller batch or model, or force backend wasm.`, {
        field: 'backend',
      }),
    );
  };
  device.addEventListener('uncapturederror', (event) => {
    const { error } = event as GPUUncapturedErrorEvent;
    const kind = error.constructor.name === 'GPUOutOfMemoryError' ? 'out of memory' : error.constructor.name;
    report(`an error (${kind}): ${error.message.split('\n')[0] ?? ''}`);
  });
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') report(`that the device was lost: ${info.message}`);
  });
}

/** Fail the process loudly: an error thrown outside any caller ends the worker with it. */
const throwLater = (error: ApiError): void => {
  setTimeout(() => {
    throw error;
  });
};

/** Make webgpu the active backend, or say why it cannot be. No self-check here. */
export async function startWebGpu(platform: BackendPlatform): Promise<BackendStart> {
  const provided = await platform.provideWebGpu();
  if (!provided.ok) return { ok: false, loaded: false, reason: provided.reason, versions: {} };
  const versions = provided.versions;

  // Ask for the adapter first: with none, tfjs's own start fails with a bare TypeError.
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (adapter === null) return { ok: false, loaded: false, reason: NO_ADAPTER, versions };
  const requested = toAdapterInfo(adapter.info);

  // Registers the 'webgpu' backend only if navigator.gpu exists when it loads.
  await import('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu') === null) {
    const reason = 'tfjs-backend-webgpu did not register (navigator.gpu was missing when it loaded)';
    return { ok: false, loaded: false, reason, adapter: requested, versions };
  }
  tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', MATMUL_PACKED_PROGRAM);
  const started = await setBackendExplained('webgpu');
  if (!started.ok) {
    return { ok: false, loaded: false, reason: `could not start on the adapter: ${started.reason}`, adapter: requested, versions };
  }
  const device = activeDevice();
  if (device !== undefined && !watched.has(device)) {
    watched.add(device);
    watchGpuErrors(device, throwLater);
  }
  return { ok: true, notes: [], adapter: activeAdapterInfo(requested), versions };
}
