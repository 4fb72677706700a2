import type { BackendName, ArchitectureKind } from '@shared/config';
import type { DigitSplit } from './digits';
import type { FamilyRecipe, FamilyRow } from './families';
import type { QualityResult, Throughput } from './measure';
import type { PairedScaling, ScalingPoint } from './scaling';
import type { ScaledQuality } from './scaled-reference';
import type { ScaledTorchFigures, TorchFigures, TorchModelFigures } from './torch-reference';
import type { InferencePoint } from './inference-scaling';

/** The bench's printed tables: figures beside their reference and target. */
export const TARGET_RATIO = 1.5;
export const TARGET_DECODE_MS = 2;
export const TARGET_NLL_GAP = 1;

export interface SpeedRow {
  backend: BackendName;
  model: ArchitectureKind;
  throughput: Throughput;
  decodeMs: number;
}

const fmt = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const pad = (s: string, n: number): string => s.padEnd(n);

export function printSameSteps(ours: number[], torch: number[] | undefined): void {
  if (!torch) return;
  const worst = Math.max(...ours.map((v, i) => Math.abs(v - (torch[i] ?? NaN)) / Math.abs(v)));
  console.log(
    `Same model check: ${ours.length} Adam steps from identical weights, batches and noise — losses ours ` +
      `${ours.map((v) => v.toFixed(3)).join(', ')} / PyTorch ${torch.map((v) => v.toFixed(3)).join(', ')} ` +
      `(largest relative difference ${worst.toExponential(1)})\n`,
  );
}

export function printSpeed(rows: SpeedRow[], notes: string[], torch: TorchFigures | null, batch: number): void {
  console.log(`Training throughput, img/s (target: conv ≥ ${TARGET_RATIO}× PyTorch CPU, one thread)`);
  console.log(`${pad('model', 6)}${pad('backend', 10)}${pad('ours', 10)}${pad('PyTorch 1 thr', 15)}${pad('ratio', 8)}${pad('PyTorch 2 thr', 15)}ratio`);
  for (const row of rows) {
    const r = row.throughput;
    const ref = torch?.[row.model];
    const ratio = (x?: number): string => (x ? `${(r.imagesPerSec / x).toFixed(2)}×` : '—');
    const note = r.batch !== batch ? `  (batch ${r.batch}: a batch of ${batch} takes too long here)` : '';
    console.log(
      `${pad(row.model, 6)}${pad(row.backend, 10)}${pad(fmt(r.imagesPerSec), 10)}${pad(fmt(ref?.imgPerSec1Thread), 15)}` +
        `${pad(ratio(ref?.imgPerSec1Thread), 8)}${pad(fmt(ref?.imgPerSec2Threads), 15)}${ratio(ref?.imgPerSec2Threads)}${note}`,
    );
  }
  for (const line of notes) console.log(`  ${line}`);
  console.log(`\nSingle-image decode latency, ms, median of 300 (target ≤ ${TARGET_DECODE_MS} ms)`);
  console.log(`${pad('model', 6)}${pad('backend', 10)}${pad('ours', 10)}PyTorch 1 thr`);
  for (const row of rows) console.log(`${pad(row.model, 6)}${pad(row.backend, 10)}${pad(fmt(row.decodeMs, 2), 10)}${fmt(torch?.[row.model].decodeMs, 2)}`);
}

export function printQuality(
  ours: QualityResult,
  backend: BackendName,
  torch: TorchFigures | null,
  recipe: { digits: DigitSplit; epochs: number; batch: number; k: number },
): void {
  console.log(
    `\nQuality: binarized digits of the mnist package, ${recipe.digits.train.length} train / ${recipe.digits.test.length} test ` +
      `(own split), conv VAE from the same initial weights, ${recipe.epochs} epochs, batch ${recipe.batch}, Adam 1e-3; ` +
      `test −IWAE bound (k = ${recipe.k}), nats (target: within ${TARGET_NLL_GAP} nat of PyTorch or better)`,
  );
  console.log(`${pad('', 46)}${pad('NLL', 10)}train s`);
  console.log(`${pad(`ours (${backend}), own batch order and noise`, 46)}${pad(fmt(ours.nll, 2), 10)}${fmt(ours.trainSeconds)}`);
  const replay = torch?.conv.qualityReplay;
  const own = torch?.conv.quality;
  if (replay) console.log(`${pad('PyTorch, replaying our batch order and noise', 46)}${pad(fmt(replay.nll, 2), 10)}${fmt(replay.trainSeconds)}`);
  if (own) console.log(`${pad('PyTorch, its own batch order and noise', 46)}${pad(fmt(own.nll, 2), 10)}${fmt(own.trainSeconds)}`);
  if (replay) console.log(`ours − PyTorch, same steps: ${(ours.nll - replay.nll).toFixed(2)} nats (the implementation difference)`);
  if (own) console.log(`ours − PyTorch, independent randomness: ${(ours.nll - own.nll).toFixed(2)} nats (includes run-to-run luck)`);
}

