import { totalmem } from 'node:os';
import { join } from 'node:path';
import { runConfigSchema, type RunConfig } from '@shared/config';
import { ApiError } from '@shared/errors';
import { activationsPerImage } from '@shared/model-size';
import { threadsNote } from '@shared/training-threads';
import type { GpuAdapterInfo } from '@shared/backend-report';
import type { CheckpointRef, FromWorkerMessage, StartTraining } from '@shared/worker-protocol';
import { selectBackend } from './backends/select';
import { toErrorShape } from './errors';
import { encodeCheckpoint, readCheckpointFile, writeFileAtomic, type LoadedCheckpoint } from './io/checkpoint-file';
import { loadPackedDataset, type LoadedDataset } from './io/dataset';
import { encodePngBase64 } from './io/png';
import { besideWorkerHeap, checkTrainingMemory, threadsThatFit, WASM_HEAP_BYTES } from './model/memory';
import { nodeBackendPlatform } from './platform/node-backends';
import { lowerTrainingPriority } from './platform/priority';
import { wasmBinaryDir } from './io/wasm-files';
import { physicalCores } from './threads/cores';
import { startReplicaThreads } from './threads/replica-pool';
import { minRowsPerThread } from './threads/work';
import { checkModelFits, type ParallelOptions } from './train/engine-trainer';
import { train, type TrainListener } from './train/loop';
import { trainingSizeOf } from './train/model-spec';
import type { ImageSet } from './train/images';
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
  /** Holds while the run is paused (see pause.ts). */
  waitWhilePaused(): Promise<void>;
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

/**
 * What every job does first: check the config and the data set, then choose the
 * backend (and say which). Checks that need no backend come first, so a bad input
 * is answered in milliseconds.
 */
export async function prepareJob(
  rawConfig: unknown,
  datasetPath: unknown,
  send: JobContext['send'],
  datasetSha256?: string,
): Promise<{ config: RunConfig; images: LoadedDataset; backend: string; notes: string[]; adapter?: GpuAdapterInfo }> {
  const config = parseRunConfig(rawConfig);
  if (typeof datasetPath !== 'string' || datasetPath === '') {
    throw new ApiError('invalid_input', 'start message has no datasetPath', { field: 'datasetPath' });
  }
  const images = loadPackedDataset(datasetPath, datasetSha256);
  // Fail on a model that cannot fit the data before spending time on backends.
  checkModelFits(config, images);

  const selection = await selectBackend({ requested: config.backend, platform: nodeBackendPlatform() });
  send({ type: 'backend', backend: selection.backend, notes: selection.notes, ...(selection.adapter && { adapter: selection.adapter }) });
  return { config, images, backend: selection.backend, notes: selection.notes, ...(selection.adapter && { adapter: selection.adapter }) };
}

/** A run whose training step cannot fit in memory fails now, with that reason, instead of thrashing first. */
function checkMemoryFor(config: RunConfig, images: LoadedDataset, backend: string, trainImages: number): void {
  const batch = Math.max(1, Math.min(config.batchSize, trainImages));
  const wasm = backend === 'wasm';
  // A semi-supervised family (M2) runs the whole model on every image once per class (passes).
  const { spec, passes } = trainingSizeOf(config, images);
  const machine = besideWorkerHeap(totalmem());
  checkTrainingMemory(spec, batch, wasm ? Math.min(WASM_HEAP_BYTES, machine) : machine, wasm ? 'the wasm backend' : 'this machine', passes);
}

/**
 * How many threads the steps split across (data-parallel), with the reasons when fewer
 * than asked for: the run's `threads` or the physical cores, lowered — and saying so —
 * for a backend with kernels of its own, a batch with fewer images per thread than the
 * model's per-image work asks (threads/work.ts minRowsPerThread: 16 for small models,
 * fewer for large images), or replicas that would not fit in memory.
 */
