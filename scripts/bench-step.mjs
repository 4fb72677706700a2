// `npm run bench:step`: one thread's training step of the scaled conv VAE, timed and
// optionally profiled per kernel (src-worker/bench/step-profile.ts). Extra arguments go
// to it (e.g. `npm run bench:step -- --profile --steps 5`).
import { runBench } from './run-bench.mjs';

await runBench('src-worker/bench/step-profile.ts', 'bench-step');
