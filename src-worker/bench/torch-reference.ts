import { execFileSync, spawnSync } from 'node:child_process';

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

export function torchAvailable(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

export function runTorchReference(script: string, args: string[]): TorchFigures {
  const out = execFileSync(PYTHON, [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as TorchFigures;
}
