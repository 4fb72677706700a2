// The exported models must compute what the app computes. A model of every family, built
// by the engine with random weights (biases included, so a swapped bias would show), is
// written as a checkpoint by the worker's own writer, converted by src-shared/model-export,
// then
//  - loaded with plain @tensorflow/tfjs `loadLayersModel` over HTTP in a separate Node
//    process (no code of ours there), and
//  - run by onnxruntime (onnxruntime-web, its wasm build, in Node),
// and every exported network must answer what the engine answers for the same inputs.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { convDesignOf, encoderInputOf, runConfigSchema, type RunConfigInput } from '@shared/config';
import { parseCheckpoint } from '@shared/checkpoint-format';
import { networkShapes, type Network } from '@shared/model-export/graph';
import { buildExportNetworks, exportParams, type ExportNetworks } from '@shared/model-export/networks';
import { toOnnx } from '@shared/model-export/onnx';
import { toTfjsLayers, TFJS_WEIGHTS_FILE } from '@shared/model-export/tfjs-layers';
import { IAF_GATE_BIAS } from '@shared/made-masks';
import { mulberry32 } from '@shared/random';
import { tf } from '../engine/tf';
import { takeValues } from '../engine/read';
import { createRng } from '../engine/random';
import { encodeCheckpoint } from '../io/checkpoint-file';
import { VaeTrainer, type TrainerState } from '../train/trainer';
import { VqVaeTrainer } from '../train/vq-trainer';
import { useBackend } from '../testing/setup';

const dir = mkdtempSync(join(tmpdir(), 'vae-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Value {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** Plain tfjs in its own process: serve the folder over HTTP, loadLayersModel, predict every network. */
const LOADER = `
import * as tf from '@tensorflow/tfjs';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
const [root, inputJson] = process.argv.slice(1);
const jobs = JSON.parse(readFileSync(inputJson, 'utf8'));
const server = createServer((req, res) => {
  try { res.end(readFileSync(join(root, decodeURIComponent(req.url.split('?')[0])))); }
  catch { res.statusCode = 404; res.end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = 'http://127.0.0.1:' + server.address().port;
const answers = {};
for (const job of jobs) {
  const model = await tf.loadLayersModel(base + '/' + job.network + '/model.json');
  const inputs = job.inputs.map((v) => tf.tensor(v.values, [job.n, ...v.shape], v.dtype));
  const out = model.predict(inputs.length === 1 ? inputs[0] : inputs);
  const outs = Array.isArray(out) ? out : [out];
  answers[job.network] = { names: model.outputNames, outputs: await Promise.all(outs.map(async (t) => ({ shape: t.shape, values: Array.from(await t.data()) }))) };
}
process.stdout.write(JSON.stringify({ backend: tf.getBackend(), answers }));
server.close();
`;

type LoaderAnswer = Record<string, { names: string[]; outputs: { shape: number[]; values: number[] }[] }>;

function runLoader(root: string, jobs: object[]): Promise<LoaderAnswer> {
  const inputPath = join(root, 'input.json');
  writeFileSync(inputPath, JSON.stringify(jobs));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', LOADER, root, inputPath], { cwd: process.cwd() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`tfjs loader exited ${code}: ${stderr}`));
      else resolve((JSON.parse(stdout) as { answers: LoaderAnswer }).answers);
    });
  });
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

/** Index of the largest entry of each row of `width` values. */
function argmaxRows(values: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / width; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (values[r * width + k]! > values[r * width + best]!) best = k;
    out.push(best);
  }
  return out;
}

const N = 5;
type Image = { width: number; height: number; channels: 3 };
// Non-square, 3 channels: a swapped width/height or channel order cannot pass.
const IMAGE: Image = { width: 12, height: 8, channels: 3 };
/**
 * For the scaled conv: two stages (convStages of an 18-px side), odd sides inside (34 →
 * 17 → 9, 18 → 9 → 5), so the 'same' padding of an odd input and the decoder's crop
 * back from 36×20 are both exercised.
 */
const ODD_IMAGE: Image = { width: 34, height: 18, channels: 3 };
/** A small scaled conv with every optional part: two residual blocks, layer norm. */
const SCALED = { architecture: 'conv', convArch: 'small', convWidth: 4, convResBlocks: 2, convNorm: 'layer' } as const;
const hwc = (image: Image): number[] => [image.height, image.width, image.channels];
const pixels = (image: Image): number => image.width * image.height * image.channels;
const CLASSES = 4;

