import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { backendNames, MIXTURE_COMPONENTS_DEFAULT, type BackendName, type RunConfig } from '@shared/config';
import { convArchitectures, DEFAULT_CONV_PRESET, type ConvPreset } from '@shared/conv';
import { selectBackend, type BackendSelection } from '../backends/select';
import { tf } from '../engine/tf';
import { nodeBackendPlatform } from '../platform/node-backends';
import { digitsFile, loadDigits, loadSampleDigits, type DigitSplit } from './digits';
import { familiesBench, type FamilyRow } from './families';
import { decodeLatencyMs, digitsQuality, initialWeights, sameSteps, trainingThroughput, type QualityResult } from './measure';
import { printAllThreads, printPaired, type PairedRow, printFamilies, printInferenceScaling, type InferenceRow, printQuality, printSameSteps, printScaling, printSpeed, type ScalingRow, type SpeedRow } from './report';
import { physicalCores } from '../threads/cores';
import { familyScalingCurve, pairedScaling, scalingCurve } from './scaling';
import { scaledConfig, scaledSpec, type ScaledSetup } from './scaled-reference';
import { scaledBench } from './scaled-bench';
import { decodingScaling, evaluationScaling, imputationScaling, sessionDecodeThreads } from './inference-scaling';
import { runTorchReference, torchAvailable, type TorchFigures } from './torch-reference';

/**
 * `npm run bench`: the engine's speed and quality beside a PyTorch reference of the same
 * architecture, measured in the same run on the same machine. Not a test: it prints
 * figures and their targets, and never fails on a missed target. Order: our quality
 * run (its batch order and noise are handed to the reference), the reference, then
 * our throughput on every backend — never two measurements at once.
 */
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '128' },
    'train-digits': { type: 'string', default: '5000' },
    'test-digits': { type: 'string', default: '500' },
    epochs: { type: 'string', default: '3' },
    k: { type: 'string', default: '50' },
    'no-torch': { type: 'boolean', default: false },
    'no-quality': { type: 'boolean', default: false },
    /** Model families (VAE, flows, conditional, …) side by side; MLP, so cheap. */
    'no-families': { type: 'boolean', default: false },
    'family-epochs': { type: 'string', default: '3' },
    /** Comma-separated family rows by key (vae, flow, iaf, cvae, m2-10, m2-1, vqvae; optional: vae-conv, m2-10-conv, m2-1-conv, vqvae-conv); default all but the optional ones. */
    families: { type: 'string' },
    /**
     * The families table's data: `mnist` (the `--train-digits`/`--test-digits` digits of
     * the mnist package, as the rest of the bench) or `sample` (the 1 000 sample digits
     * the app ships, 100 held out).
     */
    'family-data': { type: 'string', default: 'mnist' },
    /** Only the families table (no speed, no quality, no reference). */
    'families-only': { type: 'boolean', default: false },
    script: { type: 'string', default: resolve('scripts/torch_vae_reference.py') },
    /** Most threads of the multi-core scaling curve (default: the physical cores). */
    threads: { type: 'string' },
    /** Measurements per thread count of the scaling curve (the best is kept). */
    'scaling-rounds': { type: 'string', default: '2' },
    /** Pairs of the paired factor (a 1-thread step, an all-threads step, the ceiling's round, in turn); 0 for none. */
    pairs: { type: 'string', default: '24' },
    /** Only the paired factors (no curve, no families, no inference rows, no reference). */
    'paired-only': { type: 'boolean', default: false },
    /** Which paired rows: 28 (conv 28×28×1), 64 (conv 64×64×3), medium (the medium preset, logistic). */
    'paired-rows': { type: 'string', default: '28,64,medium' },
    /** Only the multi-core scaling curve (no quality, no reference, no families). */
    'scaling-only': { type: 'boolean', default: false },
    'no-scaling': { type: 'boolean', default: false },
    /** Only the inference rows of the scaling part (IWAE bound, imputation, Explore's decoding), no training curve. */
    'inference-only': { type: 'boolean', default: false },
    /** The scaled conv VAE with the logistic mixture decoder at 64×64×3 (and 128×128×3 speed) beside PyTorch (scaled-bench.ts). */
    'no-scaled': { type: 'boolean', default: false },
    /** Only that section. */
    'scaled-only': { type: 'boolean', default: false },
    /** The scaled section's quick variant: fewer images, one epoch, no 128×128×3 row. */
    quick: { type: 'boolean', default: false },
    'scaled-preset': { type: 'string', default: DEFAULT_CONV_PRESET },
    'scaled-mixture': { type: 'string', default: String(MIXTURE_COMPONENTS_DEFAULT) },
    'scaled-batch': { type: 'string', default: '64' },
    'scaled-train': { type: 'string' },
    'scaled-test': { type: 'string' },
    'scaled-epochs': { type: 'string' },
    'scaled-k': { type: 'string', default: '16' },
    /** Test images of the IWAE evaluation's scaling rows (k: --k). */
    'eval-images': { type: 'string', default: '128' },
    /** Families whose run path the scaling curve also measures (conv 28×28): vqvae, m2, cvae; '' for none. */
    'scaling-families': { type: 'string', default: 'vqvae,m2,cvae' },
    /** Only write the digits file the PyTorch script reads (to run it by hand), then exit. */
    'write-digits': { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const batch = Number(args.batch);
const epochs = Number(args.epochs);
const k = Number(args.k);
const CHECK_STEPS = 3;

/** The started backend, or why it cannot start. */
async function activate(name: BackendName): Promise<BackendSelection | string> {
  try {
    return await selectBackend({ requested: name, platform: nodeBackendPlatform(), selfCheck: false });
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^Backend '[^']+' cannot be used: /, '') : String(error);
  }
}

