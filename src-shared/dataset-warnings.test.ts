import { describe, expect, it } from 'vitest';
import { importSettingsSchema } from './config';
import { datasetWarnings, describeLayout } from './dataset-warnings';
import type { Dataset, LayoutInfo } from './types';

const dataset = (over: Partial<Dataset>): Parameters<typeof datasetWarnings>[0] => ({
  count: 1000,
  splitCounts: { train: 800, validation: 100, test: 100 },
  labels: [],
  labelCounts: [],
  settings: importSettingsSchema.parse({}),
  stats: { scanned: 1000, decoded: 1000, reused: 0, duplicates: 0, skipped: 0, seconds: 1 },
  ...over,
});

describe('dataset warnings', () => {
  it('says nothing about a healthy dataset, or about the split of one stored before splits were', () => {
    expect(datasetWarnings(dataset({}))).toEqual([]);
    expect(datasetWarnings(dataset({ splitCounts: { train: 0, validation: 0, test: 0 } }))).toEqual([]);
  });

  it('measures "fewer than a batch" against the batch asked for', () => {
    const small = dataset({ splitCounts: { train: 40, validation: 5, test: 5 } });
    expect(datasetWarnings(small).map((w) => w.code)).toEqual(['tiny']);
    expect(datasetWarnings(small, 32)).toEqual([]);
  });

  it('warns on upscaling only when most originals were enlarged', () => {
    const stats = dataset({}).stats;
    expect(datasetWarnings(dataset({ stats: { ...stats, measured: 10, upscaled: 5 } }))).toEqual([]);
    expect(datasetWarnings(dataset({ stats: { ...stats, measured: 10, upscaled: 6 } })).map((w) => w.code)).toEqual(['upscaled']);
  });

  it('describes a split layout with its folders and what was drawn', () => {
    const layout: LayoutInfo = {
      kind: 'split',
      detected: true,
      splitFolders: { train: ['train'], validation: [], test: ['test'] },
      drawn: ['validation'],
      labelSource: 'folders',
      unlabelled: 0,
      outside: 0,
    };
    expect(describeLayout(layout, { validationFraction: 0.1, testFraction: 0.2 })).toBe(
      'Split folders (detected): train/ → train, test/ → test, validation drawn from train (10 %); labels from the folders inside them.',
    );
  });
});
