import { SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION } from '@shared/dataset-format';
import { splitIndices, type Split } from '@shared/random';

/** Train and validation images, plus the held-out test images of the final evaluation. */
export interface RunSplit extends Split {
  /** Empty for version-1 files, which have no test split. */
  test: Int32Array;
  source: 'dataset' | 'run';
}

/**
 * Which images train, validate and test. Datasets packed with split codes (format
 * version 2) carry a content-stable split chosen at import: it wins, so every run on
 * the dataset validates on the same images; test images are only used by the IWAE
 * evaluation after training. Older files are split by the run's seed and
 * validationFraction and have no test images.
 */
export function chooseSplit(
  count: number,
  codes: Uint8Array | undefined,
  config: { validationFraction: number; seed: number },
): RunSplit {
  if (codes === undefined) {
    return { ...splitIndices(count, config.validationFraction, config.seed), test: new Int32Array(0), source: 'run' };
  }
  const groups: Record<number, number[]> = { [SPLIT_TRAIN]: [], [SPLIT_VALIDATION]: [], [SPLIT_TEST]: [] };
  codes.forEach((code, i) => groups[code]?.push(i));
  return {
    train: Int32Array.from(groups[SPLIT_TRAIN]!),
    validation: Int32Array.from(groups[SPLIT_VALIDATION]!),
    test: Int32Array.from(groups[SPLIT_TEST]!),
    source: 'dataset',
  };
}
