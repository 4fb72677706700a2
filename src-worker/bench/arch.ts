import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convDesignOf, runConfigSchema, type RunConfig, type RunConfigInput } from '@shared/config';
import { convArchitectures, type ConvArchitecture } from '@shared/conv';
import { CONV_BENCH_SIDES, CONV_BENCH_SPEC, type ConvBench } from '@shared/conv-bench';
import { modelParameterCount } from '@shared/model-size';
import { selectBackend } from '../backends/select';
import { createRng } from '../engine/random';
import { nodeBackendPlatform } from '../platform/node-backends';
import { VaeTrainer } from '../train/trainer';
import { archQuality } from './arch-quality';

/**
 * `npm run bench:arch`: training img/s of every conv architecture (classic and the scaled
 * presets) at 32, 64 and 128 px RGB on this machine, with the backend the app would
 * choose, written to src-shared/conv-bench.json: the figures the run form shows beside
 * each preset, with the machine they came from. `--quality S`: also train medium and
 * classic for S seconds each on generated 64×64 RGB shapes and print their test bits/dim.
 */
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    out: { type: 'string', default: resolve('src-shared/conv-bench.json') },
    /** Seconds of training per model for the quality comparison (0: none). */
    quality: { type: 'string', default: '0' },
    /** The quality comparison's models: a JSON array of run-config patches (default classic and medium). */
    'quality-configs': { type: 'string', default: '[{"convArch":"classic"},{"convArch":"medium"}]' },
    'no-speed': { type: 'boolean', default: false },
  },
});

const configOf = (arch: ConvArchitecture): RunConfig =>
  runConfigSchema.parse({ model: 'conv', convArch: arch, decoder: 'gaussian', decoderVariance: 'global', latent: CONV_BENCH_SPEC.latent, hidden: CONV_BENCH_SPEC.hidden });

async function imagesPerSecond(arch: ConvArchitecture, side: number, seconds: number): Promise<number> {
  const config = configOf(arch);
  const image = { width: side, height: side, channels: 3 as const };
  const t = new VaeTrainer({ kind: 'conv', image, latent: config.latent, hidden: config.hidden, conv: convDesignOf(config) }, config);
  try {
    const n = CONV_BENCH_SPEC.batch;
    const rng = createRng(7);
    const x = Float32Array.from({ length: n * side * side * 3 }, () => rng.uniform());
    await t.step(x, n); // kernels, Adam's first allocation
    let steps = 0;
    const t0 = performance.now();
    while (steps === 0 || performance.now() - t0 < seconds * 1000) {
      await t.step(x, n);
      steps++;
    }
    return (steps * n * 1000) / (performance.now() - t0);
  } finally {
    t.dispose();
  }
}

async function main(): Promise<void> {
  const backend = await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  const cores = cpus();
  const machine = `${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores, ${backend.backend} backend`;
  const loadAverage = Math.round(loadavg()[0]! * 10) / 10;
  console.log(`conv architectures on ${machine} (load average ${loadAverage})`);
  if (!args['no-speed']) {
    const rows: ConvBench['rows'] = [];
    for (const side of CONV_BENCH_SIDES) {
      for (const arch of convArchitectures) {
        const config = configOf(arch);
        const imagesPerSec = await imagesPerSecond(arch, side, Number(args.seconds));
        const params = modelParameterCount({ kind: 'conv', image: { width: side, height: side, channels: 3 }, latent: config.latent, hidden: config.hidden, conv: convDesignOf(config) });
        rows.push({ arch, side, imagesPerSec: Math.round(imagesPerSec * 10) / 10 });
        console.log(`${String(side).padStart(4)} px  ${arch.padEnd(8)} ${(params / 1e6).toFixed(2).padStart(6)} M params  ${imagesPerSec.toFixed(1).padStart(8)} img/s`);
      }
    }
    const bench: ConvBench = { machine, measured: new Date().toISOString().slice(0, 10), loadAverage, ...CONV_BENCH_SPEC, rows };
    writeFileSync(args.out, `${JSON.stringify(bench, null, 2)}\n`);
    console.log(`wrote ${args.out}`);
  }
  const qualitySeconds = Number(args.quality);
  if (qualitySeconds > 0) {
    for (const patch of JSON.parse(args['quality-configs']) as RunConfigInput[]) {
      const q = await archQuality(runConfigSchema.parse({ ...configOf('classic'), convArch: undefined, ...patch }), qualitySeconds);
      console.log(
        `quality ${JSON.stringify(patch)} ${q.epochs.toFixed(2)} epochs (${q.images} images) in ${q.trainSeconds.toFixed(0)} s: test ${q.bitsPerDim.toFixed(3)} bits/dim ` +
          `(IWAE k=${q.k} on ${q.testImages} dequantized test images, ${q.evalSeconds.toFixed(0)} s)`,
      );
    }
  }
}

await main();
