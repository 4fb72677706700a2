import { evaluationBudgetMs } from './eval-budget';

/**
 * The time a run has left, from what its recent epochs really cost: the training steps
 * and, after each epoch, the validation pass, image grids and checkpoint, plus the test
 * bound after the last epoch. Time spent paused is not part of any of it, so pausing
 * neither inflates nor drains the estimate. A lifetime images-per-second rate alone
 * (what the first version used) misses the work between epochs and the test bound, and
 * read a 2 min 20 s run as 56 s.
 */

/** Epochs the per-epoch figures are averaged over: the newest speed, not the warm-up. */
export const ETA_RECENT_EPOCHS = 3;

export interface EpochCost {
  /** Wall time of the epoch's training steps, pauses excluded (ms). */
  trainMs: number;
  /** Wall time from its last step to its checkpoint: validation, images, checkpoint (ms). */
  tailMs: number;
}

export interface EtaInput {
  /** Completed epochs in this process, oldest first. */
  recent: readonly EpochCost[];
  /** Steps done in the epoch under way, of stepsPerEpoch. */
  stepsDone: number;
  stepsPerEpoch: number;
  /** Wall time of the epoch under way so far, pauses excluded (ms). */
  epochMs: number;
  /** Epochs not finished yet, the one under way included (0 once the last is done). */
  epochsLeft: number;
  /** Training time of the run so far (the test bound's budget is a share of the total). */
  trainMs: number;
  /** The run ends with a test bound (the dataset has test images). */
  testBound: boolean;
  /** Images the validation pass reads, and the training rate: the first epoch's tail guess. */
  evalImages: number;
  imagesPerSec: number;
}

const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;

/** Seconds left, or null before there is anything to go by. */
export function estimateEtaSeconds(input: EtaInput): number | null {
  const { recent, stepsDone, stepsPerEpoch, epochMs, epochsLeft } = input;
  const window = recent.slice(-ETA_RECENT_EPOCHS);
  let trainPerEpoch: number;
  let tailPerEpoch: number;
  if (window.length > 0) {
    trainPerEpoch = mean(window.map((e) => e.trainMs));
    tailPerEpoch = mean(window.map((e) => e.tailMs));
  } else {
    // The first epoch: its own steps so far, and a validation pass guessed at the training rate.
    if (stepsDone <= 0 || stepsPerEpoch <= 0 || input.imagesPerSec <= 0) return null;
    trainPerEpoch = (epochMs / stepsDone) * stepsPerEpoch;
    tailPerEpoch = (input.evalImages / input.imagesPerSec) * 1000;
  }
  const share = stepsPerEpoch > 0 ? Math.min(1, stepsDone / stepsPerEpoch) : 0;
  const after = Math.max(0, epochsLeft - 1);
  const trainingLeft = epochsLeft > 0 ? trainPerEpoch * (1 - share + after) : 0;
  const tailsLeft = epochsLeft > 0 ? tailPerEpoch * (1 + after) : 0;
  const bound = input.testBound ? evaluationBudgetMs(input.trainMs + trainingLeft) : 0;
  const ms = trainingLeft + tailsLeft + bound;
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms / 1000)) : null;
}