export function printFamilies(rows: FamilyRow[], backend: BackendName, recipe: FamilyRecipe & { digits: DigitSplit }): void {
  console.log(
    `\nModel families at one budget, trained by the app's loop: ${recipe.digits.source}, ${recipe.digits.train.length} train / ` +
      `${recipe.digits.test.length} test, MLP latent 16 hidden 256 (conv rows: the conv stack), ${recipe.epochs} epochs, batch ${recipe.batch}, Adam 1e-3, ${backend}; ` +
      `test −IWAE (k = ${recipe.k}) and one-sample ELBO terms in nats per image; M2: test accuracy of q(y|x); VQ-VAE: code perplexity/K`,
  );
  console.log(`${pad('model', 28)}${pad('NLL', 10)}${pad('recon', 10)}${pad('KL', 9)}${pad('accuracy', 15)}${pad('train s', 9)}eval s`);
  for (const row of rows) {
    const accuracy =
      row.accuracy !== null ? `${(row.accuracy * 100).toFixed(1)} %` : row.perplexity !== null ? `ppl ${row.perplexity.toFixed(1)}/${row.codebookSize}` : '—';
    console.log(
      `${pad(row.name, 28)}${pad(row.nll === null ? '—' : fmt(row.nll, 2), 10)}${pad(fmt(row.recon, 2), 10)}${pad(fmt(row.kl, 2), 9)}` +
        `${pad(accuracy, 15)}${pad(fmt(row.trainSeconds), 9)}${fmt(row.evalSeconds)}${row.note ? `  (${row.note})` : ''}`,
    );
  }
  const plain = rows.find((r) => r.name === 'VAE')?.nll;
  for (const row of rows) {
    if (row.name.startsWith('VAE +') && plain != null && row.nll !== null) {
      console.log(`${row.name} − VAE: ${(row.nll - plain).toFixed(2)} nats (negative: the flow helps)`);
    }
  }
}

/** Data-parallel training: the app's img/s by thread count, beside its own 1-thread figure. */
export const TARGET_SCALING_2 = 1.8;

export interface ScalingRow {
  label: string;
  points: ScalingPoint[];
  /** PyTorch on the same model (28×28 only), by thread count. */
  torch?: TorchModelFigures | undefined;
}

/** PyTorch's img/s at a thread count, where measured. */
export const torchAt = (torch: TorchModelFigures | undefined, threads: number): number | undefined =>
  torch?.imgPerSecByThreads?.[String(threads)] ?? (threads === 1 ? torch?.imgPerSec1Thread : threads === 2 ? torch?.imgPerSec2Threads : undefined);

/** Target of the app with all its threads against PyTorch CPU with all its threads, conv 28×28. */
export const TARGET_ALL_THREADS = 3.5;

export function printScaling(rows: ScalingRow[], batch: number, cores: number, rounds: number): void {
  console.log(
    `\nMulti-core scaling: data-parallel training (wasm, batch ${batch} split across threads), img/s, best of ${rounds}, each after the same warm-up (half the measuring time: fresh threads' code tiers up first); ` +
      `${cores} physical cores (target on 2 cores: ≥ ${TARGET_SCALING_2}× the 1-thread figure). ` +
      `ceiling ×: that many replicas each computing a whole batch's gradient side by side, nothing exchanged — what this machine's cores give together`,
  );
  console.log(
    `${pad('model', 17)}${pad('threads', 9)}${pad('img/s', 10)}${pad('× 1 thread', 12)}${pad('steps', 7)}` +
      `${pad('ceiling ×', 11)}PyTorch (same threads)`,
  );
  for (const row of rows) {
    const one = row.points.find((p) => p.threads === 1)?.imagesPerSec;
    const oneAlone = row.points.find((p) => p.threads === 1)?.independentImagesPerSec;
    for (const p of row.points) {
      const ref = torchAt(row.torch, p.threads);
      const versus = ref ? `${fmt(ref)} (ours ${(p.imagesPerSec / ref).toFixed(2)}×)` : '—';
      console.log(
        `${pad(row.label, 17)}${pad(String(p.threads), 9)}${pad(fmt(p.imagesPerSec), 10)}` +
          `${pad(one ? `${(p.imagesPerSec / one).toFixed(2)}×` : '—', 12)}${pad(String(p.steps), 7)}` +
          `${pad(oneAlone && Number.isFinite(p.independentImagesPerSec) ? `${(p.independentImagesPerSec / oneAlone).toFixed(2)}×` : '—', 11)}${versus}`,
      );
    }
    // PyTorch's own curve where it measured more counts than the app's.
    const counts = Object.keys(row.torch?.imgPerSecByThreads ?? {}).map(Number).filter((t) => !row.points.some((p) => p.threads === t));
    for (const t of counts) console.log(`${pad(row.label, 17)}${pad(String(t), 9)}${pad('—', 10)}${pad('', 12)}${pad('', 7)}${pad('', 11)}${fmt(torchAt(row.torch, t))}`);
  }
}

