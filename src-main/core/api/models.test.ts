// Export and import of trained models through the core, with the real built worker
// (`npm run build` first): a tiny model is trained, exported, loaded by plain tfjs in
// another process and by onnxruntime, imported into a fresh workspace and explored
// there; hostile or damaged archives are refused without touching the workspace.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '@shared/checkpoint-format';
import { manifestSchema, modelCardSchema } from '@shared/model-card';
import { encodeMask, makeMask } from '@shared/pixel-mask';
import { appPaths } from '../../paths';
import { sha256Hex } from '../models/export-model';
import { readZip, writeZip, type ZipEntry } from '../models/zip';
import { handZip } from '../models/zip-testing';
import type { Core } from '../core';
import { settledFinished, tempDir, testCore, trainedRun, writeImageFolder } from '../testing';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let fresh: Core;
let runId = 0;
let archivePath = '';
const SIZE = 16;
const LATENT = 3;

const realWorker = { workerEntry: appPaths.workerEntry };

async function pixelsOf(dataUrl: string): Promise<{ width: number; height: number; data: Buffer }> {
  const { data, info } = await sharp(Buffer.from(dataUrl.split(',')[1]!, 'base64')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

function tfjsRun(folder: string, input: object): Promise<{ mu?: number[]; decoded?: number[]; decodedShape?: number[] }> {
  const inputPath = join(dir.path, `tfjs-input-${Date.now()}.json`);
  writeFileSync(inputPath, JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'models', 'fixtures', 'tfjs-run.mjs'), folder, inputPath], { cwd: appPaths.root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout) as never) : reject(new Error(`tfjs process exited ${code}: ${stderr}`))));
  });
}

/** Workspace fingerprint: row counts and blob files. */
function snapshot(c: Core): string {
  const tables = ['projects', 'datasets', 'runs', 'metrics', 'artifacts', 'checkpoints'];
  const counts = tables.map((t) => c.workspace.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get());
  const blobs = readdirSync(c.workspace.blobs.dir, { recursive: true }).map(String).sort();
  return JSON.stringify({ counts, blobs });
}

/** A zip written without our writer's checks, so hostile entries can be made. */
const rawZip = (entries: { path: string; data: Uint8Array; mode?: number }[]): Uint8Array => handZip(entries.map(({ path, data, mode }) => ({ path, body: data, mode })));

/** The exported archive's entries with `change` applied, re-zipped (manifest untouched unless changed). */
function tampered(change: (entries: ZipEntry[]) => ZipEntry[]): Uint8Array {
  return writeZip(change(readZip(readFileSync(archivePath))));
}

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir();
  core = testCore(join(dir.path, 'home'), realWorker);
  fresh = testCore(join(dir.path, 'fresh-home'), realWorker);
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 30, { size: SIZE });
  ({ runId } = await trainedRun(core, {
    project: 'export',
    folder: join(dir.path, 'shapes'),
    size: SIZE,
    name: 'shapes mlp',
    // Bernoulli named (8-bit images default to the logistic decoder): the plain-tfjs fixture reads one output.
    config: { architecture: 'mlp', latent: LATENT, hidden: 32, epochs: 2, batchSize: 16, backend: 'cpu', iwaeSamples: 10, decoder: 'bernoulli' },
  }));
  await fresh.call('projects.create', { name: 'elsewhere' });
}, 120_000);
afterAll(async () => {
  await core?.close();
  await fresh?.close();
  dir?.cleanup();
});

