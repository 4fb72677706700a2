import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultRunConfig, type RunConfig } from '@shared/config';
import { activationsPerImage } from '@shared/model-size';
import { selectBackend } from '../backends/select';
import type { ImageShape } from '../model/vae';
import { nodeBackendPlatform } from '../platform/node-backends';
import { replicaCpuPerStep, stepTraceOn, stepTraces, threadCpuMs } from '../threads/step-trace';
import { trainingSizeOf } from '../train/model-spec';
import { familyTrainer, PROBE_MODELS, warmUp } from './scaling';

/**
 * `node scripts/bench-shard.mjs`: the smallest shard worth a training thread. For small
 * batches (--batches) it trains on 1 and --threads threads through the run's own path
 * (createParallelTrainer), the counts interleaved --rounds times, for the classic conv
 * VAE at 28×28×1 (Bernoulli) and the medium preset at 64×64×3 (discretized logistic), and
 * prints per count the img/s (wall: the best round) and the CPU ms a step costs (the
 * median round): the whole process's, and with threads each replica's own
 * (VAE_STEP_TRACE=1, threads/step-trace.ts) and the coordinator's. On a machine shared
 * with other work the wall clock is theirs as much as ours (a busy neighbour's session
 * gets half the cores whatever our thread count), so it also prints what the CPU times
 * give when both cores are ours: the one-thread step's CPU against the slowest replica's
 * plus the coordinator's (or the process's CPU over the cores, if more: V8's
 * background threads — garbage collection — take a core's time too), per step. What it prints is what MIN_STEP_WORK_PER_THREAD
 * (src-worker/threads/work.ts) is set from.
 */
const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '8,16,32,64' },
    threads: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: '' },
  },
});

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Round {
  imagesPerSec: number;
  cpuPerStep: number;
  /** The worker's own thread (the coordinator, or the one-thread trainer). */
  mainPerStep: number;
  /** Mean CPU ms per step of each replica's thread (none on one thread). */
  replicas: number[];
}

async function round(overrides: Partial<RunConfig>, shape: ImageShape, batch: number, threads: number, seconds: number): Promise<Round> {
  const { trainer, step } = await familyTrainer(overrides, shape, batch, threads);
  try {
    await warmUp(step, seconds / 2);
    stepTraces.length = 0;
    let steps = 0;
    const c0 = cpuNow();
    const main0 = threadCpuMs();
    const t0 = performance.now();
    while (steps < 3 || performance.now() - t0 < seconds * 1000) {
      await step();
      steps++;
    }
    const ms = performance.now() - t0;
    const cpuPerStep = (cpuNow() - c0) / steps;
    const mainPerStep = (threadCpuMs() - main0) / steps;
    const replicas = replicaCpuPerStep(threads);
    return { imagesPerSec: (steps * batch * 1000) / ms, cpuPerStep, mainPerStep, replicas };
  } finally {
    trainer.dispose();
  }
}

async function main(): Promise<void> {
  if (!stepTraceOn) throw new Error('run with VAE_STEP_TRACE=1 (node scripts/bench-shard.mjs sets it)');
  await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  const threads = Number(args.threads);
  const seconds = Number(args.seconds);
  for (const { key, label, overrides, shape } of PROBE_MODELS) {
    if (args.only !== '' && args.only !== key) continue;
    const { spec } = trainingSizeOf({ ...defaultRunConfig(), ...overrides }, { shape, count: 1, pixels: new Uint8Array(0), classes: 0 });
    console.log(`\n${label}: ${activationsPerImage(spec).toLocaleString('en')} activations per image`);
    for (const batch of (args.batches ?? '').split(',').map(Number)) {
      const before = loadavg()[0]!;
      const rounds: Record<number, Round[]> = { 1: [], [threads]: [] };
      for (let r = 0; r < Number(args.rounds); r++) for (const count of [1, threads]) rounds[count]!.push(await round(overrides, shape, batch, count, seconds));
      const one = rounds[1]!;
      const many = rounds[threads]!;
      const wall1 = Math.max(...one.map((p) => p.imagesPerSec));
      const wallN = Math.max(...many.map((p) => p.imagesPerSec));
      const cpu1 = median(one.map((p) => p.cpuPerStep));
      const cpuN = median(many.map((p) => p.cpuPerStep));
      const slowest = median(many.map((p) => Math.max(...p.replicas)));
      const replicaSum = median(many.map((p) => p.replicas.reduce((a, b) => a + b, 0)));
      const coordinator = median(many.map((p) => p.mainPerStep));
      const other = Math.max(0, cpuN - replicaSum - coordinator);
      // Both cores ours: a step's wall is at least its slowest thread's CPU, and at least the whole process's CPU shared by the cores.
      const main1 = median(one.map((p) => p.mainPerStep));
      const free = Math.max(main1, cpu1 / threads) / Math.max(slowest + coordinator, cpuN / threads);
      console.log(
        `  batch ${String(batch).padStart(3)} (${batch / threads} rows a thread): wall 1 thread ${wall1.toFixed(1)}, ${threads} threads ${wallN.toFixed(1)} img/s (${(wallN / wall1).toFixed(2)}×); ` +
          `CPU ms a step: 1 thread ${cpu1.toFixed(1)}, ${threads} threads ${cpuN.toFixed(1)} (slowest replica ${slowest.toFixed(1)}, coordinator ${coordinator.toFixed(1)}, other threads ${other.toFixed(1)}; 1 thread's own ${main1.toFixed(1)}); ` +
          `with the cores free ≈ ${free.toFixed(2)}× (load ${before.toFixed(2)} → ${loadavg()[0]!.toFixed(2)})`,
      );
    }
  }
}

await main();
