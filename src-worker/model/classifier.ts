import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';
import { dense } from './layers';
import { inputSize, type VaeSpec } from './vae';

/**
 * q(y|x) of the semi-supervised M2 model: D → h → h → C logits, ReLU between. An MLP for
 * both architectures (on the small images the app trains, it reaches the accuracy that
 * matters here at a fraction of a conv stack's cost).
 */
export interface Classifier {
  readonly variables: tf.Variable[];
  /** x: [N, D] → class logits [N, C]. */
  logits(x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

export function classifierParameterCount(spec: VaeSpec, classes: number): number {
  const h = spec.hidden;
  return inputSize(spec.image) * h + h + h * h + h + h * classes + classes;
}

export function createClassifier(spec: VaeSpec, classes: number, rng: Rng): Classifier {
  const D = inputSize(spec.image);
  const h = spec.hidden;
  const params = new ParamSet(rng, 'cls');
  const l1 = { w: params.dense('cls1/w', D, h, 'he'), b: params.bias('cls1/b', h) };
  const l2 = { w: params.dense('cls2/w', h, h, 'he'), b: params.bias('cls2/b', h) };
  const out = { w: params.dense('clsout/w', h, classes, 'glorot'), b: params.bias('clsout/b', classes) };
  return {
    variables: params.variables,
    logits: (x) => tf.tidy(() => dense(dense(dense(x, l1.w, l1.b, true), l2.w, l2.b, true), out.w, out.b, false)),
    dispose: () => params.dispose(),
  };
}
