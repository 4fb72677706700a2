import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { ConvPreset } from '@shared/conv';
import { selectBackend } from '../backends/select';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { nodeBackendPlatform } from '../platform/node-backends';
import { VaeTrainer } from '../train/trainer';
import { scaledConfig, scaledSpec, type ScaledSetup } from './scaled-reference';

/**
 * `npm run bench:step`: one thread's training step of the scaled conv VAE (the
 * bench's scaled setup: logistic decoder, latent 16, hidden 256), timed over --steps
 * steps after two warm-ups, and with --profile the kernels of one step by total time
 * (tf.profile: wall time per kernel call on wasm). For A/B comparisons of kernel
 * changes: the whole process is what an outside timer measures.
 */
const { values: args } = parseArgs({
  options: {
    side: { type: 'string', default: '64' },
    channels: { type: 'string', default: '3' },
    preset: { type: 'string', default: 'medium' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
  },
});

async function main(): Promise<void> {
  await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  const side = Number(args.side);
  const setup: ScaledSetup = {
    image: { width: side, height: side, channels: Number(args.channels) === 1 ? 1 : 3 },
    preset: args.preset as ConvPreset,
    latent: 16,
    hidden: 256,
    mixture: 1,
    batch: Number(args.batch),
  };
  const D = side * side * setup.image.channels;
  const rng = createRng(7);
  const x = Float32Array.from({ length: setup.batch * D }, () => Math.floor(rng.uniform() * 256) / 255);
  const t = new VaeTrainer(scaledSpec(setup), scaledConfig(setup));
  await t.step(x, setup.batch);
  await t.step(x, setup.batch);
  const steps = Number(args.steps);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let loss = 0;
  for (let i = 0; i < steps; i++) loss = (await t.step(x, setup.batch)).loss;
  const ms = (performance.now() - t0) / steps;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
  console.log(
    `${tf.getBackend()} ${side}×${side}×${setup.image.channels} ${setup.preset} batch ${setup.batch}: ${ms.toFixed(1)} ms/step (${cpuMs.toFixed(1)} ms CPU), ` +
      `${((setup.batch * 1000) / ms).toFixed(1)} img/s; loss ${loss}; load ${loadavg()[0]!.toFixed(2)}`,
  );
  if (args.profile) {
    // Each kernel call's fastest of --rounds profiled steps (calls come in the same order every step): a loaded machine inflates single figures.
    let calls: { name: string; shapes: string; ms: number }[] = [];
    for (let round = 0; round < Number(args.rounds); round++) {
      const info = await tf.profile(async () => {
        await t.step(x, setup.batch);
      });
      const these = info.kernels.map((k) => ({ name: k.name, shapes: `${JSON.stringify(k.inputShapes)} → ${JSON.stringify(k.outputShapes)}`, ms: Number(k.kernelTimeMs) }));
      calls = round === 0 ? these : calls.map((c, i) => ({ ...c, ms: Math.min(c.ms, these[i]!.ms) }));
    }
    const byKernel = new Map<string, { ms: number; calls: number }>();
    for (const k of calls) {
      const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += k.ms;
      e.calls++;
      byKernel.set(k.name, e);
    }
    const filter = process.env['PROFILE_CALLS'];
    if (filter !== undefined) for (const c of calls) if (new RegExp(filter).test(c.name)) console.log(`  ${c.name} ${c.shapes} ${c.ms.toFixed(2)} ms`);
    const total = calls.reduce((s, c) => s + c.ms, 0);
    console.log(`kernels: ${calls.length} calls, ${total.toFixed(1)} ms in kernels (each call's fastest of ${args.rounds} steps)`);
    for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)) {
      console.log(`${name.padEnd(28)} ${e.ms.toFixed(2).padStart(8)} ms ${String(e.calls).padStart(5)} calls ${((100 * e.ms) / total).toFixed(1).padStart(5)} %`);
    }
  }
  t.dispose();
}

await main();