export interface PairedRow {
  label: string;
  paired: PairedScaling;
}

/** The paired factors (scaling.ts pairedScaling) beside the target and the ceiling measured in the same pairs. */
export function printPaired(rows: readonly PairedRow[], warmUpSeconds: number, loadAverage: readonly number[]): void {
  if (rows.length === 0) return;
  const { threads, pairs } = rows[0]!.paired;
  console.log(
    `\nPaired, step by step: ${pairs} pairs after ${warmUpSeconds} s of warm-up, each a 1-thread step, a ${threads}-thread step and the ceiling's round ` +
      `(${threads} replicas' whole gradients) one after the other; the median of the pairs' ratios (a slower or faster minute of the machine moves both sides of a pair alike). ` +
      `Target on 2 cores: ≥ ${TARGET_SCALING_2}×; load average ${loadAverage.map((x) => x.toFixed(2)).join(' ')}`,
  );
  console.log(`${pad('model', 30)}${pad(`× 1 thread`, 16)}${pad('ceiling ×', 11)}${pad('ms a step: 1 → ' + String(threads), 22)}pairs' factors: lowest, quartiles, highest`);
  for (const { label, paired } of rows) {
    const f = paired.factors;
    const at = (q: number): string => f[Math.min(f.length - 1, Math.round(q * (f.length - 1)))]!.toFixed(2);
    const verdict = threads === 2 ? (paired.factor >= TARGET_SCALING_2 ? ' met' : ' not met') : '';
    console.log(
      `${pad(label, 30)}${pad(`${paired.factor.toFixed(2)}×${verdict}`, 16)}${pad(`${paired.ceiling.toFixed(2)}×`, 11)}` +
        `${pad(`${paired.oneMs.toFixed(1)} → ${paired.manyMs.toFixed(1)}`, 22)}${at(0)} ${at(0.25)} ${at(0.5)} ${at(0.75)} ${at(1)}`,
    );
  }
}

/** The scaled conv VAE beside PyTorch: targets of issue 19. */
export const TARGET_BITS_GAP = 0.01;
export const TARGET_SCALED_RATIO = 1.5;
export const TARGET_SAME_LOSS = 1e-4;

export interface ScaledSpeedRow {
  label: string;
  threads: number;
  ours: number | null;
  torch: number | undefined;
  /** Only the 64×64×3 rows carry the ratio target. */
  target: boolean;
}

export interface ScaledReport {
  title: string;
  same: { ours: number[]; torch: number[] | undefined } | null;
  speed: ScaledSpeedRow[];
  quality: { ours: ScaledQuality; torch: ScaledTorchFigures['quality']; recipe: string } | null;
  notes: string[];
}

export function printScaled(report: ScaledReport): void {
  console.log(`\n${report.title}`);
  const { same } = report;
  if (same?.torch) {
    const worst = Math.max(...same.ours.map((v, i) => Math.abs(v - (same.torch![i] ?? NaN)) / Math.abs(v)));
    console.log(
      `Same model check: ${same.ours.length} Adam steps from identical weights, images and noise — losses ours ` +
        `${same.ours.map((v) => v.toFixed(2)).join(', ')} / PyTorch ${same.torch.map((v) => v.toFixed(2)).join(', ')} ` +
        `(largest relative difference ${worst.toExponential(1)}; target ≤ ${TARGET_SAME_LOSS.toExponential(0)}: ${worst <= TARGET_SAME_LOSS ? 'met' : 'NOT MET — the models differ'})`,
    );
  }
  console.log(`Training img/s, app vs PyTorch at the same thread count (target at 64×64×3: app ≥ ${TARGET_SCALED_RATIO}× PyTorch)`);
  console.log(`${pad('image', 12)}${pad('threads', 9)}${pad('app', 10)}${pad('PyTorch', 10)}${pad('app/PyTorch', 13)}target`);
  for (const row of report.speed) {
    const ratio = row.ours !== null && row.torch ? row.ours / row.torch : undefined;
    const target = !row.target || ratio === undefined ? '—' : ratio >= TARGET_SCALED_RATIO ? `≥ ${TARGET_SCALED_RATIO}×: met` : `≥ ${TARGET_SCALED_RATIO}×: NOT MET`;
    console.log(
      `${pad(row.label, 12)}${pad(String(row.threads), 9)}${pad(fmt(row.ours ?? undefined), 10)}${pad(fmt(row.torch), 10)}` +
        `${pad(ratio === undefined ? '—' : `${ratio.toFixed(2)}×`, 13)}${target}`,
    );
  }
  const q = report.quality;
  if (q) {
    console.log(`Test bits/dim (0–255 scale, discretized logistic −IWAE bound) — ${q.recipe}`);
    console.log(`${pad('', 52)}${pad('bits/dim', 10)}${pad('train s', 9)}eval s`);
    console.log(`${pad('app (1 thread)', 52)}${pad(fmt(q.ours.bitsPerDim, 4), 10)}${pad(fmt(q.ours.trainSeconds), 9)}${fmt(q.ours.evalSeconds)}`);
    if (q.torch) {
      console.log(`${pad('PyTorch (1 thread), replaying our order and noise', 52)}${pad(fmt(q.torch.bitsPerDim, 4), 10)}${pad(fmt(q.torch.trainSeconds), 9)}${fmt(q.torch.evalSeconds)}`);
      const gap = (q.ours.bitsPerDim - q.torch.bitsPerDim) / q.torch.bitsPerDim;
      console.log(
        `app − PyTorch: ${(q.ours.bitsPerDim - q.torch.bitsPerDim).toFixed(4)} bits/dim (${(gap * 100).toFixed(2)} %; target within ${TARGET_BITS_GAP * 100} %: ` +
          `${Math.abs(gap) <= TARGET_BITS_GAP ? 'met' : 'NOT MET'})`,
      );
    }
  }
  for (const line of report.notes) console.log(`  ${line}`);
}

