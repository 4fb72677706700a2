import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendName } from '@shared/config';
import { CONV_PRESETS, type ConvPreset } from '@shared/conv';
import { generateShapes } from './arch-quality';
import { printScaled, type ScaledSpeedRow } from './report';
import {
  imageSplit,
  imagesFile,
  referencePlan,
  scaledInitialWeights,
  scaledQuality,
  scaledSameSteps,
  scaledThroughput,
  type ScaledQuality,
  type ScaledSetup,
} from './scaled-reference';
import { runTorchScript, type ScaledTorchFigures } from './torch-reference';

/**
 * The bench's scaled section: the conv preset with the discretized logistic mixture
 * decoder at 64×64×3 on generated RGB shapes (arch-quality.ts), beside the PyTorch
 * reference built from the same plan and weights — the same-steps check, img/s at 1 and
 * 2 threads each, test bits/dim after the same epochs with the same batch order and
 * noise — and img/s at 128×128×3. One measurement at a time: ours, then the reference.
 */
export interface ScaledBenchOptions {
  preset: ConvPreset;
  mixture: number;
  batch: number;
  latent: number;
  hidden: number;
  train: number;
  test: number;
  epochs: number;
  k: number;
  seconds: number;
  /** Thread counts of the speed rows (each side gets the same). */
  threads: number[];
  /** Also 128×128×3 speed. */
  large: boolean;
  quality: boolean;
  /** The reference script, or null when PyTorch is not there (our figures alone). */
  script: string | null;
  backend: BackendName;
}

const CHECK_STEPS = 3;
const bytesOf = (a: Int32Array | Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export async function scaledBench(o: ScaledBenchOptions): Promise<void> {
  const setupAt = (side: number): ScaledSetup => ({
    image: { width: side, height: side, channels: 3 },
    preset: o.preset,
    latent: o.latent,
    hidden: o.hidden,
    mixture: o.mixture,
    batch: o.batch,
  });
  const at64 = setupAt(64);
  const plan64 = referencePlan(at64);
  const design = CONV_PRESETS[o.preset];
  const notes: string[] = [];
  const load = loadavg().map((v) => v.toFixed(1)).join(' ');
  const train = Math.max(o.train, CHECK_STEPS * o.batch);
  const data = imageSplit(at64.image, generateShapes(train, 64, 1), generateShapes(o.test, 64, 2));

  const same = await scaledSameSteps(at64, data, CHECK_STEPS);
  const quality: ScaledQuality | null = o.quality ? await scaledQuality(at64, data, o.epochs, o.k) : null;

  const work = mkdtempSync(join(tmpdir(), 'vae-bench-scaled-'));
  let torch64: ScaledTorchFigures | null = null;
  let torch128: ScaledTorchFigures | null = null;
  try {
    const file = (name: string, bytes: Uint8Array | string): string => {
      const path = join(work, name);
      writeFileSync(path, bytes);
      return path;
    };
    if (o.script !== null) {
      const common = ['--batch', String(o.batch), '--seconds', String(o.seconds), '--threads', '1'];
      const sections = ['check', 'throughput', ...(quality ? ['quality'] : [])].join(',');
      console.log(`PyTorch: the scaled reference at 64×64×3 (${sections})…`);
      torch64 = runTorchScript<ScaledTorchFigures>(o.script, [
        ...common,
        '--scaled', file('plan64.json', JSON.stringify(plan64)),
        '--init', file('init64.json', JSON.stringify(scaledInitialWeights(at64))),
        '--data', file('images64.bin', imagesFile(data)),
        '--eps', file('check-eps.f32', bytesOf(same.eps)),
        '--check-steps', String(CHECK_STEPS),
        '--epochs', String(o.epochs),
        '--k', String(o.k),
        ...(quality ? ['--replay-order', file('order.i32', bytesOf(quality.orders)), '--replay-eps', file('eps.f32', bytesOf(quality.eps))] : []),
        '--sections', sections,
      ]);
      if (o.large) {
        console.log('PyTorch: the scaled reference at 128×128×3 (throughput)…');
        const at128 = setupAt(128);
        torch128 = runTorchScript<ScaledTorchFigures>(o.script, [
          ...common,
          '--scaled', file('plan128.json', JSON.stringify(referencePlan(at128))),
          '--init', file('init128.json', JSON.stringify(scaledInitialWeights(at128))),
          '--sections', 'throughput',
        ]);
      }
    } else {
      notes.push('PyTorch reference: not available (/usr/bin/python3 cannot import torch; apt-get install python3-torch) or skipped (--no-torch).');
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  if (o.quality && train < 2000) {
    notes.push(`${train} training images (fewer than the few thousand of the issue's target, to keep this run to a few minutes): --scaled-train 3000 --scaled-epochs 3 for more.`);
  }
  const speed: ScaledSpeedRow[] = [];
  const torchAt = (figures: ScaledTorchFigures | null, threads: number): number | undefined =>
    threads === 1 ? figures?.imgPerSec1Thread : threads === 2 ? figures?.imgPerSec2Threads : undefined;
  for (const [side, figures] of [[64, torch64], ...(o.large ? [[128, torch128] as const] : [])] as const) {
    for (const threads of o.threads) {
      // Threads split wasm training; another backend trains on its own kernels.
      const ours = threads === 1 || o.backend === 'wasm' ? await scaledThroughput(setupAt(side), threads, o.seconds) : null;
      speed.push({ label: `${side}×${side}×3`, threads, ours, torch: torchAt(figures, threads), target: side === 64 });
    }
  }
  if (o.backend !== 'wasm' && o.threads.some((t) => t > 1)) notes.push(`app rows with more than 1 thread: not measured (the automatic backend is ${o.backend}; threads split wasm training)`);
  notes.push(
    `app: ${o.backend}, ${o.threads.filter((t) => t > 1).length > 0 ? 'more than 1 thread = data-parallel replicas (one wasm thread each)' : '1 thread'}; ` +
      `PyTorch: torch.set_num_threads(n), its own intra-op threads. Load average at the start: ${load}.`,
  );
  printScaled({
    title:
      `Scaled conv VAE at 64×64×3: preset ${o.preset} (stages ${plan64.plan.channels.join('→')} channels, ${design.norm === 'layer' ? 'layer norm, ' : ''}` +
      `${design.resBlocks} residual block${design.resBlocks === 1 ? '' : 's'} each side), latent ${o.latent}, hidden ${o.hidden}, discretized logistic ` +
      `${o.mixture === 1 ? '' : `mixture of ${o.mixture} `}decoder, batch ${o.batch}, Adam 1e-3; generated RGB shapes, ${train} train / ${o.test} test`,
    same: { ours: same.losses, torch: torch64?.sameSteps },
    speed,
    quality: quality ? { ours: quality, torch: torch64?.quality, recipe: `${o.epochs} epoch${o.epochs === 1 ? '' : 's'} from identical weights, k = ${o.k}, ${o.test} test images` } : null,
    notes,
  });
}
