import { runConfigSchema } from './config';
import type { Dataset, DatasetWarning, LayoutInfo } from './types';

/** The run form's default batch size: a dataset smaller than it trains one step per epoch. */
export const DEFAULT_BATCH_SIZE: number = runConfigSchema.parse({}).batchSize;
/** Fewer images than this in a class is too few to learn, or to measure, it. */
export const SMALL_CLASS_IMAGES = 5;
/** Largest class over smallest from which the imbalance is worth a warning. */
export const IMBALANCE_RATIO = 10;

/** `"a", "b" and 3 more`; items are shown as given. */
const list = (items: readonly string[], max = 5): string =>
  items.slice(0, max).join(', ') + (items.length > max ? ` and ${items.length - max} more` : '');

/**
 * What may make a dataset train badly or its figures mean nothing. Warnings, never
 * refusals: a tiny folder is a fine smoke test. One rule for every adapter (the store
 * attaches them to each dataset; `batchSize` lets a run form ask for its own batch).
 */
export function datasetWarnings(
  dataset: Pick<Dataset, 'count' | 'splitCounts' | 'labels' | 'labelCounts' | 'settings' | 'stats'>,
  batchSize = DEFAULT_BATCH_SIZE,
): DatasetWarning[] {
  const warnings: DatasetWarning[] = [];
  const { train, validation, test } = dataset.splitCounts;
  // Datasets imported before splits were stored have no counts: their split is drawn per run.
  const splitKnown = train + validation + test > 0 || dataset.count === 0;
  if (splitKnown && train === 0) {
    warnings.push({ code: 'no-train', message: 'No training images: a run on this dataset cannot start. Add images, or lower the validation and test shares.' });
  } else if (splitKnown && train < batchSize) {
    warnings.push({
      code: 'tiny',
      message: `Only ${train} training image${train === 1 ? '' : 's'}, fewer than one batch of ${batchSize}: every epoch is a single step and the model can only memorise them. Add images, or choose a smaller batch.`,
    });
  }
  if (splitKnown && validation === 0) {
    warnings.push({
      code: 'no-validation',
      message: 'No validation images: runs measure their validation loss on the training images (shown as train_…) and keep the best checkpoint by it.',
    });
  }
  if (splitKnown && test === 0) {
    warnings.push({
      code: 'no-test',
      message: 'No test images: runs on this dataset report no held-out likelihood (test NLL). Set a test share, or add a test/ folder.',
    });
  }
  const counted = dataset.labels.map((label, i) => ({ label, n: dataset.labelCounts[i] ?? 0 }));
  const small = counted.filter((c) => c.n < SMALL_CLASS_IMAGES);
  if (small.length > 0) {
    warnings.push({
      code: 'small-classes',
      message: `${small.length === 1 ? 'One class has' : `${small.length} classes have`} fewer than ${SMALL_CLASS_IMAGES} images: ${list(small.map((c) => `"${c.label}" (${c.n})`))}.`,
    });
  }
  const present = counted.filter((c) => c.n > 0);
  if (present.length >= 2) {
    const most = present.reduce((a, b) => (b.n > a.n ? b : a));
    const least = present.reduce((a, b) => (b.n < a.n ? b : a));
    const ratio = most.n / least.n;
    if (ratio >= IMBALANCE_RATIO) {
      warnings.push({
        code: 'imbalance',
        message: `Classes are strongly imbalanced: "${most.label}" has ${most.n} images, "${least.label}" ${least.n} (${Math.round(ratio)}×). Samples and a conditional model will favour the large classes.`,
      });
    }
  }
  const { measured, upscaled } = dataset.stats;
  if (measured !== undefined && upscaled !== undefined && measured > 0 && upscaled * 2 > measured) {
    warnings.push({
      code: 'upscaled',
      message: `${upscaled} of ${measured} originals are smaller than ${dataset.settings.size} px and were enlarged, which blurs them. Choose a smaller size, or larger images.`,
    });
  }
  const layout = dataset.stats.layout;
  if (layout && layout.unlabelled > 0) {
    warnings.push({
      code: 'unlabelled',
      message: `${layout.unlabelled} image${layout.unlabelled === 1 ? ' is' : 's are'} not named in ${layout.sidecar ?? 'the labels file'}: imported unlabelled.`,
    });
  }
  if (layout?.mixed && layout.mixed.length > 0) {
    warnings.push({
      code: 'mixed-layout',
      message: `Split folders sit beside other folders (${list(layout.mixed.map((m) => `${m}/`))}), so every folder was read as a class. Choose the layout "split folders" to use them as the split.`,
    });
  }
  return warnings;
}

const SPLIT_WORDS = { train: 'train', validation: 'validation', test: 'test' } as const;
const percent = (share: number): string => `${Math.round(share * 100)} %`;

/**
 * One sentence saying how a folder was read, for the import form, the dataset page and
 * the CLI: the layout (and whether it was detected), where the split and labels came from.
 */
export function describeLayout(layout: LayoutInfo, shares: { validationFraction: number; testFraction: number }): string {
  const how = layout.detected ? 'detected' : 'chosen';
  const labels =
    layout.labelSource === 'sidecar'
      ? `labels from ${layout.sidecar ?? 'the labels file'}`
      : layout.labelSource === 'folders'
        ? layout.kind === 'split'
          ? 'labels from the folders inside them'
          : 'labels from the subfolders'
        : 'no labels';
  if (layout.kind === 'split') {
    const folders = (['train', 'validation', 'test'] as const)
      .filter((s) => layout.splitFolders[s].length > 0)
      .map((s) => `${layout.splitFolders[s].map((f) => `${f}/`).join(' + ')} → ${SPLIT_WORDS[s]}`);
    const drawn = layout.drawn.map((s) => `${SPLIT_WORDS[s]} drawn from train (${percent(s === 'test' ? shares.testFraction : shares.validationFraction)})`);
    return `Split folders (${how}): ${[...folders, ...drawn].join(', ')}; ${labels}.`;
  }
  const split = `split drawn at random (${percent(shares.validationFraction)} validation, ${percent(shares.testFraction)} test)`;
  return layout.kind === 'classes' ? `Class folders (${how}): ${labels}, ${split}.` : `Flat (${how}): ${labels}, ${split}.`;
}
