import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultRunConfig } from '@shared/config';
import { selectBackend } from '../backends/select';
import { createRng } from '../engine/random';
import { wasmBinaryDir } from '../io/wasm-files';
import type { VaeSpec } from '../model/vae';
import { nodeBackendPlatform } from '../platform/node-backends';
import { startReplicaThreads } from '../threads/replica-pool';
import { stepTraceOn, stepTraces, type StepTrace } from '../threads/step-trace';
import { DataParallelTrainer } from '../train/data-parallel';
import { VaeTrainer } from '../train/trainer';

/**
 * `node scripts/bench-trace.mjs`: where a data-parallel step's time goes. For the conv
 * VAE (latent 16, hidden 256, Adam) at 28×28×1 and 64×64×3, batch --batch: one
 * thread's ms per step, then --steps traced steps on --threads replicas
 * (VAE_STEP_TRACE=1, threads/step-trace.ts), printing each phase's mean ms per replica
 * and the step against the ideal (the one-thread step / threads). Also the CPU ms per
 * step of the whole process, which a loaded machine inflates least.
 */
const { values: args } = parseArgs({
  options: {
    batch: { type: 'string', default: '128' },
    steps: { type: 'string', default: '50' },
    'steps-64': { type: 'string', default: '16' },
    threads: { type: 'string', default: '2' },
    only: { type: 'string', default: '' },
  },
});

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function timeSteps(trainer: { step(x: Float32Array, n: number): Promise<unknown> }, x: Float32Array, batch: number, steps: number): Promise<{ ms: number; cpuMs: number }> {
  await trainer.step(x, batch);
  await trainer.step(x, batch);
  stepTraces.length = 0;
  const c0 = cpuNow();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(x, batch);
  return { ms: (performance.now() - t0) / steps, cpuMs: (cpuNow() - c0) / steps };
}

/** Each phase's duration in one step: [name, from mark, to mark] (replica marks; 'send', 'grads-in', … the coordinator's). */
function phases(trace: StepTrace, previous: StepTrace | undefined): { coordinator: Record<string, number>; replicas: Record<string, number>[] } {
  const c = trace.coordinator;
  const coordinator: Record<string, number> = {};
  const last = previous?.coordinator['updated-in'] ?? previous?.coordinator['grads-in'];
  if (last !== undefined) coordinator['between steps (draw, slice, loop)'] = c['send']! - last;
  coordinator['step: send → grads in'] = c['grads-in']! - c['send']!;
  if (c['update-send'] !== undefined) {
    coordinator['grads in → update sent'] = c['update-send'] - c['grads-in']!;
    coordinator['update: send → all updated'] = c['updated-in']! - c['update-send'];
  }
  const replicas = trace.replicas.map((r) => {
    const out: Record<string, number> = {};
    const order = Object.entries(r).filter(([phase]) => !phase.startsWith('cpu:')).sort((a, b) => a[1] - b[1]);
    let from = c['send']!;
    let cpuFrom = NaN;
    for (const [phase, at] of order) {
      out[phase] = at - from;
      const cpu = r[`cpu:${phase}`]!;
      if (!Number.isNaN(cpuFrom)) out[`cpu:${phase}`] = cpu - cpuFrom;
      from = at;
      cpuFrom = cpu;
    }
    out['→ its reply read'] = (c['updated-in'] ?? c['grads-in']!) - from;
    return out;
  });
  return { coordinator, replicas };
}

