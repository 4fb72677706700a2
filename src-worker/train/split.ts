import { SPLIT_TRAIN, SPLIT_VALIDATION } from '@shared/dataset-format';
import { splitIndices, type Split } from '@shared/random';

/**
 * Which images train and which validate. Datasets packed with split codes (format
 * version 2) carry a content-stable split chosen at import: it wins, so every run on
 * the dataset validates on the same images, and test images are never touched here
 * (they are for the final, honest evaluation). Older files are split by the run's
 * seed and validationFraction.
 */
export function chooseSplit(
  count: number,
  codes: Uint8Array | undefined,
  config: { validationFraction: number; seed: number },
): Split & { source: 'dataset' | 'run' } {
  if (codes === undefined) return { ...splitIndices(count, config.validationFraction, config.seed), source: 'run' };
  const train: number[] = [];
  const validation: number[] = [];
  codes.forEach((code, i) => {
    if (code === SPLIT_TRAIN) train.push(i);
    else if (code === SPLIT_VALIDATION) validation.push(i);
  });
  return { train: Int32Array.from(train), validation: Int32Array.from(validation), source: 'dataset' };
}