/** Random weights for every parameter (and the VQ prior), and a trained prior, written as a checkpoint. */
function randomized(state: TrainerState, seed: number): TrainerState {
  const random = mulberry32(seed);
  for (const t of state.tensors) {
    if (t.name.startsWith('param/') || t.name.startsWith('prior/')) t.values = t.values.map(() => (random() - 0.5) * 0.6);
    // An IAF's gate biases cancel IAF_GATE_BIAS, so σ is around ½ and the steps do bend z.
    if (/^param\/\d+:iaf\/step\d+\/bs$/.test(t.name)) t.values = t.values.map((v) => v - IAF_GATE_BIAS);
    if (t.name === 'prior_adam_step') t.values = Float32Array.of(1);
  }
  return state;
}

function checkpointOf(state: TrainerState, config: unknown): Uint8Array {
  return encodeCheckpoint(
    {
      epoch: 1,
      step: 10,
      trainer: state,
      shuffle: createRng(1, 9).getState(),
      progress: { elapsedMs: 0, trainedImages: 0, trainMs: 0, evalLoss: null, bestEvalLoss: null, isBest: false },
    },
    config,
  );
}

interface Expectation {
  networks: ExportNetworks;
  /** Inputs per network, in the network's input order. */
  inputs: Record<string, Value[]>;
  /** What the engine answers, per network and output. */
  expected: Record<string, Record<string, Float32Array>>;
  /** VQ-VAE: the engine's nearest codes, which the argmax of code_scores must give. */
  codes?: Int32Array;
  /** IAF: z_K and Σ log|det| of the engine's flow from z0 with the encoder's context, which the exported steps must compose to. */
  iaf?: { z0: Float32Array; context: Float32Array; zK: Float32Array; logDet: Float32Array };
}

const float = (values: Float32Array, shape: number[]): Value => ({ values, shape, dtype: 'float32' });

async function gaussianCase(config: RunConfigInput, seed: number, image = IMAGE): Promise<Expectation> {
  const full = runConfigSchema.parse({ latent: 3, hidden: 24, seed, ...config });
  const conditional = full.family === 'cvae' || full.family === 'm2';
  const [HWC, D] = [hwc(image), pixels(image)];
  const trainer = new VaeTrainer(
    { kind: full.architecture, image, latent: full.latent, hidden: full.hidden, classes: conditional ? CLASSES : 0, conv: convDesignOf(full), input: encoderInputOf(full) },
    full,
  );
  try {
    trainer.importState(randomized(await trainer.exportState(), seed + 1));
    const checkpoint = parseCheckpoint(checkpointOf(await trainer.exportState(), full));
    const networks = buildExportNetworks(
      { family: full.family, model: full.architecture, ...image, latent: full.latent, flow: full.flow, flowSteps: full.flowSteps, decoder: full, encoderInput: encoderInputOf(full) },
      exportParams(checkpoint.tensors),
    );
    const random = mulberry32(seed + 2);
    const d = full.latent;
    const z = Float32Array.from({ length: N * d }, () => (random() - 0.5) * 4);
    const x = Float32Array.from({ length: N * D }, () => random());
    const labels = Array.from({ length: N }, (_, i) => i % CLASSES);
    const y = Float32Array.from({ length: N * CLASSES }, (_, i) => (labels[Math.floor(i / CLASSES)] === i % CLASSES ? 1 : 0));
    const engine = tf.tidy(() => {
      const yT = conditional ? tf.tensor2d(y, [N, CLASSES]) : undefined;
      const { mu, logVar, extra } = trainer.model.encodeExtra(tf.tensor2d(x, [N, D]), yT);
      const raw = trainer.model.decode(tf.tensor2d(z, [N, d]), yT);
      // The image the app shows: the sigmoid, or the logistic mixture's mean.
      const decoded = trainer.decoder.mean(raw);
      const logits = trainer.classifier?.logits(tf.tensor2d(x, [N, D])) ?? tf.zeros([0, 0]);
      return { mu, logVar, extra, decoded, logits, raw };
    });
    const [mu, logVar, extra, decoded, logits, raw] = await Promise.all([engine.mu, engine.logVar, engine.extra, engine.decoded, engine.logits, engine.raw].map(takeValues));
    // The decoder must actually depend on z (else equal outputs prove nothing).
    expect(maxAbsDiff(decoded!.subarray(0, D), decoded!.subarray(D, 2 * D))).toBeGreaterThan(1e-3);
    const withLabel = (first: Value): Value[] => (conditional ? [first, float(y, [CLASSES])] : [first]);
    const expected: Expectation['expected'] = {
      encoder: { mu: mu!, log_var: logVar!, ...(full.flow === 'planar' ? { flow_params: extra! } : full.flow === 'iaf' ? { flow_context: extra! } : {}) },
      // A mixture's decoder also answers its parameters, the engine's raw output.
      decoder: { x_mean: decoded!, ...(full.decoder === 'logistic' ? { x_params: raw! } : {}) },
    };
    const inputs: Expectation['inputs'] = { encoder: withLabel(float(x, HWC)), decoder: withLabel(float(z, [d])) };
    if (full.family === 'm2') {
      expected['classifier'] = { logits: logits! };
      inputs['classifier'] = [float(x, HWC)];
    }
    let iaf: Expectation['iaf'];
    if (full.flow === 'iaf') {
      const [zK, logDet] = tf.tidy(() => {
        const flowed = trainer.flow!.apply(tf.tensor2d(z, [N, d]), tf.tensor2d(extra!, [N, extra!.length / N]));
        return [flowed.z, flowed.logDet];
      });
      iaf = { z0: z, context: extra!, zK: await takeValues(zK!), logDet: await takeValues(logDet!) };
      for (const net of networks.networks) if (net.name.startsWith('iaf_step')) inputs[net.name] = [float(z, [d]), float(extra!, [extra!.length / N])];
    }
    return { networks, inputs, expected, ...(iaf ? { iaf } : {}) };
  } finally {
    trainer.dispose();
  }
}

