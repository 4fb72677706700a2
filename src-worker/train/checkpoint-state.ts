import type { RngState } from '../engine/random';
import type { TrainerState } from './trainer';

/**
 * Everything a run needs to continue after its last finished epoch as if it had never
 * stopped: weights, Adam moments and step, every training random stream, and the
 * loop's own bookkeeping. Plain data; io/checkpoint-file.ts turns it into bytes.
 */
export interface TrainingCheckpoint {
  /** Finished epochs (the next one to train is epoch + 1). */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  trainer: TrainerState;
  /** The epoch-order stream, positioned for the next epoch's permutation. */
  shuffle: RngState;
  /** Loop figures that continue across a resume. */
  progress: CheckpointProgress;
}

export interface CheckpointProgress {
  /** Milliseconds of the run so far (metric points' `t` continue from here). */
  elapsedMs: number;
  /** Images trained on and milliseconds spent in steps, for the img/s figure. */
  trainedImages: number;
  trainMs: number;
  /** Evaluation loss of this epoch, null without one. */
  evalLoss: number | null;
  /** Lowest evaluation loss so far, this epoch included. */
  bestEvalLoss: number | null;
  /** This epoch set bestEvalLoss: the checkpoint is the run's best so far. */
  isBest: boolean;
}
