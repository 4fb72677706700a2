/**
 * What backend selection needs from the process it runs in. The numeric engine must
 * also run in a browser worker, so everything that loads native code or touches the
 * file system is behind this interface: the Node worker passes
 * src-worker/platform/node-backends.ts, a browser needs none of it.
 */
export type Loaded = { ok: true; versions: Record<string, string> } | { ok: false; reason: string };

/** Packages that register tfjs's native 'tensorflow' backend (TensorFlow C library). */
export type NativePackage = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';

export interface BackendPlatform {
  /**
   * Make `navigator.gpu` exist before tfjs-backend-webgpu is loaded (it registers
   * itself only when it does). Node: Dawn through the `webgpu` package.
   */
  provideWebGpu(): Promise<Loaded>;
  /** Load a native tfjs package if it is installed. */
  loadNative(pkg: NativePackage): Promise<Loaded>;
  /** Folder holding tfjs-backend-wasm's .wasm files (with trailing slash). */
  wasmDir?: string;
}

/** A browser-like context: WebGPU only if the page has it, no native TensorFlow. */
export const browserPlatform: BackendPlatform = {
  provideWebGpu: () =>
    Promise.resolve(
      typeof navigator !== 'undefined' && 'gpu' in navigator && navigator.gpu !== undefined
        ? { ok: true, versions: {} }
        : { ok: false, reason: 'this process has no WebGPU (navigator.gpu is missing)' },
    ),
  loadNative: (pkg) => Promise.resolve({ ok: false, reason: `${pkg} cannot load outside Node` }),
};
