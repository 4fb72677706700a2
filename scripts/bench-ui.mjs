// `npm run bench:ui`: is the UI smooth while a long, fast run trains on every core?
//
// Serves the app (web mode) on a fresh workspace with the sample digits and, for each
// thread count asked for (default 1, then all the physical cores), starts a long run
// (thousands of steps a minute), keeps its page open in Chromium at 1280×800 and
// measures in windows of a few seconds: requestAnimationFrame intervals (p50/p95/max),
// the page's long tasks (over 50 ms: count and total), and the core's API latency (a
// `projects.list` every 100 ms from this process, beside the page; first with no run at
// all, the machine's own baseline) — while the curve and
// the epoch images grow, right after a reload mid-run, and again later; then on the
// comparison of the live run with the one before and on the runs list. Each window is
// printed beside the run's step count and the points the loss chart holds and draws,
// against the target: frame p95 ≤ 33 ms, i.e. 30 fps or better — at 60 Hz a frame gap
// is a whole number of 16.7 ms refreshes, so a p95 of two refreshes (33.3 ms) meets it
// and three (50 ms) does not. Also times how long the Pause, Continue and Stop buttons
// take to answer a click, and ends with one line per thread count side by side.
//
//   BENCH_UI_SECONDS   how long to keep training and measuring, per thread count (default 150)
//   BENCH_UI_WINDOW    seconds per measured window (default 5)
//   BENCH_UI_THREADS   comma-separated thread counts of the runs (default "1,N", N the physical cores)
//   BENCH_UI_SHOTS     folder for screenshots of the chart (light and dark) at the end
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { startServer } from './web-server.mjs';

const root = join(import.meta.dirname, '..');
const seconds = Number(process.env.BENCH_UI_SECONDS ?? 150);
const windowSeconds = Number(process.env.BENCH_UI_WINDOW ?? 5);
const shots = process.env.BENCH_UI_SHOTS ?? null;
/** 30 fps: two 60 Hz refreshes, with room for the timer's rounding. */
const TARGET_P95_MS = 33.5;
/** The core answers a small request within this, p95, while a run trains. */
const TARGET_API_P95_MS = 50;

/** Physical cores (distinct package:core pairs), as the app counts them; else the logical CPUs. */
function physicalCores() {
  try {
    const root = '/sys/devices/system/cpu';
    const cores = new Set();
    for (const name of readdirSync(root)) {
      if (!/^cpu\d+$/.test(name)) continue;
      const read = (file) => readFileSync(join(root, name, 'topology', file), 'utf8').trim();
      cores.add(`${read('physical_package_id')}:${read('core_id')}`);
    }
    return Math.min(cores.size || availableParallelism(), availableParallelism());
  } catch {
    return availableParallelism();
  }
}
const threadCounts = (process.env.BENCH_UI_THREADS ?? `1,${Math.max(2, physicalCores())}`).split(',').map(Number);

if (!existsSync(join(root, 'out', 'main', 'cli.js'))) {
  console.error('bench:ui needs a build: run `npm run build` first.');
  process.exit(1);
}

const home = mkdtempSync(join(tmpdir(), 'vae-bench-ui-'));
const cli = (args) => spawnSync(process.execPath, [join(root, 'bin', 'vae-studio.mjs'), ...args, '--home', home, '--json'], { cwd: root, encoding: 'utf8' });

/** rAF intervals over `ms`, in the page: what a person sees as smooth or janky; and the page's long tasks meanwhile. */
function frameStats(page, ms) {
  return page.evaluate(
    (duration) =>
      new Promise((resolve) => {
        const gaps = [];
        const long = [];
        const observer = new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) long.push(entry.duration);
        });
        observer.observe({ type: 'longtask' });
        let last = performance.now();
        const start = last;
        const tick = (now) => {
          gaps.push(now - last);
          last = now;
          if (now - start < duration) requestAnimationFrame(tick);
          else {
            observer.disconnect();
            gaps.sort((a, b) => a - b);
            const at = (q) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))];
            resolve({
              frames: gaps.length,
              p50: at(0.5),
              p95: at(0.95),
              max: gaps[gaps.length - 1],
              longTasks: long.length,
              longMs: long.reduce((a, b) => a + b, 0),
            });
          }
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
}

