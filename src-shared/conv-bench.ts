import measured from './conv-bench.json';
import type { ConvArchitecture } from './conv';

/**
 * Training speed of each conv architecture as `npm run bench:arch` measured it on one
 * machine (src-worker/bench/arch.ts writes conv-bench.json): the run form shows these
 * beside each preset, with the machine they came from. Never estimated: a size the bench
 * did not run shows the nearest one it did, saying which.
 */
export const CONV_BENCH_SIDES = [32, 64, 128] as const;
/** Batch, latent and hidden of the measured models (Gaussian decoder, RGB). */
export const CONV_BENCH_SPEC = { batch: 32, latent: 16, hidden: 256 } as const;

export interface ConvBench {
  /** CPU, cores and backend. */
  machine: string;
  /** Date (YYYY-MM-DD). */
  measured: string;
  /** The machine's 1-minute load average when the bench started (other work shares the cores). */
  loadAverage: number;
  batch: number;
  latent: number;
  hidden: number;
  rows: { arch: ConvArchitecture; side: number; imagesPerSec: number }[];
}

export const CONV_BENCH: ConvBench = measured as ConvBench;

/** The measured img/s of `arch` at the measured side nearest to `side` (by ratio), or null when it was not measured. */
export function measuredSpeed(arch: ConvArchitecture, side: number, bench: ConvBench = CONV_BENCH): { imagesPerSec: number; side: number } | null {
  const rows = bench.rows.filter((row) => row.arch === arch);
  if (rows.length === 0) return null;
  const best = rows.reduce((a, b) => (Math.abs(Math.log(b.side / side)) < Math.abs(Math.log(a.side / side)) ? b : a));
  return { imagesPerSec: best.imagesPerSec, side: best.side };
}
