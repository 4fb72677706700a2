import { describe, expect, it } from 'vitest';
import { estimateEtaSeconds, type EtaInput } from './eta';
import { EVAL_MIN_BUDGET_MS } from './eval-budget';

const base: EtaInput = {
  recent: [],
  stepsDone: 0,
  stepsPerEpoch: 10,
  epochMs: 0,
  epochsLeft: 5,
  trainMs: 0,
  testBound: false,
  evalImages: 100,
  imagesPerSec: 100,
};

describe('ETA from recent epochs', () => {
  it('counts the validation, images and checkpoint after every epoch, not only the steps', () => {
    // Epochs of 10 s of steps and 8 s after them; 2.5 epochs' steps and 3 tails left.
    const eta = estimateEtaSeconds({ ...base, recent: [{ trainMs: 10_000, tailMs: 8_000 }], stepsDone: 5, epochsLeft: 3 });
    expect(eta).toBe(25 + 24);
  });

  it('follows the newest epochs, not the slow first one', () => {
    const recent = [
      { trainMs: 60_000, tailMs: 20_000 },
      { trainMs: 10_000, tailMs: 2_000 },
      { trainMs: 10_000, tailMs: 2_000 },
      { trainMs: 10_000, tailMs: 2_000 },
    ];
    expect(estimateEtaSeconds({ ...base, recent, epochsLeft: 2 })).toBe(24);
  });

  it('adds the test bound at the end: a quarter of the whole training time, at least its floor', () => {
    const recent = [{ trainMs: 40_000, tailMs: 0 }];
    // 40 s trained, 80 s to go: the bound may take a quarter of 120 s.
    expect(estimateEtaSeconds({ ...base, recent, trainMs: 40_000, epochsLeft: 2, testBound: true })).toBe(80 + 30);
    // Short runs: the bound's floor.
    const short = estimateEtaSeconds({ ...base, recent: [{ trainMs: 1_000, tailMs: 0 }], trainMs: 1_000, epochsLeft: 1, testBound: true });
    expect(short).toBe(1 + EVAL_MIN_BUDGET_MS / 1000);
    // After the last epoch only the bound is left.
    expect(estimateEtaSeconds({ ...base, recent, trainMs: 120_000, epochsLeft: 0, testBound: true })).toBe(30);
  });

  it('guesses the first epoch from its own steps and a validation pass at the training rate', () => {
    expect(estimateEtaSeconds({ ...base, stepsDone: 0 })).toBeNull();
    // 2 of 10 steps in 4 s: 16 s of steps left, 1 s of validation (100 images at 100/s), then 4 epochs of 21 s.
    expect(estimateEtaSeconds({ ...base, stepsDone: 2, epochMs: 4_000 })).toBe(16 + 1 + 4 * 21);
  });
});