describe('models.export', () => {
  it('writes one .vaestudio archive with card, README, metrics, samples, tfjs, onnx and a hashed manifest', async () => {
    const started = Date.now();
    const result = await core.call('models.export', { runId, path: join(dir.path, 'shapes-model'), checkpoint: 'best' });
    console.log(`archive export: ${result.bytes} bytes in ${Date.now() - started} ms`);
    archivePath = result.path;
    expect(result.path).toBe(join(dir.path, 'shapes-model.vaestudio'));
    expect(readFileSync(result.path).length).toBe(result.bytes);
    const entries = readZip(readFileSync(result.path));
    const paths = entries.map((e) => e.path);
    for (const p of ['manifest.json', 'model-card.json', 'README.md', 'metrics.csv', 'samples/samples.png', 'tfjs/encoder/model.json', 'tfjs/decoder/weights.bin', 'onnx/encoder.onnx', 'onnx/decoder.onnx', 'app/checkpoint.vaeckpt', 'app/heldout.vaesds']) {
      expect(paths).toContain(p);
    }
    const files = new Map(entries.map((e) => [e.path, e.data]));
    const manifest = manifestSchema.parse(JSON.parse(files.get('manifest.json')!.toString()));
    expect(manifest.files.map((f) => f.path).sort()).toEqual(paths.filter((p) => p !== 'manifest.json').sort());
    for (const f of manifest.files) expect(sha256Hex(files.get(f.path)!)).toBe(f.sha256);

    const card = modelCardSchema.parse(JSON.parse(files.get('model-card.json')!.toString()));
    const run = await core.call('runs.get', { runId });
    expect(card.architecture).toMatchObject({ kind: 'mlp', latent: LATENT, hidden: 32 });
    expect(card.decoder.likelihood).toBe('bernoulli');
    expect(card.preprocessing).toMatchObject({ width: SIZE, height: SIZE, channels: 1, fit: 'resize', binarize: false });
    expect(card.dataset.labels).toEqual(['left', 'right']);
    expect(card.metrics.testNll).toBe(run.summary.test_nll);
    expect(Number.isFinite(card.metrics.testNll)).toBe(true);
    expect(card.backend.name).toBe(run.backend);
    // Every test image is exported; the bound says how many of them it read.
    expect(card.heldout).toEqual({ split: 'test', count: run.summary.test_images_total });
    expect(card.heldout.count).toBeGreaterThan(0);
    expect(card.training.latent).toBe(LATENT);
    const csv = files.get('metrics.csv')!.toString();
    expect(csv).toMatch(/^step,epoch,name,value,t_ms\n\d+,\d+,\w+,/);
    expect(csv).toMatch(new RegExp(`\n\\d+,2,test_nll,${run.summary.test_nll},`));
    expect(files.get('README.md')!.toString()).toContain('loadLayersModel');
    expect(files.get('README.md')!.toString()).toContain(`bits/dim, on ${run.summary.test_images} of ${run.summary.test_images_total} test images.`);

    // The archived checkpoint has the run's exact weights; Adam's moments are zeroed, its hash recomputed.
    const original = parseCheckpoint(core.workspace.blobs.read(core.workspace.db.prepare(`SELECT blob_hash FROM checkpoints WHERE run_id = ? AND kind = 'best'`).pluck().get(runId) as string));
    const archived = parseCheckpoint(files.get('app/checkpoint.vaeckpt')!);
    expect(sha256Hex(archived.body)).toBe(Buffer.from(archived.hash).toString('hex'));
    expect(archived.tensors.map((t) => t.name)).toEqual(original.tensors.map((t) => t.name));
    archived.tensors.forEach((t, i) => {
      if (t.name.startsWith('param/')) expect(Buffer.from(t.values.buffer).equals(Buffer.from(original.tensors[i]!.values.buffer))).toBe(true);
      else if (t.name.startsWith('adam_')) expect(t.values.every((v) => v === 0)).toBe(true);
    });
    expect(original.tensors.some((t) => t.name.startsWith('adam_') && t.values.some((v) => v !== 0))).toBe(true);
  });

  it('exports every model family with its own networks and card, and each imports and answers again', async () => {
    const base = await core.call('runs.get', { runId });
    const families = [
      { config: { family: 'cvae', flow: 'planar', flowSteps: 2 }, networks: ['encoder', 'decoder'], readme: /one-hot class.*0 = left, 1 = right[\s\S]*Planar flow/ },
      // A conv M2 (its classifier is conv too), centred: its card and README say so, and its import keeps it. The MLP one's networks are checked in export-roundtrip.test.ts.
      {
        config: { family: 'm2', architecture: 'conv', classifier: 'conv', backend: 'wasm', labelFraction: 0.5, encoderInput: 'centred' },
        networks: ['encoder', 'decoder', 'classifier'],
        readme: /Classifier[\s\S]*encoder and classifier centre it to 2x − 1/,
      },
      { config: { family: 'vae', flow: 'iaf', flowSteps: 2 }, networks: ['encoder', 'decoder', 'iaf_step0', 'iaf_step1'], readme: /Inverse autoregressive flow.*`flow_context` h \[N, 6\]/ },
      { config: { family: 'vqvae', codebookSize: 8, codeDim: 2, codePositions: 4, epochs: 3, priorEpochs: 1 }, networks: ['encoder', 'decoder', 'prior'], readme: /argmax of `code_scores`[\s\S]*autoregressive/ },
    ] as const;
    const runs = [];
    for (const family of families) {
      runs.push(await core.call('runs.create', { projectId: base.projectId, datasetId: base.datasetId, name: family.config.family, config: { ...base.config, ...family.config } }));
    }
    for (const [i, family] of families.entries()) {
      const run = runs[i]!;
      await settledFinished(core, run.id);
      const result = await core.call('models.export', { runId: run.id, path: join(dir.path, `family-${family.config.family}`) });
      const files = new Map(readZip(readFileSync(result.path)).map((e) => [e.path, e.data]));
      for (const name of family.networks) {
        expect(files.has(`tfjs/${name}/model.json`)).toBe(true);
        expect(files.has(`onnx/${name}.onnx`)).toBe(true);
      }
      const card = modelCardSchema.parse(JSON.parse(files.get('model-card.json')!.toString()));
      expect(card.architecture.family).toBe(family.config.family);
      // Only the M2 run is centred; the others' cards say the encoder reads [0, 1] as before.
      expect(card.preprocessing.encoderInput).toBe(family.config.family === 'm2' ? 'centred' : 'unit');
      if (family.config.family === 'm2') {
        expect(run.config.encoderInput).toBe('centred');
        expect(card.architecture.networks?.find((n) => n.name === 'classifier')?.layers[1]).toMatch(/x_centred ← x: Rescale x·2 − 1/);
        expect(run.config.classifier).toBe('conv');
        expect(card.architecture.networks?.find((n) => n.name === 'classifier')?.layers.some((layer) => layer.includes('Conv'))).toBe(true);
      }
      expect(card.architecture.networks?.map((n) => n.name)).toEqual([...family.networks]);
      expect(card.architecture.classes).toBe(family.config.family === 'cvae' || family.config.family === 'm2' ? 2 : 0);
      expect(files.get('README.md')!.toString()).toMatch(family.readme);

      // Every exported ONNX network runs on the inputs its card names.
      for (const net of card.architecture.networks!) {
        const session = await ort.InferenceSession.create(files.get(`onnx/${net.name}.onnx`)!);
        expect(session.inputNames).toEqual(net.inputs);
        expect(session.outputNames).toEqual(net.outputs);
      }

      const imported = await fresh.call('models.import', { projectId: 1, path: result.path });
      expect(imported.config).toEqual((await core.call('runs.get', { runId: run.id })).config);
      if (family.config.family === 'cvae') {
        const generated = await fresh.call('explore.generateClass', { runId: imported.id, label: 1, count: 4 });
        expect(generated.label).toBe(1);
      } else {
        // The imported checkpoint scores its held-out images again (the test split it came with).
        await fresh.call('runs.evaluate', { runId: imported.id, iwaeSamples: 5 });
        await fresh.runs.evaluationSettled(imported.id);
        const summary = (await fresh.call('runs.get', { runId: imported.id })).summary;
        expect(summary.iwae_k).toBe(5);
        expect(Number.isFinite(summary.test_nll)).toBe(true);
      }
      if (family.config.family === 'vqvae') {
        // Explore opens the imported VQ-VAE: its prior samples, and the code grid of a held-out image.
        const samples = await fresh.call('explore.samples', { runId: imported.id, count: 4, temperature: 0 });
        expect(samples.prior).toBe('learned');
        const page = await fresh.call('explore.images', { runId: imported.id, split: 'test', count: 1 });
        const codes = await fresh.call('explore.codes', { runId: imported.id, index: page.images[0]!.index, from: 1, count: 2 });
        expect(codes.codes).toHaveLength(4);
      }
    }
  }, 240_000);

  it('refuses to overwrite a non-empty folder and names the field', async () => {
    mkdirSync(join(dir.path, 'busy'));
    writeFileSync(join(dir.path, 'busy', 'x.txt'), 'x');
    await expect(core.call('models.export', { runId, path: join(dir.path, 'busy'), format: 'tfjs' })).rejects.toMatchObject({ code: 'conflict', details: { field: 'path' } });
  });
});

