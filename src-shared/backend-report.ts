import type { BackendName } from './config';

/**
 * What the training worker found out about each compute backend: shown on the run
 * page (backend + adapter) and printed by `vae-studio doctor`.
 */

/** GPUAdapterInfo as WebGPU reports it; a driver may leave any string empty. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU emulation of a GPU (Mesa lavapipe, SwiftShader, WARP), not a real one. */
  isFallbackAdapter: boolean;
}

export interface SelfCheckSummary {
  ok: boolean;
  /** Largest difference from cpu, relative to the scale of the value compared. */
  maxRelativeError: number;
  /** Where that difference was found, e.g. "conv 3:conv/enc/w" or "matmul A·Bᵀ". */
  worst: string;
  seconds: number;
}

export interface BackendStatus {
  backend: BackendName;
  /** Its library loaded and the tfjs backend initialised. */
  loaded: boolean;
  /** Absent for cpu (the reference) and for backends that did not load. */
  selfCheck?: SelfCheckSummary;
  /** The GPU it runs on (webgpu only). */
  adapter?: GpuAdapterInfo;
  /** Why it cannot be used; absent when it can. */
  rejected?: string;
  /** Limits of a usable backend (e.g. "single thread"). */
  notes: string[];
  /** Versions of the packages that make up this backend, by package name. */
  versions: Record<string, string>;
}

export interface BackendReport {
  /** The backend a run without a forced backend would train on. */
  chosen: BackendName | null;
  /** Every backend, in the order the worker tries them. */
  backends: BackendStatus[];
  /** Process facts: node, platform, arch, tfjs-core. */
  runtime: Record<string, string>;
}
