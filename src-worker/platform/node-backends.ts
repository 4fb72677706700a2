import { createRequire } from 'node:module';
import type { BackendPlatform, Loaded, NativePackage } from '../backends/platform';
import { wasmBinaryDir } from '../io/wasm-files';

/**
 * The Node side of backend selection (see backends/platform.ts): Dawn's WebGPU from
 * the optional `webgpu` package, and TensorFlow's C library from tfjs-node(-gpu)
 * when the user installed one. Neither native tfjs package is a dependency: their
 * install step downloads libtensorflow (≈ 400 MB for the GPU build), which fails or
 * stalls offline and is wasted on every machine without CUDA 11.2 — so they are
 * loaded only when present.
 */
const load = createRequire(import.meta.url);

function versionOf(pkg: string): string | undefined {
  try {
    return (load(`${pkg}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Only the package itself missing counts as "not installed"; a missing piece inside it is a broken install. */
function isMissing(error: unknown, pkg: string): boolean {
  return (
    error instanceof Error &&
    (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' &&
    error.message.includes(`'${pkg}'`)
  );
}

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

let gpu: GPU | undefined;

/**
 * tfjs-backend-webgpu looks for `navigator.gpu`. Node 20 has no `navigator`, Node ≥ 21
 * (and Electron's utility process) has one without `gpu`; add to whichever is there.
 * Dawn's globals (GPUBufferUsage, GPUMapMode, …) are what browser code expects too.
 */
function installNavigatorGpu(dawn: DawnModule, instance: GPU): void {
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis)) Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
  }
  const existing = (globalThis as { navigator?: object }).navigator;
  if (existing !== undefined) Object.defineProperty(existing, 'gpu', { value: instance, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: instance }, configurable: true, writable: true });
}

async function provideWebGpu(): Promise<Loaded> {
  const versions: Record<string, string> = {};
  for (const pkg of ['webgpu', '@tensorflow/tfjs-backend-webgpu']) {
    const v = versionOf(pkg);
    if (v !== undefined) versions[pkg] = v;
  }
  if (gpu !== undefined) return { ok: true, versions };
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as DawnModule;
  } catch (error) {
    return {
      ok: false,
      reason: isMissing(error, 'webgpu')
        ? 'the optional `webgpu` package (Dawn) is not installed; `npm install` adds it on linux-x64/arm64, macOS and Windows'
        : `Dawn (the \`webgpu\` package) failed to load: ${message(error)}`,
    };
  }
  try {
    gpu = dawn.create([]);
  } catch (error) {
    return { ok: false, reason: `Dawn could not start: ${message(error)}` };
  }
  installNavigatorGpu(dawn, gpu);
  return { ok: true, versions };
}

async function loadNative(pkg: NativePackage): Promise<Loaded> {
  try {
    load(pkg);
  } catch (error) {
    if (isMissing(error, pkg)) {
      const hint = pkg === '@tensorflow/tfjs-node-gpu' ? ' (NVIDIA only: needs CUDA 11.2 and cuDNN 8.1)' : '';
      return { ok: false, reason: `${pkg} is not installed${hint}; \`npm install ${pkg}@4.22.0\` adds it` };
    }
    return { ok: false, reason: `${pkg} is installed but failed to load: ${message(error)}` };
  }
  const version = versionOf(pkg);
  return { ok: true, versions: version === undefined ? {} : { [pkg]: version } };
}

export function nodeBackendPlatform(): BackendPlatform {
  const wasmDir = wasmBinaryDir();
  return { provideWebGpu, loadNative, ...(wasmDir === undefined ? {} : { wasmDir }) };
}
