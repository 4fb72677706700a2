// The smallest batch shard worth a training thread (src-worker/bench/shard-size.ts).
// Extra arguments go to it (e.g. `node scripts/bench-shard.mjs --only 64 --batches 16,32`).
import { runBench } from './run-bench.mjs';

process.env.VAE_STEP_TRACE = '1';
await runBench('src-worker/bench/shard-size.ts', 'bench-shard');
