import { copyValues } from '../engine/read';
import { tf } from '../engine/tf';

/**
 * A trainer's trainable variables as the data-parallel replicas lay its weights out
 * (train/data-parallel.ts): their shapes, their values and an overwrite, in the given order.
 * One place for VaeTrainer and VqVaeTrainer.
 */
export function weightShapes(variables: readonly tf.Variable[]): number[][] {
  return variables.map((v) => [...v.shape]);
}

export function weightValues(variables: readonly tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(variables.map(copyValues));
}

/** Overwrites each variable with its values (same order and sizes); nothing else of the trainer changes. */
export function assignWeights(variables: readonly tf.Variable[], values: readonly Float32Array[]): void {
  if (values.length !== variables.length) throw new Error(`${values.length} parameter tensors for ${variables.length} variables`);
  variables.forEach((variable, i) => tf.tidy(() => variable.assign(tf.tensor(values[i]!, variable.shape))));
}
