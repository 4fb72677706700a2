// Checkpoints written before the networks were declared once (src-shared/model-export/
// architectures.ts) must still load and answer as they did. The fixtures were written by
// the code of commit bc6c946: one tiny model per family (12×8 grey images, hidden 8), its
// weights set to quantized random values (large conv filters mostly zero, to keep the
// files small), one training step's Adam moments, saved with the worker's own checkpoint
// writer; expected.json.gz holds what that engine answered for fixed inputs. Here the
// current trainers load each file through the same reader a resumed run uses, must give
// the same answers, write the same tensor names and shapes back, and export.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runConfigSchema } from '@shared/config';
import { parseCheckpoint } from '@shared/checkpoint-format';
import { buildExportNetworks, exportParams } from '@shared/model-export/networks';
import { tf } from '../engine/tf';
import { takeValues } from '../engine/read';
import { decodeCheckpoint } from '../io/checkpoint-file';
import { VaeTrainer } from '../train/trainer';
import { VqVaeTrainer } from '../train/vq-trainer';
import type { VaeSpec } from './vae';
import type { VqSpec } from './vq';
import { useBackend } from '../testing/setup';

const FIXTURES = join(__dirname, 'fixtures');

interface Case {
  label: string;
  config: unknown;
  spec: VaeSpec | VqSpec;
  checkpoint: string;
  inputs: { x: number[]; z?: number[]; labels?: number[]; zq?: number[]; grids?: number[] };
  expected: Record<string, number[]>;
}