async function vqCase(config: RunConfigInput & { architecture: 'mlp' | 'conv' }, seed: number, image = IMAGE, codebookFromData = false): Promise<Expectation> {
  const full = runConfigSchema.parse({ family: 'vqvae', codePositions: 6, hidden: 24, codebookSize: 10, codeDim: 3, seed, ...config });
  const model = full.architecture;
  const [HWC, D] = [hwc(image), pixels(image)];
  const trainer = new VqVaeTrainer(
    { kind: model, image, hidden: full.hidden, codeDim: full.codeDim, positions: full.codePositions, conv: convDesignOf(full), input: encoderInputOf(full) },
    full,
  );
  try {
    trainer.importState(randomized(await trainer.exportState(), seed + 1));
    if (codebookFromData) {
      // Random weights can put every z_e nearest one noise code; codes taken from z_e of these images are all in use.
      const xs = Float32Array.from({ length: N * pixels(image) }, mulberry32(seed + 3));
      const ze = await takeValues(tf.tidy(() => trainer.nets.encode(tf.tensor2d(xs, [N, pixels(image)]))));
      const state = await trainer.exportState();
      const codebook = state.tensors.find((t) => t.name === 'ema/codebook')!;
      const rows = ze.length / full.codeDim;
      for (let k = 0; k < full.codebookSize; k++) {
        const row = Math.floor((k * rows) / full.codebookSize);
        codebook.values.set(ze.subarray(row * full.codeDim, (row + 1) * full.codeDim), k * full.codeDim);
      }
      trainer.importState(state);
    }
    const checkpoint = parseCheckpoint(checkpointOf(await trainer.exportState(), full));
    const networks = buildExportNetworks(
      { family: 'vqvae', model, ...image, latent: full.codePositions, flow: 'none', flowSteps: 0, decoder: full, encoderInput: encoderInputOf(full) },
      exportParams(checkpoint.tensors),
    );
    const { positions: L } = trainer.nets;
    const K = trainer.codes;
    const random = mulberry32(seed + 2);
    const x = Float32Array.from({ length: N * D }, () => random());
    const codes = await trainer.encodeCodes(x, N);
    const ze = await takeValues(tf.tidy(() => trainer.nets.encode(tf.tensor2d(x, [N, D]))));
    // Decode other grids than the encoder's, and score random code grids with the prior.
    const grids = Int32Array.from({ length: N * L }, () => Math.floor(random() * K));
    const decoded = await trainer.decodeCodes(grids, N);
    const raw = await takeValues(tf.tidy(() => trainer.nets.decode(tf.gather(trainer.ema.codebook, tf.tensor1d(grids, 'int32')) as tf.Tensor2D)));
    const oneHot = Float32Array.from({ length: N * L * K }, (_, i) => (grids[Math.floor(i / K)] === i % K ? 1 : 0));
    const logits = await takeValues(tf.tidy(() => trainer.prior.logits(tf.tensor2d(oneHot, [N, L * K]))));
    expect(new Set(codes).size).toBeGreaterThan(1);
    return {
      networks,
      inputs: { encoder: [float(x, HWC)], decoder: [{ values: grids, shape: [L], dtype: 'int32' }], prior: [float(oneHot, [L * K])] },
      expected: { encoder: { z_e: ze }, decoder: { x_mean: decoded, ...(full.decoder === 'logistic' ? { x_params: raw } : {}) }, prior: { logits } },
      codes,
    };
  } finally {
    trainer.dispose();
  }
}