/** Latency of the core's `projects.list`, asked every 100 ms from this process (the page's cookie) until `stop` resolves. */
async function apiLatency(page, stop) {
  const times = [];
  let done = false;
  void stop.then(() => (done = true));
  const url = `${new URL(page.url()).origin}/api/projects.list`;
  while (!done) {
    const t0 = performance.now();
    const response = await page.request.post(url, { data: {} });
    await response.body();
    times.push(performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return { requests: times.length, apiP50: at(0.5), apiP95: at(0.95), apiMax: times.at(-1) ?? NaN };
}

/** One window: frames and long tasks in the page, the core's latency from here, the run's state after. */
async function measureWindow(page, label, threads) {
  let finish;
  const latency = apiLatency(page, new Promise((resolve) => (finish = resolve)));
  const frames = await frameStats(page, windowSeconds * 1000);
  finish();
  const api = await latency;
  const state = runId === 0 ? { points: 0, drawn: null, step: 0, status: 'none', threads: 0 } : await chartState(page);
  const row = { label, threads, ...state, ...frames, ...api };
  rows.push(row);
  const ok = frames.p95 <= TARGET_P95_MS && api.apiP95 <= TARGET_API_P95_MS;
  if (!ok) failed = true;
  console.log(
    `${String(threads).padStart(2)} thr ${label.padEnd(20)} step ${String(state.step).padStart(7)}  chart ${String(state.points).padStart(6)}/${String(state.drawn ?? '—').padStart(4)}  ` +
      `frames ${String(frames.frames).padStart(4)}  p50 ${frames.p50.toFixed(1).padStart(5)}  p95 ${frames.p95.toFixed(1).padStart(5)}  max ${frames.max.toFixed(0).padStart(4)} ms  ` +
      `long tasks ${String(frames.longTasks).padStart(3)} (${frames.longMs.toFixed(0).padStart(4)} ms)  api p50 ${api.apiP50.toFixed(1).padStart(5)} p95 ${api.apiP95.toFixed(1).padStart(5)} max ${api.apiMax.toFixed(0).padStart(4)} ms  ` +
      `${ok ? 'ok' : 'OVER target'}`,
  );
  return row;
}

async function chartState(page) {
  // The run page's loss chart, or the comparison's chart; none on the runs list.
  const [points, drawn] = await page.evaluate(() => {
    const canvas = document.querySelector('[data-testid="loss-chart"], [data-testid="compare-chart"]');
    return [canvas?.getAttribute('data-points') ?? null, canvas?.getAttribute('data-drawn') ?? null];
  });
  const run = await page.evaluate(async (runId) => {
    const response = await fetch('/api/runs.get', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runId }) });
    return (await response.json()).value;
  }, runId);
  const threads = (run?.backendNotes ?? []).map((note) => /^training: (\d+) threads?/.exec(note)?.[1]).find((n) => n !== undefined);
  return { points: Number(points ?? 0), drawn: drawn === null ? null : Number(drawn), step: run?.lastStep ?? 0, status: run?.status, threads: threads === undefined ? null : Number(threads) };
}

