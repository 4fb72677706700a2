import { ApiError } from '@shared/errors';
import type { StartEvaluation } from '@shared/worker-protocol';
import { toErrorShape } from './errors';
import { iwaeBound, iwaeSummary } from './train/evaluate';
import { evaluationOrder } from './train/eval-budget';
import { chooseSplit } from './train/split';
import { createTrainer } from './train/engine-trainer';
import { loadCheckpoint, prepareJob, type JobContext } from './job';
import { startInferenceThreadsFor } from './threads/inference-threads';
import type { InferenceReplicas } from './threads/replica-pool';
import { VaeTrainer } from './train/trainer';

/**
 * On-demand honest evaluation of a saved model: the IWAE bound on the test split (all
 * of it, or the first `images` of the fixed evaluation order the automatic bound also
 * reads) with the requested k, from a checkpoint, without training. Reports the figures
 * as metric points at the checkpoint's step and in `done`; stopped, it reports nothing
 * (`done` stopped), so the figure already stored stays. Returns the process exit code.
 */
export async function runEvaluationJob(start: StartEvaluation, context: JobContext): Promise<number> {
  const { send } = context;
  try {
    const { config, images, backend, notes, adapter } = await prepareJob(start.config, start.datasetPath, send, start.datasetSha256);
    const { checkpoint } = loadCheckpoint(start.checkpoint);
    const { test } = chooseSplit(images.count, images.split, config);
    if (test.length === 0) {
      throw new ApiError(
        'invalid_input',
        'This dataset has no test images (it was packed before datasets had a test split, or its test fraction is 0). Re-import it to evaluate.',
        { field: 'datasetId' },
      );
    }
    const trainer = createTrainer(config, images);
    let threads: InferenceReplicas | null = null;
    try {
      trainer.importState(checkpoint.trainer);
      const started = performance.now();
      const announce = (note: string): void => send({ type: 'backend', backend, notes: [...notes, note], ...(adapter && { adapter }) });
      // A code model's bound is not split (its trainer is no VaeTrainer): chooseInferenceThreads says so.
      threads = trainer instanceof VaeTrainer ? await startInferenceThreadsFor(trainer, config, images, backend, 'evaluation', announce) : null;
      if (!(trainer instanceof VaeTrainer)) announce(`evaluation: 1 thread — a ${config.family}'s bound is not split across threads`);
      const order = evaluationOrder(test);
      const subset = start.images === undefined ? order : order.subarray(0, Math.min(order.length, start.images));
      const result = await iwaeBound(trainer, images, subset, config, start.iwaeSamples, {
        shouldStop: context.shouldStop,
        yieldToEventLoop: context.yieldToEventLoop,
        waitWhilePaused: context.waitWhilePaused,
        threads,
        now: () => performance.now(),
        progress: (p) =>
          send({
            type: 'progress',
            phase: 'evaluating',
            epoch: checkpoint.epoch,
            epochs: config.epochs,
            step: checkpoint.step,
            stepsPerEpoch: 0,
            imagesPerSec: Math.round(p.imagesPerSec * 10) / 10,
            etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
            evaluated: { done: p.done, total: p.total, k: p.k },
          }),
      });
      if (result === null || result.partial) {
        send({ type: 'done', reason: 'stopped', summary: {} });
        return 0;
      }
      // Not budgeted: a zero replaces the automatic bound's budget in the run's summary.
      const summary: Record<string, number> = { ...iwaeSummary(result, config.decoder, test.length, threads?.count ?? 1), iwae_budget_seconds: 0 };
      const t = Math.round(checkpoint.progress.elapsedMs + (performance.now() - started));
      send({
        type: 'metrics',
        points: ['test_nll', 'test_bpd', 'iwae_k'].map((name) => ({ step: checkpoint.step, epoch: checkpoint.epoch, name, value: summary[name]!, t })),
      });
      send({ type: 'done', reason: 'finished', summary });
      return 0;
    } finally {
      threads?.close();
      trainer.dispose();
    }
  } catch (error) {
    send({ type: 'error', error: toErrorShape(error) });
    return 1;
  }
}

