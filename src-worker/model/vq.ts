import { ApiError } from '@shared/errors';
import type { DecoderHead } from '@shared/likelihood';
import { convMisfit } from '@shared/conv';
import type { ArchitectureKind } from '@shared/config';
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
 *   conv: two 4×4 stride-2 convolutions (32, 64) and a 1×1 convolution to codeDim: an
 *         (H/4)×(W/4) grid; the decoder mirrors it.
 *   mlp:  D → h → h → L·codeDim, L = `positions`; the decoder mirrors it.
 */
export interface VqSpec {
  kind: ArchitectureKind;
  image: ImageShape;
  hidden: number;
  codeDim: number;
  /** Grid positions of the MLP (the conv grid is (H/4)·(W/4)). */
  positions: number;
  /** The decoder's last layer (src-shared/likelihood.ts decoderHead); absent: one raw value per image channel. */
  output?: DecoderHead;
}

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

export function vqPositions(spec: Pick<VqSpec, 'kind' | 'image' | 'positions'>): number {
  return vqGrid({ model: spec.kind, image: spec.image, positions: spec.positions }).positions;
}

export function checkVqSpec(spec: VqSpec): void {
  const misfit = spec.kind === 'conv' ? convMisfit(spec.image) : null;
  if (misfit) throw new ApiError('invalid_input', misfit, { field: 'architecture' });
}

export function createVqNetworks(spec: VqSpec, rng: Rng): VqNetworks {
  checkVqSpec(spec);
  const D = inputSize(spec.image);
  const e = spec.codeDim;
  const { positions: L, grid } = vqGrid({ model: spec.kind, image: spec.image, positions: spec.positions });
  const head = spec.output ?? { channels: spec.image.channels, name: 'x_mean' as const };
  const outputs = spec.image.width * spec.image.height * head.channels;
  const model = buildModel(
    vqArchitecture({ model: spec.kind, image: spec.image, hidden: spec.hidden, codeDim: e, positions: spec.positions, output: head }),
    rng,
  );
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