describe('round trip', () => {
  it('imports the archive into a fresh workspace; plain tfjs decodes like the app (Explore interpolation), onnxruntime like tfjs; Inpaint works on it', async () => {
    const imported = await fresh.call('models.import', { projectId: 1, path: archivePath });
    expect(imported).toMatchObject({ status: 'finished', projectId: 1, config: { architecture: 'mlp', latent: LATENT } });
    expect(imported.imported?.card.source.runId).toBe(runId);
    expect(imported.tags).toContain('imported');
    // Named as a copy, not a second row that reads like the original.
    expect(imported.name).toBe('shapes mlp (imported)');
    expect((await fresh.call('runs.metrics', { runId: imported.id, names: ['loss'] })).series[0]?.step.length).toBeGreaterThan(0);
    expect((await fresh.call('runs.artifacts', { runId: imported.id, latest: true })).map((a) => a.kind)).toContain('samples');

    const info = await fresh.call('explore.info', { runId: imported.id });
    expect(info).toMatchObject({ latent: LATENT, width: SIZE, height: SIZE, labels: ['left', 'right'] });
    const page = await fresh.call('explore.images', { runId: imported.id, split: 'test', count: 2 });
    expect(page.total).toBe(imported.imported!.card.heldout.count);
    const [a, b] = page.images;
    const steps = 6;
    const strip = await fresh.call('explore.interpolate', { runId: imported.id, from: a!.index, to: b!.index, steps, mode: 'linear' });

    // The same thing with plain tfjs from the archive's files, in another process.
    const tfjsDir = join(dir.path, 'unpacked');
    for (const e of readZip(readFileSync(archivePath))) {
      if (!e.path.startsWith('tfjs/')) continue;
      mkdirSync(join(tfjsDir, ...e.path.split('/').slice(1, -1)), { recursive: true });
      writeFileSync(join(tfjsDir, ...e.path.split('/').slice(1)), e.data);
    }
    const images = await Promise.all([a!, b!].map((img) => pixelsOf(img.dataUrl)));
    const x = images.flatMap((img) => Array.from(img.data, (v) => v / 255));
    const encoded = await tfjsRun(tfjsDir, { image: [SIZE, SIZE, 1], latent: LATENT, x });
    const mu = encoded.mu!;
    const z: number[] = [];
    for (let i = 0; i < steps; i++) for (let j = 0; j < LATENT; j++) z.push((1 - i / (steps - 1)) * mu[j]! + (i / (steps - 1)) * mu[LATENT + j]!);
    const decoded = await tfjsRun(tfjsDir, { image: [SIZE, SIZE, 1], latent: LATENT, z });
    expect(decoded.decodedShape).toEqual([steps, SIZE, SIZE, 1]);

    // The app's strip: tiles of SIZE px with a 2 px gap, values round(255 · mean).
    const app = await pixelsOf(strip.stripDataUrl);
    let maxDiff = 0;
    for (let k = 0; k < steps; k++) {
      for (let y = 0; y < SIZE; y++) {
        for (let xx = 0; xx < SIZE; xx++) {
          const appValue = app.data[(2 + y) * app.width + 2 + k * (SIZE + 2) + xx]! / 255;
          maxDiff = Math.max(maxDiff, Math.abs(decoded.decoded![(k * SIZE + y) * SIZE + xx]! - appValue));
        }
      }
    }
    let same = 0;
    for (let k = 0; k < steps; k++) {
      for (let y = 0; y < SIZE; y++) {
        for (let xx = 0; xx < SIZE; xx++) {
          const appByte = app.data[(2 + y) * app.width + 2 + k * (SIZE + 2) + xx]!;
          if (Math.round(Math.min(1, Math.max(0, decoded.decoded![(k * SIZE + y) * SIZE + xx]!)) * 255) === appByte) same++;
        }
      }
    }
    const total = steps * SIZE * SIZE;
    console.log(`tfjs vs the app's decode (8-bit strip): max |Δ| ${maxDiff.toExponential(3)} (rounding alone allows ${(0.5 / 255).toExponential(3)}); ${same}/${total} pixels identical after rounding`);
    expect(same).toBeGreaterThanOrEqual(total - 2);
    expect(maxDiff).toBeLessThanOrEqual(0.5 / 255 + 1e-4);
    // The strip is not flat: the decode depends on the latent.
    expect(Math.max(...app.data) - Math.min(...app.data)).toBeGreaterThan(50);

    // Inpaint with the imported model: the bottom half of a held-out image is missing.
    const missing = makeMask('bottom', SIZE, SIZE, () => 0.5);
    const frame = await fresh.call('inpaint.run', { runId: imported.id, jobId: 'imported-1', image: { index: a!.index }, mask: encodeMask(missing), method: 'importance', iterations: 5, samples: 2, proposals: 16 });
    expect(frame).toMatchObject({ done: true, width: SIZE, height: SIZE, channels: 1 });
    const filled = await pixelsOf(frame.meanDataUrl);
    const original = images[0]!;
    let observedSame = 0;
    let observed = 0;
    for (let i = 0; i < SIZE * SIZE; i++) {
      if (missing[i]) continue;
      observed++;
      if (filled.data[i] === original.data[i]) observedSame++;
    }
    expect(observed).toBeGreaterThan(0);
    expect(observedSame).toBe(observed);

    const onnx = readZip(readFileSync(archivePath)).find((e) => e.path === 'onnx/decoder.onnx')!;
    const session = await ort.InferenceSession.create(onnx.data);
    const out = (await session.run({ z: new ort.Tensor('float32', Float32Array.from(z), [steps, LATENT]) }))['x_mean']!;
    const onnxDiff = Math.max(...Array.from(out.data as Float32Array, (v, i) => Math.abs(v - decoded.decoded![i]!)));
    console.log(`onnxruntime vs tfjs decode: max |Δ| ${onnxDiff.toExponential(3)}`);
    expect(onnxDiff).toBeLessThan(1e-5);

    // Its dataset holds only held-out images: training on it (e.g. Clone) is refused by name.
    await expect(fresh.call('runs.create', { projectId: 1, datasetId: imported.datasetId, config: imported.config })).rejects.toMatchObject({
      code: 'invalid_input',
      details: { field: 'datasetId' },
      message: expect.stringMatching(/no training images/),
    });
  }, 120_000);

  it('exports tfjs and onnx folders that import too', async () => {
    for (const format of ['tfjs', 'onnx'] as const) {
      const result = await core.call('models.export', { runId, path: join(dir.path, `folder-${format}`), format, checkpoint: 'last' });
      const names = readdirSync(result.path, { recursive: true }).map(String);
      expect(names.some((n) => n.startsWith('tfjs'))).toBe(format === 'tfjs');
      expect(names.some((n) => n.startsWith('onnx'))).toBe(format === 'onnx');
      const run = await fresh.call('models.import', { projectId: 1, path: result.path });
      expect(run.imported?.card.formats).toEqual({ tfjs: format === 'tfjs', onnx: format === 'onnx' });
      expect(run.imported?.card.source.checkpoint).toBe('last');
    }
  });
});