export function chooseThreads(
  config: RunConfig,
  images: ImageSet,
  backend: string,
  trainImages: number,
  machine: { cores: number; memoryBytes: number } = { cores: physicalCores(), memoryBytes: totalmem() },
): { threads: number; notes: string[] } {
  const cores = machine.cores;
  const asked = config.threads ?? cores;
  const source = config.threads === undefined ? `the ${cores} physical cores` : `threads ${config.threads}`;
  if (asked <= 1) return { threads: 1, notes: [threadsNote(1)] };
  if (backend !== 'wasm' && backend !== 'cpu') {
    return { threads: 1, notes: [threadsNote(1, ` — threads split wasm training; ${backend} runs its own kernels`)] };
  }
  const batch = Math.max(1, Math.min(config.batchSize, trainImages));
  const { spec, passes } = trainingSizeOf(config, images);
  const heap = backend === 'wasm' ? WASM_HEAP_BYTES : machine.memoryBytes;
  // A shard of a few rows costs a replica about as much as the step's exchange and update saves it.
  const least = minRowsPerThread(activationsPerImage(spec) * passes);
  const splits = Math.max(1, Math.floor(batch / least));
  const fits = threadsThatFit(spec, batch, Math.min(asked, splits), heap, machine.memoryBytes, passes);
  const why =
    fits === asked
      ? ''
      : fits < Math.min(asked, splits)
        ? ` (${source} asked for ${asked}; lowered: ${Math.min(asked, splits)} replicas of this model would not fit in memory)`
        : ` (${source} asked for ${asked}; a batch of ${batch} images splits at most ${splits} way${splits === 1 ? '' : 's'}, ${least} image${least === 1 ? '' : 's'} per thread at least for this model)`;
  return { threads: fits, notes: [threadsNote(fits, why)] };
}

/** Load a checkpoint the supervisor points at, refusing one that is damaged or swapped. */
export function loadCheckpoint(ref: CheckpointRef, field = 'checkpoint'): LoadedCheckpoint {
  try {
    const loaded = readCheckpointFile(ref.path, ref.sha256);
    if (loaded.checkpoint.epoch !== ref.epoch || loaded.checkpoint.step !== ref.step) {
      throw new Error(`it holds epoch ${loaded.checkpoint.epoch} step ${loaded.checkpoint.step}, expected epoch ${ref.epoch} step ${ref.step}`);
    }
    return loaded;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError('io_error', `Cannot load the checkpoint ${ref.path}: ${why}`, { field, path: ref.path });
  }
}

export async function runTrainingJob(start: StartTraining, context: JobContext): Promise<number> {
  const { send } = context;
  try {
    const { config, images, backend, notes, adapter } = await prepareJob(start.config, start.datasetPath, send, start.datasetSha256);
    const split = chooseSplit(images.count, images.split, config);
    checkMemoryFor(config, images, backend, split.train.length);
    const chosen = chooseThreads(config, images, backend, split.train.length);
    // Before any training thread exists: they inherit it, and the UI keeps its cores' attention.
    lowerTrainingPriority();
    // The run page and `runs` show the backend's notes: the threads line joins them.
    const announce = (threadNotes: string[]): void =>
      send({ type: 'backend', backend, notes: [...notes, ...threadNotes], ...(adapter && { adapter }) });
    let parallel: ParallelOptions | undefined;
    if (chosen.threads > 1) {
      const wasmDir = wasmBinaryDir();
      parallel = {
        threads: chosen.threads,
        start: async (count, setup) => {
          try {
            const replicas = await startReplicaThreads(count, setup, { backend: backend as 'wasm' | 'cpu', ...(wasmDir === undefined ? {} : { wasmDir }) });
            announce(chosen.notes);
            return replicas;
          } catch (error) {
            announce([threadsNote(1, ` — the training threads could not start (${error instanceof Error ? error.message : String(error)})`)]);
            return null;
          }
        },
      };
    } else {
      announce(chosen.notes);
    }
    const resume = start.resumeFrom === undefined ? undefined : loadCheckpoint(start.resumeFrom, 'resumeFrom').checkpoint;

    const listener: TrainListener = {
      metrics: (points) => send({ type: 'metrics', points }),
      progress: (p) => send({ type: 'progress', ...p }),
      epoch: (summary) => send({ type: 'epoch', summary }),
      image: (kind, epoch, image) => send({ type: 'artifact', kind, epoch, png: encodePngBase64(image) }),
      checkpoint: (checkpoint) => {
        // One file per epoch: the supervisor may still be moving the previous one.
        const file = writeFileAtomic(join(start.runDir, `epoch-${checkpoint.epoch}.vaeckpt`), encodeCheckpoint(checkpoint, config));
        send({
          type: 'checkpoint',
          epoch: checkpoint.epoch,
          step: checkpoint.step,
          ...file,
          evalLoss: checkpoint.progress.evalLoss,
          best: checkpoint.progress.isBest,
        });
      },
    };
    const result = await train({
      config,
      images,
      split,
      listener,
      shouldStop: context.shouldStop,
      yieldToEventLoop: context.yieldToEventLoop,
      waitWhilePaused: context.waitWhilePaused,
      ...(resume === undefined ? {} : { resume }),
      ...(parallel === undefined ? {} : { parallel }),
    });
    send({ type: 'done', reason: result.reason, summary: result.summary });
    return 0;
  } catch (error) {
    send({ type: 'error', error: toErrorShape(error) });
    return 1;
  }
}
