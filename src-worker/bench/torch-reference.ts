import { spawnSync } from 'node:child_process';

/**
 * The PyTorch reference (scripts/torch_vae_reference.py), run with Debian's
 * python3-torch (/usr/bin/python3 — another Python on PATH may lack torch). Absent
 * torch is a note in the output, not a failure: the bench then prints our figures alone.
 */
export interface TorchModelFigures {
  imgPerSec1Thread?: number;
  imgPerSec2Threads?: number;
  /** img/s by thread count (`--thread-counts`): PyTorch's scaling curve. */
  imgPerSecByThreads?: Record<string, number>;
  decodeMs?: number;
  quality?: { nll: number; trainSeconds: number };
  /** The same, replaying the engine's batch order and noise. */
  qualityReplay?: { nll: number; trainSeconds: number };
}

export interface TorchFigures {
  torch: string;
  conv: TorchModelFigures;
  mlp: TorchModelFigures;
  /** Losses of the first steps from identical weights, batches and noise. */
  sameSteps?: number[];
}

export const PYTHON = process.env['VAE_BENCH_PYTHON'] ?? '/usr/bin/python3';

/** This environment without OPENBLAS_CORETYPE: a core type forced for another BLAS build can stop Debian's OpenBLAS from loading. */
export function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  return env;
}

export function torchAvailable(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env: pythonEnv() });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

/** Runs the reference script and parses the JSON object it prints last; a failure throws with what the script said. */
export function runTorchScript<T>(script: string, args: string[]): T {
  const run = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20, env: pythonEnv() });
  if (run.stderr) process.stderr.write(run.stderr);
  if (run.status !== 0) throw new Error(`${script} failed (${run.error?.message ?? `exit ${run.status ?? run.signal}`}): ${run.stderr.trim().split('\n').at(-1) ?? ''}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}

export function runTorchReference(script: string, args: string[]): TorchFigures {
  return runTorchScript<TorchFigures>(script, args);
}

/** What the reference prints for the scaled conv VAE with a logistic mixture decoder (--scaled). */
export interface ScaledTorchFigures {
  torch: string;
  sameSteps?: number[];
  imgPerSec1Thread?: number;
  imgPerSec2Threads?: number;
  quality?: { bitsPerDim: number; trainSeconds: number; evalSeconds: number; lastLoss: number };
}