/** Write every network as tfjs layers, run it in plain tfjs and onnxruntime, and compare with the engine. */
async function verify(label: string, expectation: Expectation): Promise<void> {
  const { networks, inputs, expected, codes } = expectation;
  const root = join(dir, label);
  for (const net of networks.networks) {
    const files = toTfjsLayers(net, 'test');
    mkdirSync(join(root, net.name), { recursive: true });
    writeFileSync(join(root, net.name, 'model.json'), files.modelJson);
    writeFileSync(join(root, net.name, TFJS_WEIGHTS_FILE), files.weights);
  }
  // Every network is checked: against the engine's answers, or (IAF steps) by composing them below.
  expect(networks.networks.map((n) => n.name).filter((n) => !n.startsWith('iaf_step')).sort()).toEqual(Object.keys(expected).sort());
  const jobs = networks.networks.map((net) => ({
    network: net.name,
    n: N,
    inputs: inputs[net.name]!.map((v) => ({ values: Array.from(v.values), shape: v.shape, dtype: v.dtype })),
  }));
  const fromTfjs = await runLoader(root, jobs);

  const diffs: string[] = [];
  const compare = (net: Network, output: string, values: ArrayLike<number>, shape: readonly number[], runtime: string): void => {
    if (output === 'code_scores') {
      // The nearest code is the argmax of the scores: the engine's codes exactly.
      expect(shape.at(-1)).toBe(networks.codes!.size);
      expect(argmaxRows(values, networks.codes!.size), `${label} ${runtime} codes`).toEqual(Array.from(codes!));
      return;
    }
    if (!expected[net.name]) return;
    const want = expected[net.name]![output];
    expect(want, `${label}: unexpected output ${net.name}.${output}`).toBeDefined();
    const diff = maxAbsDiff(values, want!);
    expect(diff, `${label} ${runtime} ${net.name}.${output}`).toBeLessThan(1e-4);
    diffs.push(`${runtime} ${net.name}.${output} ${diff.toExponential(1)}`);
  };

  for (const net of networks.networks) {
    const answer = fromTfjs[net.name]!;
    expect(answer.names).toEqual(net.outputs);
    answer.outputs.forEach((out, i) => compare(net, net.outputs[i]!, out.values, out.shape, 'tfjs'));
    expect(answer.outputs.length).toBe(net.outputs.length);

    const session = await ort.InferenceSession.create(toOnnx(net, 'test'));
    const feeds: Record<string, ort.Tensor> = {};
    net.inputs.forEach((input, i) => {
      const v = inputs[net.name]![i]!;
      feeds[input.name] = new ort.Tensor(v.dtype, v.values, [N, ...v.shape]);
    });
    const result = await session.run(feeds);
    for (const output of net.outputs) {
      const tensor = result[output]!;
      expect(tensor.dims.slice(1)).toEqual(answer.outputs[net.outputs.indexOf(output)]!.shape.slice(1));
      compare(net, output, tensor.data as Float32Array, tensor.dims, 'onnx');
    }
    // Every output the engine answered was checked.
    for (const name of Object.keys(expected[net.name] ?? {})) expect(net.outputs).toContain(name);
  }
  if (expectation.iaf) diffs.push(...(await composeIaf(root, networks, expectation.iaf)));
  console.log(`${label}: max |Δ| ${diffs.join(', ')}`);
}