/** The digits the families table trains on (`--family-data`). */
async function familyDigits(mnist: DigitSplit): Promise<DigitSplit> {
  const choice = args['family-data'];
  if (choice === 'mnist') return mnist;
  if (choice === 'sample') return loadSampleDigits(resolve('resources/sample-digits'), 100);
  throw new Error(`--family-data must be mnist or sample, not '${choice}'`);
}

const bytesOf = (a: Int32Array | Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The conv VAE rows of the scaling curve and of the paired factors (latent 16, hidden 256); `key` picks a paired row. */
const CONV_ROWS = [
  { key: '28', label: 'conv 28×28×1', image: { width: 28, height: 28, channels: 1 as const } },
  { key: '64', label: 'conv 64×64×3', image: { width: 64, height: 64, channels: 3 as const } },
] as const;

async function main(): Promise<void> {
  const digits = loadDigits(Number(args['train-digits']), Number(args['test-digits']));
  if (args['write-digits'] !== undefined) {
    writeFileSync(args['write-digits'], digitsFile(digits));
    console.log(`wrote ${args['write-digits']}`);
    return;
  }
  console.log(`VAE Studio engine bench — ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node ${process.versions.node}, tfjs-core ${tf.version_core}; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  if (!args['scaled-only']) console.log(`Model: 28×28×1, latent 16, hidden 256; Bernoulli ELBO; Adam 1e-3; batch ${batch}.\n`);

  // The quality run and the same-steps check use the backend a run would get by itself.
  const auto = (await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false })).backend;
  const familyRecipe = { epochs: Number(args['family-epochs']), batch, k };
  const only = args.families?.split(',').map((key) => key.trim());
  const familyData = args['no-families'] ? digits : await familyDigits(digits);
  const families = async (): Promise<FamilyRow[] | null> => (args['no-families'] ? null : familiesBench(familyData, familyRecipe, only));
  // The 2-thread factor measured in pairs (scaling.ts pairedScaling), and the medium preset with the logistic
  // decoder as a new 64 px run trains it.
  const pairedRows = async (): Promise<void> => {
    const maxThreads = appThreads;
    const pairs = Number(args.pairs);
    if (maxThreads < 2 || pairs <= 0) return;
    const pairedLoad = loadavg();
    const medium: ScaledSetup = { image: { width: 64, height: 64, channels: 3 }, preset: 'medium', latent: 16, hidden: 256, mixture: 1, batch };
    const wanted = new Set((args['paired-rows'] ?? '').split(',').map((key) => key.trim()));
    const paired: PairedRow[] = [];
    for (const { key, label, image } of CONV_ROWS) {
      if (wanted.has(key)) paired.push({ label, paired: await pairedScaling({ kind: 'conv', image, latent: 16, hidden: 256 }, batch, maxThreads, seconds, pairs) });
    }
    if (wanted.has('medium')) {
      paired.push({ label: 'conv medium 64×64×3, logistic', paired: await pairedScaling(scaledSpec(medium), batch, maxThreads, seconds, pairs, scaledConfig(medium)) });
    }
    printPaired(paired, seconds, [...pairedLoad, ...loadavg()]);
  };
  const scaling = async (torch: TorchFigures | null): Promise<void> => {
    if (args['no-scaling']) return;
    if (auto !== 'wasm') {
      console.log(`\nMulti-core scaling: not measured (the automatic backend is ${auto}; threads split wasm training).`);
      return;
    }
    const maxThreads = appThreads;
    const rounds = Number(args['scaling-rounds']);
    const rows: ScalingRow[] = [];
    const load = loadavg();
    for (const { label, image } of args['inference-only'] ? [] : CONV_ROWS) {
      const spec = { kind: 'conv' as const, image, latent: 16, hidden: 256 };
      rows.push({ label, points: await scalingCurve(spec, batch, maxThreads, seconds, rounds), torch: image.width === 28 ? torch?.conv : undefined });
    }
    const digits28 = { width: 28, height: 28, channels: 1 as const };
    const families: Record<string, [string, Partial<RunConfig>]> = {
      vqvae: ['VQ-VAE conv', { architecture: 'conv', family: 'vqvae', codebookSize: 128, codeDim: 16 }],
      m2: ['M2 conv', { architecture: 'conv', family: 'm2', classifier: 'conv', labelFraction: 0.1 }],
      cvae: ['cVAE conv', { architecture: 'conv', family: 'cvae' }],
    };
    for (const key of (args['inference-only'] ? '' : (args['scaling-families'] ?? '')).split(',').filter((k) => k !== '')) {
      const family = families[key];
      if (family === undefined) throw new Error(`--scaling-families: no family '${key}' (vqvae, m2, cvae)`);
      rows.push({ label: `${family[0]} 28²`, points: await familyScalingCurve(family[1], digits28, batch, maxThreads, seconds, rounds) });
    }
    if (rows.length > 0) {
      printScaling(rows, batch, physicalCores(), rounds);
      printAllThreads(rows[0], [...load, ...loadavg()]);
    }
    if (!args['inference-only']) await pairedRows();
    // The test IWAE bound on the same cores, beside the factor training reached in this run.
    const evalSpec = { kind: 'conv' as const, image: { width: 28, height: 28, channels: 1 as const }, latent: 16, hidden: 256 };
    const evalImages = Number(args['eval-images']);
    const training = rows[0]?.points ?? [];
    const evaluation = { label: 'conv 28×28×1', points: await evaluationScaling(evalSpec, maxThreads, evalImages, k, seconds, rounds) };
    printInferenceScaling(`Test IWAE evaluation across threads (wasm, ${evalImages} test images at k = ${k}, batches spread over inference threads)`, 'img/s', [evaluation], training, rounds);
    // Inpaint's chains on the same cores: K 6 (the default) and 16 (the most), MLP and conv.
    const imputation: InferenceRow[] = [];
    for (const kind of ['mlp', 'conv'] as const) {
      for (const K of [6, 16]) {
        imputation.push({ label: `${kind} 28×28×1, K ${K}`, points: await imputationScaling({ ...evalSpec, kind }, K, maxThreads, seconds / 2, rounds) });
      }
    }
    printInferenceScaling('Imputation across threads (wasm, Metropolis-within-Gibbs on one image, top half missing, K chains split over inference threads)', 'it/s', imputation, training, rounds);
    // Explore's sample grid (64 codes, its default; 144, its most) and 15 × 15 manifold (its default), every count cut
    // over that many threads; the small cases show where splitting stops paying (decodeThreadsFor's threshold).
    const decoding: InferenceRow[] = [];
    type Decoding = { samples: number } | { manifold: number };
    for (const [kind, size, channels, cases] of [
      ['mlp', 28, 1, [{ samples: 64 }, { manifold: 15 }]],
      ['conv', 28, 1, [{ samples: 16 }, { samples: 64 }, { samples: 144 }, { manifold: 15 }]],
      ['conv', 64, 3, [{ samples: 16 }, { samples: 64 }, { samples: 144 }, { manifold: 15 }]],
    ] as ['mlp' | 'conv', number, 1 | 3, Decoding[]][]) {
      const spec = { ...evalSpec, kind, image: { width: size, height: size, channels } };
      for (const what of cases) {
        const count = 'samples' in what ? what.samples : what.manifold ** 2;
        const label = `${kind} ${size}×${size}×${channels}, ${'samples' in what ? `${what.samples} samples` : `${what.manifold}² manifold`}`;
        const decodeSpec = 'manifold' in what ? { ...spec, latent: 2 } : spec;
        decoding.push({
          label,
          points: await decodingScaling(spec, what, maxThreads, seconds / 2, rounds),
          note: `(a session of ${maxThreads} threads uses ${sessionDecodeThreads(decodeSpec, count, maxThreads)})`,
        });
      }
    }
    printInferenceScaling("Explore's decoding across threads (wasm, the codes cut into one batch per thread)", 'grids/s', decoding, training, rounds);
  };
  const appThreads = args.threads === undefined ? physicalCores() : Number(args.threads);
  /** PyTorch's curve: 1 … the logical CPUs (its own default thread count), or the app's count if more. */
  const torchCounts = Array.from({ length: Math.max(cpus().length, appThreads) }, (_, i) => i + 1).join(',');
  if (args['paired-only']) {
    if (auto !== 'wasm') console.log(`\nPaired factors: not measured (the automatic backend is ${auto}; threads split wasm training).`);
    else await pairedRows();
    return;
  }
  if (args['inference-only']) {
    await scaling(null);
    console.log(`\nload average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    return;
  }
  if (args['scaling-only']) {
    const version = args['no-torch'] ? null : torchAvailable();
    const common = ['--batch', String(batch), '--seconds', String(seconds), '--thread-counts', torchCounts];
    if (version !== null) console.log(`PyTorch ${version}: its throughput curve (threads ${torchCounts})…`);
    await scaling(version === null ? null : runTorchReference(args.script, [...common, '--sections', 'throughput']));
    return;
  }
  const scaled = async (): Promise<void> => {
    if (args['no-scaled']) return;
    const preset = args['scaled-preset'];
    if (preset === 'classic' || !convArchitectures.includes(preset as ConvPreset)) throw new Error(`--scaled-preset must be small, medium or large, not '${preset}'`);
    const quick = args.quick;
    const torchVersion = args['no-torch'] ? null : torchAvailable();
    await scaledBench({
      preset: preset as ConvPreset,
      mixture: Number(args['scaled-mixture']),
      batch: Number(args['scaled-batch']),
      latent: 16,
      hidden: 256,
      train: Number(args['scaled-train'] ?? (quick ? 256 : 1500)),
      test: Number(args['scaled-test'] ?? (quick ? 32 : 100)),
      epochs: Number(args['scaled-epochs'] ?? (quick ? 1 : 2)),
      k: Number(args['scaled-k']),
      seconds: quick ? Math.min(seconds, 2) : seconds,
      threads: [1, 2],
      large: !quick,
      quality: !args['no-quality'],
      script: torchVersion === null ? null : args.script,
      backend: auto,
    });
  };
  if (args['scaled-only']) {
    await scaled();
    return;
  }
  if (args['families-only']) {
    printFamilies((await families()) ?? [], auto, { ...familyRecipe, digits: familyData });
    return;
  }
  const quality: QualityResult | null = args['no-quality'] ? null : await digitsQuality('conv', digits, epochs, batch, k);
  const same = await sameSteps(digits, batch, CHECK_STEPS);

  const torchVersion = args['no-torch'] ? null : torchAvailable();
  let torch: TorchFigures | null = null;
  const work = mkdtempSync(join(tmpdir(), 'vae-bench-'));
  try {
    if (torchVersion === null) {
      console.log(args['no-torch'] ? 'PyTorch reference: skipped (--no-torch).\n' : 'PyTorch reference: not available (/usr/bin/python3 cannot import torch; apt-get install python3-torch).\n');
    } else {
      const file = (name: string, bytes: Uint8Array | string): string => {
        const path = join(work, name);
        writeFileSync(path, bytes);
        return path;
      };
      const common = ['--batch', String(batch), '--seconds', String(seconds), '--epochs', String(epochs), '--k', String(k), '--thread-counts', torchCounts];
      const files = [
        '--data', file('digits.bin', digitsFile(digits)),
        '--init', file('init.json', JSON.stringify(initialWeights('conv'))),
        '--eps', file('check-eps.f32', bytesOf(same.eps)),
        '--check-steps', String(CHECK_STEPS),
        ...(quality ? ['--replay-order', file('order.i32', bytesOf(quality.orders)), '--replay-eps', file('eps.f32', bytesOf(quality.eps))] : []),
      ];
      const sections = quality ? 'check,throughput,decode,quality' : 'check,throughput,decode';
      console.log(`PyTorch ${torchVersion}: running the reference (${sections})…\n`);
      torch = runTorchReference(args.script, [...common, ...files, '--sections', sections]);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  printSameSteps(same.losses, torch?.sameSteps);

  const rows: SpeedRow[] = [];
  const notes: string[] = [];
  for (const backend of backendNames) {
    if (backend === 'tensorflow-gpu') continue; // Same tfjs backend as 'tensorflow', on CUDA.
    const started = await activate(backend);
    if (typeof started === 'string') {
      notes.push(`not measured — ${backend}: ${started}`);
      continue;
    }
    if (started.adapter?.isFallbackAdapter) {
      notes.push(`note — ${backend} runs on ${started.adapter.description || started.adapter.device || 'an adapter'}, a CPU emulation of a GPU (a run never picks it by itself)`);
    }
    for (const model of ['conv', 'mlp'] as const) {
      rows.push({ backend, model, throughput: await trainingThroughput(model, batch, seconds), decodeMs: await decodeLatencyMs(model) });
    }
  }
  printSpeed(rows, notes, torch, batch);
  await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  await scaling(torch);
  if (quality) printQuality(quality, auto, torch, { digits, epochs, batch, k });
  await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  await scaled();
  // Last, on the automatic backend again (the speed loop left another one active).
  await selectBackend({ platform: nodeBackendPlatform(), selfCheck: false });
  const familyRows = await families();
  if (familyRows) printFamilies(familyRows, auto, { ...familyRecipe, digits: familyData });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
