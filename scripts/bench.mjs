// `npm run bench`: the engine benchmark (src-worker/bench/main.ts). Extra arguments go to
// the bench (e.g. `npm run bench -- --no-torch --seconds 2`).
import { runBench } from './run-bench.mjs';

await runBench('src-worker/bench/main.ts', 'bench');
