// `npm run bench:arch`: training img/s of each conv architecture at 32, 64 and 128 px
// (src-worker/bench/arch.ts), written to src-shared/conv-bench.json for the run form.
// Extra arguments go to the bench (e.g. `npm run bench:arch -- --quality 120`).
import { runBench } from './run-bench.mjs';

await runBench('src-worker/bench/arch.ts', 'bench-arch');