/**
 * Apply the exported IAF steps as the export's README says — σ = sigmoid(s),
 * z ← σ ⊙ z + (1 − σ) ⊙ m, log|det| += Σ log σ — in both runtimes, and compare z_K
 * and the log-determinant with the engine's flow.
 */
async function composeIaf(root: string, networks: ExportNetworks, iaf: NonNullable<Expectation['iaf']>): Promise<string[]> {
  const steps = networks.networks.filter((n) => n.name.startsWith('iaf_step'));
  expect(steps.length).toBeGreaterThan(0);
  const d = iaf.z0.length / N;
  const c = iaf.context.length / N;
  const diffs: string[] = [];
  const runtimes: [string, (net: Network, z: Float32Array) => Promise<{ m: ArrayLike<number>; s: ArrayLike<number> }>][] = [
    [
      'onnx',
      async (net, z) => {
        const session = await ort.InferenceSession.create(toOnnx(net, 'test'));
        const out = await session.run({ z: new ort.Tensor('float32', z, [N, d]), h: new ort.Tensor('float32', iaf.context, [N, c]) });
        return { m: out['m']!.data as Float32Array, s: out['s']!.data as Float32Array };
      },
    ],
    [
      'tfjs',
      async (net, z) => {
        const answer = (await runLoader(root, [{ network: net.name, n: N, inputs: [{ values: Array.from(z), shape: [d], dtype: 'float32' }, { values: Array.from(iaf.context), shape: [c], dtype: 'float32' }] }]))[net.name]!;
        return { m: answer.outputs[0]!.values, s: answer.outputs[1]!.values };
      },
    ],
  ];
  for (const [runtime, step] of runtimes) {
    let z = Float32Array.from(iaf.z0);
    const logDet = new Float64Array(N);
    for (const net of steps) {
      const { m, s } = await step(net, z);
      z = z.map((v, i) => {
        const sigma = 1 / (1 + Math.exp(-s[i]!));
        logDet[Math.floor(i / d)]! += Math.log(sigma);
        return sigma * v + (1 - sigma) * m[i]!;
      });
    }
    const zDiff = maxAbsDiff(z, iaf.zK);
    const detDiff = maxAbsDiff(logDet, iaf.logDet);
    expect(zDiff, `${runtime} IAF z_K`).toBeLessThan(1e-4);
    expect(detDiff, `${runtime} IAF log|det|`).toBeLessThan(1e-4);
    diffs.push(`${runtime} iaf z_K ${zDiff.toExponential(1)}, log|det| ${detDiff.toExponential(1)}`);
  }
  // The flow moved z: otherwise the comparison says nothing.
  expect(maxAbsDiff(iaf.zK, iaf.z0)).toBeGreaterThan(0.1);
  return diffs;
}

