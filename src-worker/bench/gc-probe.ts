import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { selectBackend } from '../backends/select';
import { nodeBackendPlatform } from '../platform/node-backends';
import { replicaCpuPerStep, stepTraceOn, stepTraces, threadCpuMs } from '../threads/step-trace';
import { familyTrainer, PROBE_MODELS, warmUp } from './scaling';

/**
 * `node scripts/bench-gc.mjs`: what a data-parallel step costs beside the replicas'
 * own work, and V8's collections per step. For one model (--only 28|64c|64, as
 * bench-shard) and batch (--batch) it trains on 1 and --threads threads through the
 * run's own path, warms up (--warmup seconds), then over --steps steps prints the CPU
 * ms a step of every thread of the process (/proc/self/task/<tid>/schedstat): this
 * one, each replica's (VAE_STEP_TRACE=1) and the rest (V8's background threads:
 * concurrent and parallel garbage collection, optimizing compilers), and the
 * process's minor page faults a step. Run under `node --trace-gc` (bench-gc.mjs does)
 * it prints a marker line before and after the counted steps, so the collections
 * between them can be counted by isolate and reason (bench-gc.mjs does that too).
 */
const { values: args } = parseArgs({
  options: {
    batch: { type: 'string', default: '128' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '4' },
    only: { type: 'string', default: '64' },
    counts: { type: 'string', default: '' },
  },
});

/** CPU ms so far of every thread of this process, by thread id. */
function threadTimes(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

function minorFaults(): number {
  // /proc/self/stat: the 10th field is minflt (after "pid (comm) state").
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

async function measure(key: string, batch: number, threads: number, steps: number, warmup: number): Promise<void> {
  const { label, overrides, shape } = PROBE_MODELS.find((m) => m.key === key)!;
  const { trainer, step } = await familyTrainer(overrides, shape, batch, threads);
  try {
    await warmUp(step, warmup);
    stepTraces.length = 0;
    const before = threadTimes();
    const main0 = threadCpuMs();
    const faults0 = minorFaults();
    const t0 = performance.now();
    console.log(`@@gc-probe start ${label} batch ${batch} threads ${threads}`);
    for (let i = 0; i < steps; i++) await step();
    console.log(`@@gc-probe end`);
    const ms = (performance.now() - t0) / steps;
    const faults = (minorFaults() - faults0) / steps;
    const mainMs = (threadCpuMs() - main0) / steps;
    const after = threadTimes();
    let total = 0;
    for (const [tid, cpu] of after) total += cpu - (before.get(tid) ?? 0);
    total /= steps;
    // The first `steps - 1` intervals.
    const replicas = replicaCpuPerStep(threads);
    const replicaSum = replicas.reduce((a, b) => a + b, 0);
    console.log(
      `${label}, batch ${batch}, ${threads} thread${threads === 1 ? '' : 's'}: ${ms.toFixed(1)} ms a step, CPU ms a step: all threads ${total.toFixed(1)}, ` +
        `this thread ${mainMs.toFixed(1)}${threads === 1 ? '' : `, replicas ${replicas.map((r) => r.toFixed(1)).join(' + ')}`}, ` +
        `other threads ${(total - mainMs - replicaSum).toFixed(1)}; minor faults a step ${faults.toFixed(0)} (load ${loadavg().map((l) => l.toFixed(2)).join(' ')})`,
    );
  } finally {
    trainer.dispose();
  }
}

async function main(): Promise<void> {
  if (!stepTraceOn) throw new Error('run with VAE_STEP_TRACE=1 (node scripts/bench-gc.mjs sets it)');
  await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  const key = args.only ?? '64';
  if (!PROBE_MODELS.some((m) => m.key === key)) throw new Error(`--only: one of ${PROBE_MODELS.map((m) => m.key).join(', ')}`);
  const counts = (args.counts === '' ? `1,${args.threads}` : args.counts!).split(',').map(Number);
  for (const threads of counts) await measure(key, Number(args.batch), threads, Number(args.steps), Number(args.warmup));
}

await main();