describe('models.import refuses bad input and leaves the workspace untouched', () => {
  const cases: [string, () => Uint8Array | string, RegExp][] = [
    ['a zip-slip entry', () => rawZip([{ path: '../escaped.txt', data: Buffer.from('x') }]), /"\.\.\/escaped\.txt".*leave the target folder/],
    ['an absolute path', () => rawZip([{ path: '/tmp/abs.txt', data: Buffer.from('x') }]), /absolute path/],
    ['a symlink entry', () => rawZip([{ path: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), /not a regular file/],
    ['a foreign file', () => Buffer.from('\x89PNG\r\n\x1a\n not a model'), /not a zip archive/],
    ['a zip without manifest', () => rawZip([{ path: 'hello.txt', data: Buffer.from('hi') }]), /no manifest\.json/],
    ['a damaged checkpoint', () => tampered((es) => es.map((e) => (e.path === 'app/checkpoint.vaeckpt' ? { ...e, data: Uint8Array.from(e.data, (v, i) => (i === 100 ? v ^ 1 : v)) } : e))), /"app\/checkpoint\.vaeckpt" is damaged/],
    ['a truncated archive', () => readFileSync(archivePath).subarray(0, 5000), /not a zip archive|truncated|runs past/],
    [
      'a newer format version',
      () => tampered((es) => es.map((e) => (e.path === 'manifest.json' ? { ...e, data: Buffer.from(JSON.stringify({ ...JSON.parse(e.data.toString()), formatVersion: 99 })) } : e))),
      /newer VAE Studio \(export format 99/,
    ],
    ['an unlisted extra file', () => tampered((es) => [...es, { path: 'extra.sh', data: Buffer.from('rm -rf /') }]), /"extra\.sh" is not listed/],
  ];
  for (const [what, make, message] of cases) {
    it(what, async () => {
      const file = join(dir.path, `bad-${what.replace(/\W+/g, '-')}.vaestudio`);
      const content = make();
      writeFileSync(file, content);
      const before = snapshot(fresh);
      const reply = await fresh.handle('models.import', { projectId: 1, path: file });
      expect(reply.ok).toBe(false);
      if (reply.ok) return;
      expect(reply.error.code).toBe('invalid_input');
      expect(reply.error.details?.field).toBe('path');
      expect(reply.error.message).toMatch(message);
      expect(reply.error.message).toContain(file);
      expect(snapshot(fresh)).toBe(before);
      expect(existsSync(join(dir.path, 'escaped.txt'))).toBe(false);
    });
  }

  it('a missing path is not_found', async () => {
    const before = snapshot(fresh);
    await expect(fresh.call('models.import', { projectId: 1, path: join(dir.path, 'nope.vaestudio') })).rejects.toMatchObject({ code: 'not_found' });
    expect(snapshot(fresh)).toBe(before);
  });
});

describe("the card's held-out figure", () => {
  it('is the run’s latest evaluation (the evaluation job, on its inference threads), read from the run, never computed again by export', async () => {
    await core.call('runs.evaluate', { runId, iwaeSamples: 20 });
    await core.runs.evaluationSettled(runId);
    const run = await core.call('runs.get', { runId });
    expect(run.summary.iwae_k).toBe(20);
    expect(run.summary.iwae_threads).toBeGreaterThanOrEqual(1);
    const result = await core.call('models.export', { runId, path: join(dir.path, 'after-evaluation'), checkpoint: 'best' });
    const files = new Map(readZip(readFileSync(result.path)).map((e) => [e.path, e.data]));
    const card = modelCardSchema.parse(JSON.parse(files.get('model-card.json')!.toString()));
    expect(card.metrics).toMatchObject({ testNll: run.summary.test_nll, testBpd: run.summary.test_bpd, iwaeK: 20 });
    expect(card.metrics.final['iwae_threads']).toBe(run.summary.iwae_threads);
    expect(files.get('README.md')!.toString()).toContain(`IWAE bound, k = 20): `);
  });
});