describe('model export: plain tfjs (loadLayersModel in another process) and onnxruntime answer like the engine', () => {
  for (const model of ['mlp', 'conv'] as const) {
    it(`${model} VAE`, async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase({ architecture: model }, 5);
      expect(expectation.networks.networks.map((n) => n.name)).toEqual(['encoder', 'decoder']);
      expect(expectation.networks.networks[1]!.inputs.map((i) => i.name)).toEqual(['z']);
      await verify(`${model}-vae`, expectation);
    }, 60_000);

    it(`${model} conditional VAE with a planar flow (label inputs, flow parameters)`, async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase({ architecture: model, family: 'cvae', flow: 'planar', flowSteps: 2 }, 7);
      expect(expectation.networks.classes).toBe(CLASSES);
      expect(expectation.networks.networks[0]!.outputs).toEqual(['mu', 'log_var', 'flow_params']);
      expect(expectation.networks.networks[1]!.inputs.map((i) => i.name)).toEqual(['z', 'y']);
      await verify(`${model}-cvae-flow`, expectation);
    }, 60_000);

    it(`${model} VAE with an inverse autoregressive flow (context output, one network per step)`, async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase({ architecture: model, flow: 'iaf', flowSteps: 2 }, 13);
      expect(expectation.networks.networks.map((n) => n.name)).toEqual(['encoder', 'decoder', 'iaf_step0', 'iaf_step1']);
      expect(expectation.networks.networks[0]!.outputs).toEqual(['mu', 'log_var', 'flow_context']);
      await verify(`${model}-iaf`, expectation);
    }, 60_000);

    it(`${model} VQ-VAE (codes, codebook lookup, autoregressive prior)`, async () => {
      await useBackend('cpu');
      const expectation = await vqCase({ architecture: model }, 9);
      expect(expectation.networks.networks.map((n) => n.name)).toEqual(['encoder', 'decoder', 'prior']);
      await verify(`${model}-vq`, expectation);
    }, 60_000);
  }

  for (const model of ['mlp', 'conv'] as const) {
    it(`${model} VAE with a discretized logistic mixture decoder (image = mixture mean, and its parameters)`, async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase({ architecture: model, decoder: 'logistic', mixtureComponents: 3 }, 19);
      const decoder = expectation.networks.networks[1]!;
      // The image first, as every decoder's; then 3·K values per sub-pixel.
      expect(decoder.outputs).toEqual(['x_mean', 'x_params']);
      expect(networkShapes(decoder).get('x_mean')).toEqual(hwc(IMAGE));
      expect(networkShapes(decoder).get('x_params')).toEqual([IMAGE.height, IMAGE.width, 3 * 3 * IMAGE.channels]);
      await verify(`${model}-logistic`, expectation);
    }, 60_000);
  }

  it('conv VQ-VAE with a discretized logistic mixture decoder', async () => {
    await useBackend('cpu');
    const expectation = await vqCase({ architecture: 'conv', decoder: 'logistic', mixtureComponents: 2 }, 23);
    expect(expectation.networks.networks.find((n) => n.name === 'decoder')!.outputs).toEqual(['x_mean', 'x_params']);
    await verify('conv-vq-logistic', expectation);
  }, 60_000);

  it('semi-supervised M2 (encoder and decoder with labels, classifier)', async () => {
    await useBackend('cpu');
    const expectation = await gaussianCase({ family: 'm2' }, 11);
    expect(expectation.networks.networks.map((n) => n.name)).toEqual(['encoder', 'decoder', 'classifier']);
    await verify('mlp-m2', expectation);
  }, 60_000);

  it('semi-supervised M2 of the conv model, with its conv classifier', async () => {
    await useBackend('cpu');
    const expectation = await gaussianCase({ family: 'm2', architecture: 'conv', classifier: 'conv' }, 17);
    const classifier = expectation.networks.networks.find((n) => n.name === 'classifier')!;
    expect(classifier.nodes.filter((node) => node.op.kind === 'conv').length).toBe(2);
    await verify('conv-m2', expectation);
  }, 60_000);

  describe('scaled conv (residual blocks, layer norm, odd sides cropped back)', () => {
    it('VAE', async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase(SCALED, 21, ODD_IMAGE);
      const [encoder, decoder] = expectation.networks.networks;
      const kinds = (net: Network): string[] => net.nodes.map((node) => node.op.kind);
      // Two stride-2 stages, each with its norm, two residual blocks at the deepest; the decoder crops 36×20 back to 34×18.
      expect(encoder!.nodes.filter((node) => node.op.kind === 'conv' && node.op.stride === 2).length).toBe(2);
      expect(kinds(encoder!).filter((k) => k === 'add').length).toBe(2);
      expect(kinds(decoder!).filter((k) => k === 'add').length).toBe(2);
      expect(kinds(encoder!).filter((k) => k === 'norm').length).toBe(2);
      expect(kinds(decoder!).at(-1)).toBe('crop');
      await verify('scaled-vae', expectation);
    }, 60_000);

    it('conditional VAE with an inverse autoregressive flow', async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase({ ...SCALED, family: 'cvae', flow: 'iaf', flowSteps: 2 }, 23, ODD_IMAGE);
      await verify('scaled-cvae-iaf', expectation);
    }, 60_000);

    it('M2 with a conv classifier of the same stack', async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase({ ...SCALED, family: 'm2', classifier: 'conv' }, 25, ODD_IMAGE);
      const classifier = expectation.networks.networks.find((n) => n.name === 'classifier')!;
      expect(classifier.nodes.filter((node) => node.op.kind === 'norm').length).toBe(2);
      await verify('scaled-m2', expectation);
    }, 60_000);

    it('VQ-VAE stored before codeGrid (its code grid is the last stage\'s 5×9)', async () => {
      await useBackend('cpu');
      const expectation = await vqCase(SCALED, 27, ODD_IMAGE, true);
      expect(expectation.networks.codes!.grid).toEqual([5, 9]);
      await verify('scaled-vq', expectation);
    }, 60_000);

    it("VQ-VAE with the 'fine' code grid: the stack stops after one stage, at 9×17 codes, and the export reads that off the checkpoint", async () => {
      await useBackend('cpu');
      const expectation = await vqCase({ ...SCALED, codeGrid: 'fine' }, 29, ODD_IMAGE, true);
      expect(expectation.networks.codes!.grid).toEqual([9, 17]);
      const encoder = expectation.networks.networks.find((n) => n.name === 'encoder')!;
      expect(encoder.nodes.filter((node) => node.op.kind === 'conv' && node.op.stride === 2).length).toBe(1);
      await verify('scaled-vq-fine', expectation);
    }, 60_000);
  });

  describe("centred encoder input (encoderInput 'centred'): the exports take pixels in [0, 1] and centre them in their first layer, as the engine does", () => {
    /** The networks that read the image begin with the rescale, tfjs' Rescaling; the others do not have one. */
    const expectCentred = (expectation: Expectation, readers: string[]): void => {
      for (const net of expectation.networks.networks) {
        const rescales = net.nodes.filter((node) => node.op.kind === 'rescale');
        expect(rescales.length, net.name).toBe(readers.includes(net.name) ? 1 : 0);
        if (rescales.length > 0) {
          expect(rescales[0]!.op).toEqual({ kind: 'rescale', scale: 2, offset: -1 });
          expect(JSON.parse(toTfjsLayers(net, 'test').modelJson).modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toContain('Rescaling');
        }
      }
    };

    it('scaled conv M2 with its conv classifier (encoder and classifier centred)', async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase({ ...SCALED, family: 'm2', classifier: 'conv', decoder: 'logistic', encoderInput: 'centred' }, 31, ODD_IMAGE);
      expectCentred(expectation, ['encoder', 'classifier']);
      await verify('centred-scaled-m2', expectation);
    }, 60_000);

    it('MLP conditional VAE with an inverse autoregressive flow (its context from the centred encoder)', async () => {
      await useBackend('cpu');
      const expectation = await gaussianCase({ family: 'cvae', flow: 'iaf', flowSteps: 2, encoderInput: 'centred' }, 33);
      expectCentred(expectation, ['encoder']);
      await verify('centred-mlp-cvae-iaf', expectation);
    }, 60_000);

    it('conv VQ-VAE (the codes of the centred encoder)', async () => {
      await useBackend('cpu');
      const expectation = await vqCase({ ...SCALED, codeGrid: 'fine', encoderInput: 'centred' }, 35, ODD_IMAGE, true);
      expectCentred(expectation, ['encoder']);
      await verify('centred-scaled-vq', expectation);
    }, 60_000);

    it('a config without the field exports no rescale: stored models export as they did', async () => {
      await useBackend('cpu');
      expectCentred(await gaussianCase({ ...SCALED, family: 'm2', classifier: 'conv' }, 31, ODD_IMAGE), []);
    }, 60_000);
  });

  it('refuses a checkpoint whose shapes do not fit the family, naming the parameter', async () => {
    await useBackend('cpu');
    const full = runConfigSchema.parse({ latent: 3, hidden: 24, seed: 1 });
    const trainer = new VaeTrainer({ kind: 'mlp', image: IMAGE, latent: 3, hidden: 24 }, full);
    try {
      const params = exportParams(parseCheckpoint(checkpointOf(await trainer.exportState(), full)).tensors);
      const spec = { model: 'mlp' as const, ...IMAGE, latent: 3, flow: 'none' as const, flowSteps: 0 };
      expect(() => buildExportNetworks({ ...spec, family: 'cvae' }, params)).toThrow(/label inputs beside z.*'cvae'/);
      expect(() => buildExportNetworks({ ...spec, family: 'vae', flow: 'planar', flowSteps: 2 }, params)).toThrow(/mlp\/extra\/w/);
      expect(() => buildExportNetworks({ ...spec, family: 'vae', flow: 'iaf', flowSteps: 2 }, params)).toThrow(/mlp\/extra\/w/);
      expect(() => buildExportNetworks({ ...spec, family: 'vae', latent: 4 }, params)).toThrow(/decoder reads -1 label inputs|head has 6 outputs/);
      expect(() => buildExportNetworks({ ...spec, family: 'vqvae' }, params)).toThrow(/ema\/codebook/);
    } finally {
      trainer.dispose();
    }
  });
});
