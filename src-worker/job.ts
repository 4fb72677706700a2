import { runConfigSchema, type RunConfig } from '@shared/config';
import { ApiError } from '@shared/errors';
import type { FromWorkerMessage, StartTraining } from '@shared/worker-protocol';
import { selectBackend } from './backends/select';
import { toErrorShape } from './errors';
import { loadPackedDataset } from './io/dataset';
import { encodePngBase64 } from './io/png';
import { wasmBinaryDir } from './io/wasm-files';
import { checkVaeSpec } from './model/vae';
import { train, type TrainListener } from './train/loop';
import { chooseSplit } from './train/split';

/**
 * One training job, from a `start` message to `done` or `error`: validate, load the
 * data set, pick a backend, train, and translate the loop's events into protocol
 * messages. Returns the exit code the process should end with.
 */
export interface JobContext {
  send(msg: FromWorkerMessage): void;
  shouldStop(): boolean;
  yieldToEventLoop(): Promise<void>;
}

export function parseRunConfig(raw: unknown): RunConfig {
  const parsed = runConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || 'config';
  throw new ApiError('invalid_input', `Invalid run config: ${field}: ${issue?.message ?? 'invalid'}`, {
    field,
    issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

export async function runTrainingJob(start: StartTraining, context: JobContext): Promise<number> {
  const { send } = context;
  try {
    const config = parseRunConfig(start.config);
    if (typeof start.datasetPath !== 'string' || start.datasetPath === '') {
      throw new ApiError('invalid_input', 'start message has no datasetPath', { field: 'datasetPath' });
    }
    const images = loadPackedDataset(start.datasetPath);
    // Fail on a model that cannot fit the data before spending time on backends.
    checkVaeSpec({ kind: config.model, image: images.shape, latent: config.latent, hidden: config.hidden });

    const wasmDir = wasmBinaryDir();
    const selection = await selectBackend({ requested: config.backend, ...(wasmDir === undefined ? {} : { wasmDir }) });
    send({ type: 'backend', backend: selection.backend, notes: selection.notes });

    const listener: TrainListener = {
      metrics: (points) => send({ type: 'metrics', points }),
      progress: (p) => send({ type: 'progress', ...p }),
      epoch: (summary) => send({ type: 'epoch', summary }),
      image: (kind, epoch, image) => send({ type: 'artifact', kind, epoch, png: encodePngBase64(image) }),
    };
    const result = await train({
      config,
      images,
      split: chooseSplit(images.count, images.split, config),
      listener,
      shouldStop: context.shouldStop,
      yieldToEventLoop: context.yieldToEventLoop,
    });
    send({ type: 'done', reason: result.reason, summary: result.summary });
    return 0;
  } catch (error) {
    send({ type: 'error', error: toErrorShape(error) });
    return 1;
  }
}