const fixture = JSON.parse(gunzipSync(readFileSync(join(FIXTURES, 'expected.json.gz'))).toString('utf8')) as {
  madeBy: string;
  n: number;
  classes: number;
  cases: Case[];
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** The answers must be the old engine's, to float rounding (the same ops on the same backend). */
function same(label: string, got: ArrayLike<number>, want: number[] | undefined): void {
  expect(want, `${label}: the fixture has this answer`).toBeDefined();
  expect(maxAbsDiff(got, want!), label).toBeLessThan(1e-5);
}

function load(c: Case): { bytes: Uint8Array; state: ReturnType<typeof decodeCheckpoint>['checkpoint']['trainer'] } {
  const bytes = new Uint8Array(gunzipSync(readFileSync(join(FIXTURES, c.checkpoint))));
  return { bytes, state: decodeCheckpoint(bytes).checkpoint.trainer };
}

describe(`checkpoints written by ${fixture.madeBy} load into today's networks and answer the same`, () => {
  const { n: N, classes: CLASSES } = fixture;
  expect(fixture.cases.map((c) => c.label).sort()).toEqual(
    ['conv-m2-conv-classifier', 'conv-vqvae', 'mlp-cvae-planar', 'mlp-iaf', 'mlp-m2', 'mlp-vae', 'mlp-vqvae'].sort(),
  );

  for (const c of fixture.cases.filter((c) => !c.label.endsWith('vqvae'))) {
    it(c.label, async () => {
      await useBackend('cpu');
      const config = runConfigSchema.parse(c.config);
      const spec = c.spec as VaeSpec;
      const { bytes, state } = load(c);
      const trainer = new VaeTrainer(spec, config);
      try {
        trainer.importState(state);
        const D = trainer.inputSize;
        const d = spec.latent;
        const conditional = (spec.classes ?? 0) > 0;
        const y = Float32Array.from({ length: N * CLASSES }, (_, i) => (c.inputs.labels![Math.floor(i / CLASSES)] === i % CLASSES ? 1 : 0));
        const out = tf.tidy(() => {
          const yT = conditional ? tf.tensor2d(y, [N, CLASSES]) : undefined;
          const e = trainer.model.encodeExtra(tf.tensor2d(c.inputs.x, [N, D]), yT);
          const decoded = trainer.model.decode(tf.tensor2d(c.inputs.z!, [N, d]), yT);
          const logits = trainer.classifier?.logits(tf.tensor2d(c.inputs.x, [N, D])) ?? tf.zeros([0, 0]);
          const flowed = trainer.flow?.apply(tf.tensor2d(c.inputs.z!, [N, d]), e.extra);
          return [e.mu, e.logVar, e.extra, decoded, logits, flowed?.z ?? tf.zeros([0]), flowed?.logDet ?? tf.zeros([0])];
        });
        const values = await Promise.all(out.map((t) => takeValues(t)));
        ['mu', 'logVar', 'extra', 'decoded', 'logits', 'zK', 'logDet'].forEach((name, i) => same(`${c.label} ${name}`, values[i]!, c.expected[name]));
        // The answers are not trivially equal (zero weights would pass anything).
        expect(maxAbsDiff(values[3]!.subarray(0, D), values[3]!.subarray(D, 2 * D))).toBeGreaterThan(1e-3);
        if (c.label.includes('iaf')) expect(maxAbsDiff(values[5]!, c.inputs.z!)).toBeGreaterThan(1e-2);

        // Saved again, it has the same tensors under the same names and shapes.
        const again = await trainer.exportState();
        expect(again.tensors.map((t) => `${t.name} ${t.shape.join('x')}`)).toEqual(state.tensors.map((t) => `${t.name} ${t.shape.join('x')}`));
        // And the export reads it.
        const exported = buildExportNetworks(
          { family: config.family, model: config.architecture, ...spec.image, latent: d, flow: config.flow, flowSteps: config.flowSteps },
          exportParams(parseCheckpoint(bytes).tensors),
        );
        expect(exported.networks.length).toBeGreaterThanOrEqual(2);
      } finally {
        trainer.dispose();
      }
    });
  }

  for (const c of fixture.cases.filter((c) => c.label.endsWith('vqvae'))) {
    it(c.label, async () => {
      await useBackend('cpu');
      const config = runConfigSchema.parse(c.config);
      const spec = c.spec as VqSpec;
      // The stored config named the architecture `model` and kept the code positions in `latent`.
      expect(c.config).toHaveProperty('model');
      expect(config.architecture).toBe(spec.kind);
      expect(config.codePositions).toBe(spec.positions);
      const { bytes, state } = load(c);
      const trainer = new VqVaeTrainer(spec, config);
      try {
        trainer.importState(state);
        const D = trainer.inputSize;
        const L = trainer.nets.positions;
        const K = trainer.codes;
        const e = config.codeDim;
        const ze = await takeValues(tf.tidy(() => trainer.nets.encode(tf.tensor2d(c.inputs.x, [N, D]))));
        const decoded = await takeValues(tf.tidy(() => trainer.nets.decode(tf.tensor2d(c.inputs.zq!, [N * L, e]))));
        const oneHot = Float32Array.from({ length: N * L * K }, (_, i) => (c.inputs.grids![Math.floor(i / K)] === i % K ? 1 : 0));
        const priorLogits = await takeValues(tf.tidy(() => trainer.prior.logits(tf.tensor2d(oneHot, [N, L * K]))));
        const logProb = await takeValues(tf.tidy(() => trainer.prior.logProb(tf.tensor1d(c.inputs.grids!, 'int32'))));
        same(`${c.label} z_e`, ze, c.expected['ze']);
        same(`${c.label} decoded`, decoded, c.expected['decoded']);
        same(`${c.label} prior logits`, priorLogits, c.expected['priorLogits']);
        same(`${c.label} log π`, logProb, c.expected['logProb']);
        expect(Array.from(await trainer.encodeCodes(Float32Array.from(c.inputs.x), N))).toEqual(c.expected['codes']);
        expect(maxAbsDiff(decoded.subarray(0, D), decoded.subarray(D, 2 * D))).toBeGreaterThan(1e-3);

        const again = await trainer.exportState();
        expect(again.tensors.map((t) => `${t.name} ${t.shape.join('x')}`)).toEqual(state.tensors.map((t) => `${t.name} ${t.shape.join('x')}`));
        const exported = buildExportNetworks(
          { family: 'vqvae', model: config.architecture, ...spec.image, latent: config.codePositions, flow: 'none', flowSteps: 0 },
          exportParams(parseCheckpoint(bytes).tensors),
        );
        expect(exported.networks.map((net) => net.name)).toEqual(['encoder', 'decoder', 'prior']);
      } finally {
        trainer.dispose();
      }
    });
  }
});