export interface InferenceRow {
  label: string;
  points: InferencePoint[];
  /** Said after the row's 1-thread line (e.g. how many threads a model session would use). */
  note?: string;
}

/**
 * A saved model's inference work by thread count (bench/inference-scaling.ts: the test
 * IWAE bound, Inpaint's chains, Explore's decoding), beside the factor data-parallel
 * training reached with as many threads in the same run; the result must be the same on
 * every count.
 */
export function printInferenceScaling(title: string, unit: string, rows: InferenceRow[], training: ScalingPoint[], rounds: number): void {
  console.log(`\n${title}, best of ${rounds}; target: the factor training reaches with as many threads (this run's, beside), ≥ ${TARGET_SCALING_2}× on 2 cores`);
  console.log(`${pad('model', 30)}${pad('threads', 9)}${pad(unit, 11)}${pad('× 1 thread', 12)}${pad('training ×', 12)}same result as 1 thread`);
  const trainingOne = training.find((p) => p.threads === 1)?.imagesPerSec;
  for (const row of rows) {
    const one = row.points.find((p) => p.threads === 1);
    for (const p of row.points) {
      const trained = training.find((t) => t.threads === p.threads)?.imagesPerSec;
      console.log(
        `${pad(row.label, 30)}${pad(String(p.threads), 9)}${pad(fmt(p.perSec), 11)}` +
          `${pad(one ? `${(p.perSec / one.perSec).toFixed(2)}×` : '—', 12)}` +
          `${pad(trained && trainingOne ? `${(trained / trainingOne).toFixed(2)}×` : '—', 12)}` +
          `${one ? (p.result === one.result ? `yes (${p.result})` : `NO: ${p.result} vs ${one.result}`) : '—'}` +
          `${p.threads === 1 && row.note ? `   ${row.note}` : ''}`,
      );
    }
  }
}

/**
 * The headline: the app with all its threads (the most the curve measured) against
 * PyTorch with all its threads (the most its curve measured), conv 28×28, and the target.
 */
export function printAllThreads(row: ScalingRow | undefined, loadAverage: readonly number[]): void {
  const ours = row?.points.at(-1);
  const counts = Object.keys(row?.torch?.imgPerSecByThreads ?? {}).map(Number);
  const torchThreads = counts.length > 0 ? Math.max(...counts) : undefined;
  const theirs = torchThreads === undefined ? undefined : torchAt(row?.torch, torchThreads);
  if (!row || !ours || theirs === undefined || torchThreads === undefined) {
    console.log(`
All threads vs PyTorch (target ≥ ${TARGET_ALL_THREADS}×): not measured (no PyTorch figures).`);
    return;
  }
  const ratio = ours.imagesPerSec / theirs;
  console.log(
    `
All threads, ${row.label}: app ${ours.threads} thread${ours.threads === 1 ? '' : 's'} ${fmt(ours.imagesPerSec)} img/s vs PyTorch CPU ` +
      `${torchThreads} thread${torchThreads === 1 ? '' : 's'} ${fmt(theirs)} img/s = ${ratio.toFixed(2)}× (target ≥ ${TARGET_ALL_THREADS}×: ${ratio >= TARGET_ALL_THREADS ? 'met' : 'MISSED'}); ` +
      `load average ${loadAverage.map((x) => x.toFixed(2)).join(' ')}`,
  );
}
