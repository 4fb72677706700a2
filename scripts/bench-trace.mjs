// Where a data-parallel training step's time goes, phase by phase (src-worker/bench/parallel-trace.ts).
// Extra arguments go to it (e.g. `node scripts/bench-trace.mjs --only 28 --steps 30`).
import { runBench } from './run-bench.mjs';

process.env.VAE_STEP_TRACE = '1';
await runBench('src-worker/bench/parallel-trace.ts', 'bench-trace');
