import type { ClassifierKind } from '@shared/config';
import { convPlan } from '@shared/conv';
import { classifierArchitecture } from '@shared/model-export/architectures';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { buildModel } from './build';
import type { VaeSpec } from './vae';

/**
 * q(y|x) of the semi-supervised M2 model, as declared in
 * src-shared/model-export/architectures.ts, ReLU between layers.
 * - `mlp`: D → h → h → C logits (parameters `cls/cls1`, `cls/cls2`, `cls/clsout`).
 * - `conv` (conv models): the conv VAE's encoder stack (its design's stages; classic: two
 *   4×4 stride-2 convolutions, 32 and 64 channels) — then flatten → h → C (`cls/conv1`, `cls/conv2`, `cls/dense`,
 *   `cls/clsout`). On the 28×28 digits it was not more accurate than the MLP at the
 *   bench's budget (src-worker/README.md); it is there for larger images, where an MLP
 *   of the pixels must learn every position separately.
 */
export interface Classifier {
  readonly kind: ClassifierKind;
  readonly variables: tf.Variable[];
  /** x: [N, D] → class logits [N, C]. */
  logits(x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

export function createClassifier(spec: VaeSpec, classes: number, rng: Rng, kind: ClassifierKind): Classifier {
  const model = buildModel(classifierArchitecture(kind, spec.image, spec.hidden, classes, convPlan(spec.conv ?? null, spec.image), spec.input), rng);
  return {
    kind,
    variables: model.variables,
    logits: (x) => tf.tidy(() => model.run('classifier', x.shape[0], { x }, ['logits'])[0] as tf.Tensor2D),
    dispose: () => model.dispose(),
  };
}
