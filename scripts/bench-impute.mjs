// `npm run bench:impute`: the imputation benchmark (src-worker/bench/imputation.ts). Extra
// arguments go to the bench (e.g. `npm run bench:impute -- --images 100`).
import { runBench } from './run-bench.mjs';

await runBench('src-worker/bench/imputation.ts', 'bench-impute');
