// The exported models must compute what the app computes. A VAE of the engine with
// random weights (biases included, so a swapped bias would show) is written as a
// checkpoint by the worker's own writer, converted by src-shared/model-export, then
//  - loaded with plain @tensorflow/tfjs `loadLayersModel` over HTTP in a separate Node
//    process (no code of ours there), and
//  - run by onnxruntime-node,
// and both must decode the same latents and encode the same images as the engine.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { runConfigSchema, type ModelKind } from '@shared/config';
import { checkpointParams, parseCheckpoint } from '@shared/checkpoint-format';
import { buildVaeNetworks } from '@shared/model-export/graph';
import { toOnnx } from '@shared/model-export/onnx';
import { toTfjsLayers, TFJS_WEIGHTS_FILE } from '@shared/model-export/tfjs-layers';
import { mulberry32 } from '@shared/random';
import { tf } from '../engine/tf';
import { takeValues } from '../engine/read';
import { createRng } from '../engine/random';
import { encodeCheckpoint } from '../io/checkpoint-file';
import { VaeTrainer } from '../train/trainer';
import { useBackend } from '../testing/setup';

const dir = mkdtempSync(join(tmpdir(), 'vae-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Plain tfjs in its own process: serve the folder over HTTP, loadLayersModel, predict. */
const LOADER = `
import * as tf from '@tensorflow/tfjs';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
const [root, inputJson] = process.argv.slice(1);
const input = JSON.parse(readFileSync(inputJson, 'utf8'));
const server = createServer((req, res) => {
  try { res.end(readFileSync(join(root, decodeURIComponent(req.url.split('?')[0])))); }
  catch { res.statusCode = 404; res.end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = 'http://127.0.0.1:' + server.address().port;
const decoder = await tf.loadLayersModel(base + '/decoder/model.json');
const encoder = await tf.loadLayersModel(base + '/encoder/model.json');
const decoded = decoder.predict(tf.tensor2d(input.z, [input.n, input.latent]));
const [mu, logVar] = encoder.predict(tf.tensor4d(input.x, [input.n, ...input.image]));
process.stdout.write(JSON.stringify({
  backend: tf.getBackend(),
  decodedShape: decoded.shape,
  decoded: Array.from(await decoded.data()),
  mu: Array.from(await mu.data()),
  logVar: Array.from(await logVar.data()),
}));
server.close();
`;

function runLoader(root: string, input: object): Promise<{ backend: string; decodedShape: number[]; decoded: number[]; mu: number[]; logVar: number[] }> {
  const inputPath = join(root, 'input.json');
  writeFileSync(inputPath, JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', LOADER, root, inputPath], { cwd: process.cwd() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`tfjs loader exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as never);
    });
  });
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

async function exportedModel(kind: ModelKind): Promise<{ trainer: VaeTrainer; checkpoint: Uint8Array; image: [number, number, 1 | 3] }> {
  await useBackend('cpu');
  // Non-square, 3 channels: a swapped width/height or channel order cannot pass.
  const image = { width: 12, height: 8, channels: 3 as const };
  const config = runConfigSchema.parse({ model: kind, latent: 3, hidden: 24, seed: 5 });
  const trainer = new VaeTrainer({ kind, image, latent: config.latent, hidden: config.hidden }, config);
  const state = await trainer.exportState();
  const random = mulberry32(11);
  for (const t of state.tensors) if (t.name.startsWith('param/')) t.values = t.values.map(() => (random() - 0.5) * 0.6);
  trainer.importState(state);
  const checkpoint = encodeCheckpoint(
    {
      epoch: 1,
      step: 10,
      trainer: state,
      shuffle: createRng(1, 9).getState(),
      progress: { elapsedMs: 0, trainedImages: 0, trainMs: 0, evalLoss: null, bestEvalLoss: null, isBest: false },
    },
    config,
  );
  return { trainer, checkpoint, image: [image.height, image.width, image.channels] };
}

for (const kind of ['mlp', 'conv'] as const) {
  describe(`${kind} VAE export`, () => {
    it('plain tfjs (loadLayersModel in another process) and onnxruntime decode and encode like the engine', async () => {
      const { trainer, checkpoint, image } = await exportedModel(kind);
      try {
        const parsed = parseCheckpoint(checkpoint);
        const networks = buildVaeNetworks({ model: kind, height: image[0], width: image[1], channels: image[2], latent: 3 }, checkpointParams(parsed));
        const root = join(dir, kind);
        for (const net of [networks.encoder, networks.decoder]) {
          const files = toTfjsLayers(net, 'test');
          mkdirSync(join(root, net.name), { recursive: true });
          writeFileSync(join(root, net.name, 'model.json'), files.modelJson);
          writeFileSync(join(root, net.name, TFJS_WEIGHTS_FILE), files.weights);
        }

        const n = 5;
        const random = mulberry32(3);
        const z = Float32Array.from({ length: n * 3 }, () => (random() - 0.5) * 4);
        const D = image[0] * image[1] * image[2];
        const x = Float32Array.from({ length: n * D }, () => random());
        const appDecoded = await trainer.decodeMean(z, n);
        const [appMu, appLogVar] = await (async () => {
          const { mu, logVar } = trainer.model.encode(tf.tensor2d(x, [n, D]));
          return [await takeValues(mu), await takeValues(logVar)];
        })();
        // The decoder must actually depend on z (else equal outputs prove nothing).
        expect(maxAbsDiff(appDecoded.subarray(0, D), appDecoded.subarray(D, 2 * D))).toBeGreaterThan(1e-3);

        const started = Date.now();
        const fromTfjs = await runLoader(root, { z: Array.from(z), x: Array.from(x), n, latent: 3, image });
        const tfjsMs = Date.now() - started;
        expect(fromTfjs.decodedShape).toEqual([n, ...image]);
        const tfjsDecodeDiff = maxAbsDiff(fromTfjs.decoded, appDecoded);
        expect(tfjsDecodeDiff).toBeLessThan(1e-5);
        expect(maxAbsDiff(fromTfjs.mu, appMu!)).toBeLessThan(1e-4);
        expect(maxAbsDiff(fromTfjs.logVar, appLogVar!)).toBeLessThan(1e-4);

        const decoderSession = await ort.InferenceSession.create(toOnnx(networks.decoder, 'test'));
        const encoderSession = await ort.InferenceSession.create(toOnnx(networks.encoder, 'test'));
        const decoded = (await decoderSession.run({ z: new ort.Tensor('float32', z, [n, 3]) }))['x_mean']!;
        expect(decoded.dims).toEqual([n, ...image]);
        const onnxDecodeDiff = maxAbsDiff(decoded.data as Float32Array, appDecoded);
        expect(onnxDecodeDiff).toBeLessThan(1e-5);
        const encoded = await encoderSession.run({ x: new ort.Tensor('float32', x, [n, ...image]) });
        expect(maxAbsDiff(encoded['mu']!.data as Float32Array, appMu!)).toBeLessThan(1e-4);
        expect(maxAbsDiff(encoded['log_var']!.data as Float32Array, appLogVar!)).toBeLessThan(1e-4);
        console.log(`${kind}: max |Δ| decode tfjs ${tfjsDecodeDiff.toExponential(2)}, onnx ${onnxDecodeDiff.toExponential(2)}; tfjs process ${tfjsMs} ms`);
      } finally {
        trainer.dispose();
      }
    }, 60_000);
  });
}