async function api(page, name, input) {
  const envelope = await page.evaluate(
    async ([n, body]) => {
      const response = await fetch(`/api/${n}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return response.json();
    },
    [name, input],
  );
  if (!envelope.ok) throw new Error(`${name}: ${envelope.error.message}`);
  return envelope.value;
}

/**
 * Milliseconds from the press of a button (the input event's own time stamp, so time the
 * page spent busy before handling it counts) to the page showing the answer: the
 * button's label changing ("Pausing…") or the run's status changing.
 */
async function clickLatency(page, testId) {
  const button = page.getByTestId(testId);
  await button.waitFor({ state: 'visible', timeout: 15_000 });
  await page.evaluate((id) => {
    const state = { pressed: null, answered: null };
    window.__latency = state;
    const button = document.querySelector(`[data-testid="${id}"]`);
    const panel = document.querySelector('[data-testid="run-panel"]');
    const label = button.textContent;
    const status = panel.getAttribute('data-status');
    button.addEventListener('pointerdown', (event) => (state.pressed ??= event.timeStamp), { once: true, capture: true });
    const observer = new MutationObserver(() => {
      if (state.pressed === null) return;
      const current = document.querySelector(`[data-testid="${id}"]`);
      if (current?.textContent !== label || panel.getAttribute('data-status') !== status) {
        state.answered = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(panel, { subtree: true, childList: true, characterData: true, attributes: true });
  }, testId);
  await button.click({ timeout: 15_000 });
  await page.waitForFunction(() => window.__latency.answered !== null, null, { timeout: 15_000 });
  return page.evaluate(() => window.__latency.answered - window.__latency.pressed);
}

const imported = cli(['import', join(root, 'resources', 'sample-digits'), '--size', '28', '--name', 'Sample digits']);
if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
const { child, url } = await startServer(home, { VAE_STUDIO_PARALLEL_RUNS: '1' });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
let runId = 0;
/** The run of the thread count before, compared with the live one. */
let previousRunId = null;
const rows = [];
const summaries = [];
let failed = false;

/** A thread count's windows in one line: medians of the windows' p50 and p95, the worst of the rest. */
function summaryOf(threads, trainedOn, windows, buttons) {
  const worstOf = (key) => windows.reduce((max, row) => Math.max(max, row[key]), 0);
  const median = (key) => windows.map((row) => row[key]).sort((a, b) => a - b)[Math.floor(windows.length / 2)] ?? NaN;
  return {
    threads,
    trainedOn,
    steps: windows.at(-1)?.step ?? 0,
    windows: windows.length,
    p50: median('p50'),
    p95: median('p95'),
    worstP95: worstOf('p95'),
    max: worstOf('max'),
    longTasks: windows.reduce((sum, row) => sum + row.longTasks, 0),
    longMs: windows.reduce((sum, row) => sum + row.longMs, 0),
    apiP50: median('apiP50'),
    apiP95: median('apiP95'),
    apiMax: worstOf('apiMax'),
    buttons,
  };
}
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.getByTestId('app').and(page.locator('[data-phase="ready"]')).waitFor({ timeout: 30_000 });
  const [project] = await api(page, 'projects.list', {});
  const [dataset] = await api(page, 'datasets.list', { projectId: project.id });
  console.log(
    `bench:ui — frame times on the Train page while a run trains (mlp, batch 32, sample digits) with ${threadCounts.join(', then ')} thread(s), Chromium 1280×800, ` +
      `${availableParallelism()} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, training at ` +
      `${process.env.VAE_STUDIO_TRAINING_PRIORITY === 'normal' ? 'the app’s priority (VAE_STUDIO_TRAINING_PRIORITY=normal)' : 'nice 10 (the default)'}`,
  );
  console.log(
    `target: frame p95 ≤ 33 ms (two 60 Hz refreshes) in every window; the core's projects.list p95 ≤ ${TARGET_API_P95_MS} ms; Pause, Continue and Stop answer within 100 ms`,
  );

  // The machine's own baseline: the page with no run training.
  const idle = [await measureWindow(page, 'idle (no run)', 0), await measureWindow(page, 'idle (no run)', 0)];
  summaries.push(summaryOf(0, null, idle, NaN));

  for (const threads of threadCounts) {
    const run = await api(page, 'runs.create', {
      projectId: project.id,
      datasetId: dataset.id,
      name: `bench-ui long fast run, ${threads} thread${threads === 1 ? '' : 's'}`,
      // Batch 32: the smallest that splits two ways (16 images per thread at least).
      config: { architecture: 'mlp', latent: 8, hidden: 64, batchSize: 32, epochs: 2000, threads },
    });
    runId = run.id;
    await page.goto(`${new URL(url).origin}/#/train/${runId}`);
    await page.getByTestId('run-panel').waitFor({ timeout: 30_000 });
    const windows = [];
    const measure = async (label) => windows.push(await measureWindow(page, label, threads));

    const deadline = Date.now() + seconds * 1000;
    let reloaded = false;
    while (Date.now() < deadline) {
      if (!reloaded && Date.now() > deadline - (seconds * 1000) / 2) {
        await page.reload();
        await page.getByTestId('run-panel').waitFor({ timeout: 30_000 });
        reloaded = true;
        await measure('after reload');
        continue;
      }
      await measure(reloaded ? 'training (reloaded)' : 'training');
    }
    // The other pages that follow a live run, while this long run trains: the comparison of
    // it with the run before (its whole stored curve beside the live one) and the runs list.
    if (previousRunId !== null) {
      await page.goto(`${new URL(url).origin}/#/compare/${previousRunId},${runId}`);
      await page.getByTestId('compare-chart').waitFor({ timeout: 30_000 });
      for (let i = 0; i < 2; i++) await measure('compare (live)');
    }
    await page.goto(`${new URL(url).origin}/#/runs`);
    await page.getByTestId('runs-search').waitFor({ timeout: 30_000 });
    for (let i = 0; i < 2; i++) await measure('runs list (live)');
    await page.goto(`${new URL(url).origin}/#/train/${runId}`);
    await page.getByTestId('run-panel').waitFor({ timeout: 30_000 });
    previousRunId = runId;

    const trainedOn = windows.at(-1)?.threads;
    if (trainedOn !== threads) console.log(`note: the run reports ${trainedOn ?? 'no'} training thread count, ${threads} was asked for`);

    const pause = await clickLatency(page, 'run-pause');
    await page.getByTestId('run-unpause').waitFor({ timeout: 30_000 });
    const unpause = await clickLatency(page, 'run-unpause');
    await page.getByTestId('run-pause').waitFor({ timeout: 30_000 });
    const stop = await clickLatency(page, 'run-stop');
    console.log(
      `${String(threads).padStart(2)} thr buttons, press to answer on screen: Pause ${pause.toFixed(0)} ms, Continue ${unpause.toFixed(0)} ms, Stop ${stop.toFixed(0)} ms (target ≤ 100 ms each)`,
    );
    if (Math.max(pause, unpause, stop) > 100) failed = true;
    summaries.push(summaryOf(threads, trainedOn, windows, Math.max(pause, unpause, stop)));
    // The next run starts once this one has ended (one run at a time).
    await page.waitForFunction(
      () => !['queued', 'running', 'paused'].includes(document.querySelector('[data-testid="run-panel"]')?.getAttribute('data-status') ?? ''),
      null,
      { timeout: 60_000 },
    );
  }

  if (shots) {
    mkdirSync(shots, { recursive: true });
    const chart = page.locator('.chart-card').first();
    await chart.screenshot({ path: join(shots, 'bench-ui-chart-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    await chart.screenshot({ path: join(shots, 'bench-ui-chart-dark.png') });
    console.log(`screenshots of the chart at step ${rows.at(-1)?.step}: ${shots}`);
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(home, { recursive: true, force: true });
}
console.log('\nthreads (trained on)  windows  steps    frame p50 / p95 (median window)  worst p95  max     long tasks      api p50 / p95 (median)  api max  buttons');
for (const s of summaries) {
  console.log(
    `${(s.threads === 0 ? 'none (idle)' : `${s.threads} (${s.trainedOn ?? '?'})`).padEnd(21)}${String(s.windows).padEnd(9)}${String(s.steps).padEnd(9)}` +
      `${`${s.p50.toFixed(1)} / ${s.p95.toFixed(1)} ms`.padEnd(33)}${`${s.worstP95.toFixed(1)} ms`.padEnd(11)}${`${s.max.toFixed(0)} ms`.padEnd(8)}` +
      `${`${s.longTasks} (${s.longMs.toFixed(0)} ms)`.padEnd(16)}${`${s.apiP50.toFixed(1)} / ${s.apiP95.toFixed(1)} ms`.padEnd(24)}${`${s.apiMax.toFixed(0)} ms`.padEnd(9)}${Number.isFinite(s.buttons) ? `${s.buttons.toFixed(0)} ms` : '—'}`,
  );
}
console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const worst = rows.reduce((max, row) => Math.max(max, row.p95), 0);
console.log(`worst window p95 ${worst.toFixed(1)} ms (target ≤ 33 ms) over ${rows.length} windows, up to step ${rows.at(-1)?.step ?? 0}: ${failed ? 'MISSED' : 'met'}`);
process.exitCode = failed ? 1 : 0;
