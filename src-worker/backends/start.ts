import type { GpuAdapterInfo } from '@shared/backend-report';

/** How starting one backend went, before the self-check. */
export type BackendStart =
  | { ok: true; notes: string[]; versions: Record<string, string>; adapter?: GpuAdapterInfo }
  | {
      ok: false;
      /** The library loaded and initialised, but the backend is unusable (e.g. no CUDA device). */
      loaded: boolean;
      reason: string;
      versions: Record<string, string>;
      adapter?: GpuAdapterInfo;
    };
