// V8's collections and every thread's CPU per data-parallel step (src-worker/bench/gc-probe.ts).
// Extra arguments go to it (e.g. `node scripts/bench-gc.mjs --only 64 --batch 16 --steps 20`).
import { runBench } from './run-bench.mjs';

process.env.VAE_STEP_TRACE = '1';

/** The bench's own lines, and between each pair of markers the --trace-gc lines counted by isolate, kind and reason. */
function summarise(text) {
  const out = [];
  let counting = null;
  // Another thread's trace line may be printed into the middle of a marker's: each marker on a line of its own.
  for (const line of text.replace(/@@gc-probe (start[^\n]*|end)/g, '\n$&\n').split('\n')) {
    if (line.startsWith('@@gc-probe start')) {
      counting = new Map();
      out.push(line.slice(2));
      continue;
    }
    if (line.startsWith('@@gc-probe end') && counting !== null) {
      const rows = [...counting.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      for (const [key, { count, ms }] of rows) out.push(`  ${String(count).padStart(4)} × ${key}, ${ms.toFixed(1)} ms on the isolate's thread`);
      counting = null;
      continue;
    }
    // [pid:0xISOLATE]   1234 ms: Mark-Compact 14.0 (32.0) -> 13.8 (32.0) MB, 3.70 / 0.01 ms  (...) reason
    const gc = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: (Scavenge|Mark-Compact|Minor Mark-Compact)[^,]*, ([\d.]+) \/ [\d.]+ ms.*?(allocation failure|external memory pressure|finalize incremental marking via (?:stack guard|task)|external finalize|idle task|low memory notification|testing|[a-z ]+)?;?\s*(?:GC in old space requested)?\s*$/.exec(line);
    if (gc !== null) {
      if (counting !== null) {
        const key = `${gc[1]} ${gc[2]} (${(gc[4] ?? '?').trim()})`;
        const entry = counting.get(key) ?? { count: 0, ms: 0 };
        entry.count++;
        entry.ms += Number(gc[3]);
        counting.set(key, entry);
      }
      continue;
    }
    // With --trace-incremental-marking: why each incremental marking (then a Mark-Compact) started.
    const start = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: \[IncrementalMarking\] Start \(([^)]*)\)/.exec(line);
    if (start !== null) {
      if (counting !== null) {
        const key = `${start[1]} incremental marking started (${start[2]})`;
        const entry = counting.get(key) ?? { count: 0, ms: 0 };
        entry.count++;
        counting.set(key, entry);
      }
      continue;
    }
    if (line.startsWith('[') && /^\[\d+:0x/.test(line)) continue;
    out.push(line);
  }
  return `${out.join('\n')}\n`;
}

await runBench('src-worker/bench/gc-probe.ts', 'bench-gc', { nodeArgs: ['--trace-gc', '--trace-incremental-marking', ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)], summarise });