async function trace(label: string, spec: VaeSpec, batch: number, threads: number, steps: number): Promise<void> {
  const D = spec.image.width * spec.image.height * spec.image.channels;
  const rng = createRng(7);
  const x = Float32Array.from({ length: batch * D }, () => (rng.uniform() > 0.5 ? 1 : 0));
  const config = { ...defaultRunConfig(), seed: 1 };
  const one = new VaeTrainer(spec, config);
  const single = await timeSteps(one, x, batch, Math.max(3, Math.round(steps / 3)));
  // What a shard's gradient costs against the whole batch's, on this thread alone (CPU ms: the least inflated by load).
  const gradientCpu = async (n: number): Promise<number> => {
    const inputs = one.drawStep(x.subarray(0, n * D), n);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c0 = cpuNow();
      const g = await one.gradients(inputs);
      times.push(cpuNow() - c0);
      g.grads.forEach((t) => t?.dispose());
    }
    return Math.min(...times);
  };
  const whole = await gradientCpu(batch);
  const shard = await gradientCpu(Math.ceil(batch / threads));
  one.dispose();
  const local = new VaeTrainer(spec, config);
  const wasmDir = wasmBinaryDir();
  const replicas = await startReplicaThreads(threads, { spec, config, shapes: local.parameterShapes() }, { backend: 'wasm', ...(wasmDir === undefined ? {} : { wasmDir }) });
  const parallel = new DataParallelTrainer(local, replicas);
  const split = await timeSteps(parallel, x, batch, steps);
  const traces = stepTraces.slice();
  parallel.dispose();
  console.log(`\n${label}, batch ${batch} (load ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  console.log(`  1 thread: ${single.ms.toFixed(1)} ms/step (${single.cpuMs.toFixed(1)} CPU ms), ${((batch * 1000) / single.ms).toFixed(1)} img/s`);
  console.log(
    `  gradient alone, fastest of 5: ${batch} rows ${whole.toFixed(1)} CPU ms, ${Math.ceil(batch / threads)} rows ${shard.toFixed(1)} CPU ms (${((100 * shard) / whole).toFixed(0)} % of the batch's; 1/${threads} is ${(100 / threads).toFixed(0)} %)`,
  );
  console.log(
    `  ${threads} threads: ${split.ms.toFixed(1)} ms/step (${split.cpuMs.toFixed(1)} CPU ms), ${((batch * 1000) / split.ms).toFixed(1)} img/s = ${(single.ms / split.ms).toFixed(2)}×; ideal ${(single.ms / threads).toFixed(1)} ms/step`,
  );
  if (traces.length === 0) return;
  const all = traces.map((t, i) => phases(t, traces[i - 1]));
  console.log('  coordinator, mean ms:');
  for (const name of Object.keys(all[all.length - 1]!.coordinator)) {
    console.log(`    ${name.padEnd(36)} ${mean(all.map((p) => p.coordinator[name]).filter((v): v is number => v !== undefined)).toFixed(2).padStart(8)}`);
  }
  for (let r = 0; r < threads; r++) {
    console.log(`  replica ${r + 1}, mean ms (each phase from the previous mark): wall, and this thread's CPU`);
    const of = (name: string): string => {
      const values = all.map((p) => p.replicas[r]![name]).filter((v): v is number => v !== undefined);
      return values.length === 0 ? '' : mean(values).toFixed(2);
    };
    for (const name of Object.keys(all[all.length - 1]!.replicas[r]!).filter((n) => !n.startsWith('cpu:'))) {
      console.log(`    ${name.padEnd(36)} ${of(name).padStart(8)} ${of(`cpu:${name}`).padStart(8)}`);
    }
  }
}

async function main(): Promise<void> {
  if (!stepTraceOn) throw new Error('run with VAE_STEP_TRACE=1 (node scripts/bench-trace.mjs sets it)');
  await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  const batch = Number(args.batch);
  const threads = Number(args.threads);
  const only = args.only ?? '';
  if (only === '' || only === '28') await trace('conv 28×28×1', { kind: 'conv', image: { width: 28, height: 28, channels: 1 }, latent: 16, hidden: 256 }, batch, threads, Number(args.steps));
  if (only === '' || only === '64') await trace('conv 64×64×3', { kind: 'conv', image: { width: 64, height: 64, channels: 3 }, latent: 16, hidden: 256 }, batch, threads, Number(args['steps-64']));
}

await main();
