import { ApiError } from '@shared/errors';
import type { DecoderHead } from '@shared/likelihood';
import { convMisfit, convPlan, type ConvDesign } from '@shared/conv';
import type { ArchitectureKind, EncoderInput } from '@shared/config';
import { vqArchitecture, vqGrid } from '@shared/model-export/architectures';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { buildModel } from './build';
import { inputSize, type ImageShape } from './vae';

/**
 * The VQ-VAE's encoder and decoder (van den Oord 2017), as declared in
 * src-shared/model-export/architectures.ts. The encoder maps an image to a grid of L
 * continuous vectors z_e of dimension `codeDim`; each is replaced by its nearest
 * codebook vector (see objectives/vq.ts) and the decoder maps the grid back.
 *   conv: the conv design's stride-2 stages (classic: two, 32 and 64 channels) and a
 *         1×1 convolution to codeDim: its grid; the decoder mirrors it.
 *   mlp:  D → h → h → L·codeDim, L = `positions`; the decoder mirrors it.
 */
export interface VqSpec {
  kind: ArchitectureKind;
  image: ImageShape;
  hidden: number;
  codeDim: number;
  /** Grid positions of the MLP (the conv grid is the conv design's). */
  positions: number;
  /** The decoder's last layer (src-shared/likelihood.ts decoderHead); absent: one raw value per image channel. */
  output?: DecoderHead;
  /** The conv design; null or absent: classic. */
  conv?: ConvDesign | undefined;
  /** What the encoder reads (@shared/config encoderInputs); absent: 'unit'. */
  input?: EncoderInput;
}

const archOf = (spec: Pick<VqSpec, 'kind' | 'image' | 'positions' | 'conv' | 'input'>) => ({
  model: spec.kind,
  image: spec.image,
  positions: spec.positions,
  conv: spec.kind === 'conv' ? convPlan(spec.conv ?? null, spec.image) : undefined,
  input: spec.input,
});

export interface VqNetworks {
  readonly spec: VqSpec;
  readonly inputSize: number;
  /** Positions L per image. */
  readonly positions: number;
  /** Grid shape [rows, cols] for pictures of codes (mlp: [1, L]). */
  readonly grid: [number, number];
  readonly variables: tf.Variable[];
  /** x [N, D] → z_e [N·L, codeDim], positions of one image together. */
  encode(x: tf.Tensor2D): tf.Tensor2D;
  /** z [N·L, codeDim] → raw decoder output [N, D] (a logistic mixture's: [N, H·W·3KC]). */
  decode(z: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

export function vqPositions(spec: Pick<VqSpec, 'kind' | 'image' | 'positions' | 'conv'>): number {
  return vqGrid(archOf(spec)).positions;
}

export function checkVqSpec(spec: VqSpec): void {
  const misfit = spec.kind === 'conv' ? convMisfit(spec.image, spec.conv ?? null) : null;
  if (misfit) throw new ApiError('invalid_input', misfit, { field: 'architecture' });
}

export function createVqNetworks(spec: VqSpec, rng: Rng): VqNetworks {
  checkVqSpec(spec);
  const D = inputSize(spec.image);
  const e = spec.codeDim;
  const { positions: L, grid } = vqGrid(archOf(spec));
  const head = spec.output ?? { channels: spec.image.channels, name: 'x_mean' as const };
  const outputs = spec.image.width * spec.image.height * head.channels;
  const model = buildModel(vqArchitecture({ ...archOf(spec), hidden: spec.hidden, codeDim: e, output: head }), rng);
  return {
    spec,
    inputSize: D,
    positions: L,
    grid,
    variables: model.variables,
    encode: (x) => tf.tidy(() => model.run('encoder', x.shape[0], { x }, ['z_e'], [[x.shape[0] * L, e]])[0] as tf.Tensor2D),
    decode: (z) =>
      tf.tidy(() => {
        const n = z.shape[0] / L;
        return model.run('decoder', n, { z_q: z }, [head.name], [[n, outputs]])[0] as tf.Tensor2D;
      }),
    dispose: () => model.dispose(),
  };
}
