import { describe, expect, it } from 'vitest';
import { chooseEvaluationPlan, EVAL_MIN_BUDGET_MS, evaluationBudgetMs, evaluationOrder } from './eval-budget';
import { iwaeImagesPerBatch } from './evaluate';

describe('the automatic test bound’s budget', () => {
  it('reads every test image with the k asked when the budget covers it', () => {
    // 1 000 images · 101 · 0.01 ms = 1 010 ms.
    expect(chooseEvaluationPlan({ available: 1000, kAsked: 100, budgetMs: 1010, msPerSample: 0.01 })).toEqual({
      images: 1000,
      k: 100,
      estimatedMs: 1010,
      complete: true,
    });
  });

  it('keeps every image and lowers k first, to a round k that fits', () => {
    // The reported case: 380 test images at 2.9 ms per image-sample, 37 s of training → 9.25 s.
    const plan = chooseEvaluationPlan({ available: 380, kAsked: 100, budgetMs: 9250, msPerSample: 2.9 });
    expect(plan).toMatchObject({ images: 380, k: 5, complete: false });
    expect(plan.estimatedMs).toBeLessThanOrEqual(9250);
    // A budget between two steps lands on the lower one: k = 20, not 37.
    expect(chooseEvaluationPlan({ available: 100, kAsked: 100, budgetMs: 100 * 38, msPerSample: 1 }).k).toBe(20);
  });

  it('then reads fewer images at k = 1, rounded to two digits, never under 100', () => {
    const plan = chooseEvaluationPlan({ available: 10_000, kAsked: 100, budgetMs: 2 * 1234, msPerSample: 1 });
    expect(plan).toMatchObject({ images: 1200, k: 1, complete: false });
    expect(plan.estimatedMs).toBeLessThanOrEqual(2 * 1234);
    // Over the budget rather than under 100 images…
    expect(chooseEvaluationPlan({ available: 10_000, kAsked: 100, budgetMs: 10, msPerSample: 1 })).toMatchObject({ images: 100, k: 1 });
    // …or under all of them when there are fewer.
    expect(chooseEvaluationPlan({ available: 40, kAsked: 100, budgetMs: 0, msPerSample: 1 })).toMatchObject({ images: 40, k: 1 });
    expect(chooseEvaluationPlan({ available: 10_000, kAsked: 100, budgetMs: 0, msPerSample: 1, minImages: 250 }).images).toBe(250);
  });

  it('never asks for more than there is, or more samples than asked', () => {
    for (const available of [0, 1, 7, 99, 100, 101, 5000]) {
      for (const kAsked of [1, 3, 100, 5000]) {
        for (const budgetMs of [0, 1, 100, 1e4, 1e7]) {
          const plan = chooseEvaluationPlan({ available, kAsked, budgetMs, msPerSample: 0.37 });
          expect(plan.images).toBeLessThanOrEqual(available);
          expect(plan.images).toBeGreaterThanOrEqual(Math.min(available, 100));
          expect(plan.k).toBeGreaterThanOrEqual(1);
          expect(plan.k).toBeLessThanOrEqual(kAsked);
          // Within the budget unless already at the minimum (100 images or all, k = 1).
          if (plan.estimatedMs > budgetMs) expect([plan.images, plan.k]).toEqual([Math.min(available, 100), 1]);
          expect(plan.complete).toBe(plan.images === available && plan.k === kAsked);
        }
      }
    }
  });

  it('cuts nothing when the probe was too quick for the clock', () => {
    expect(chooseEvaluationPlan({ available: 500, kAsked: 100, budgetMs: 3000, msPerSample: 0 })).toMatchObject({ images: 500, k: 100 });
    expect(chooseEvaluationPlan({ available: 500, kAsked: 100, budgetMs: 3000, msPerSample: NaN })).toMatchObject({ images: 500, k: 100 });
  });

  it('is a quarter of the training time, at least a few seconds', () => {
    expect(evaluationBudgetMs(100_000)).toBe(25_000);
    expect(evaluationBudgetMs(1000)).toBe(EVAL_MIN_BUDGET_MS);
  });

  it('evaluates the test images in one fixed order, whatever the run', () => {
    const test = Int32Array.from({ length: 300 }, (_, i) => 1000 + 3 * i);
    const order = evaluationOrder(test);
    expect(Array.from(order)).toEqual(Array.from(evaluationOrder(test)));
    expect([...order].sort((a, b) => a - b)).toEqual([...test]);
    // Shuffled: the first 100 are not the first folder's images.
    expect(Array.from(order.subarray(0, 100))).not.toEqual(Array.from(test.subarray(0, 100)));
    expect(Math.max(...order.subarray(0, 100))).toBeGreaterThan(test[200]!);
  });

  it('scores large images a few at a time, so a stop is answered between batches', () => {
    expect(iwaeImagesPerBatch(28 * 28, 100)).toBe(16);
    expect(iwaeImagesPerBatch(64 * 64 * 3, 100)).toBe(1);
    expect(iwaeImagesPerBatch(64 * 64 * 3, 5)).toBe(16);
    expect(iwaeImagesPerBatch(64 * 64 * 3, 5000)).toBe(1);
  });
});
