import { totalmem } from 'node:os';
import type { RunConfig } from '@shared/config';
import { familyOf } from '@shared/families';
import { wasmBinaryDir } from '../io/wasm-files';
import { inferenceThreadsThatFit, WASM_HEAP_BYTES } from '../model/memory';
import type { ImageSet } from '../train/images';
import { modelSpec } from '../train/model-spec';
import { iwaeRowsPerChunk, type VaeTrainer } from '../train/trainer';
import type { VaeSpec } from '../model/vae';
import type { TrainerConfig } from '../train/trainer';
import { physicalCores } from './cores';
import { publishWeightsOf, startInferenceThreads, type InferenceReplicas } from './replica-pool';

/**
 * Threads for a saved model's heavy inference work: the evaluation job's IWAE bound and a
 * model session's imputation chains (train/evaluate.ts, impute/chain.ts). One place for
 * how many, and for giving them the weights: once, when they start.
 */

/**
 * How many: the run's `threads` or the physical cores, lowered — and saying so — for a
 * code model (not split), a backend with kernels of its own, or copies of the model that
 * would not fit in memory. Each thread computes whole batches (or whole chains), so no
 * batch size limits the count. `what` names the work in the note ("evaluation", "inference").
 */
export function chooseInferenceThreads(
  config: RunConfig,
  images: ImageSet,
  backend: string,
  what: string,
  machine: { cores: number; memoryBytes: number } = { cores: physicalCores(), memoryBytes: totalmem() },
): { threads: number; note: string } {
  const asked = config.threads ?? machine.cores;
  const source = config.threads === undefined ? `the ${machine.cores} physical cores` : `threads ${config.threads}`;
  const note = (threads: number, why = ''): string =>
    `${what}: ${threads} thread${threads === 1 ? '' : 's'}${threads > 1 ? ', one copy of the model each' : ''}${why}`;
  if (asked <= 1) return { threads: 1, note: note(1) };
  if (familyOf(config).engine !== 'gaussian') return { threads: 1, note: note(1, ` — a ${config.family}'s work is not split across threads yet`) };
  if (backend !== 'wasm' && backend !== 'cpu') return { threads: 1, note: note(1, ` — threads split wasm work; ${backend} runs its own kernels`) };
  const spec = modelSpec(config, images);
  const rows = iwaeRowsPerChunk(images.shape.width * images.shape.height * images.shape.channels);
  const fits = inferenceThreadsThatFit(spec, rows, asked, backend === 'wasm' ? WASM_HEAP_BYTES : machine.memoryBytes, machine.memoryBytes);
  return { threads: fits, note: note(fits, fits < asked ? ` (${source} asked for ${asked}; lowered: ${asked} copies of this model would not fit in memory)` : '') };
}

/**
 * Starts `count` inference threads (the local .wasm files) and writes `trainer`'s weights
 * into their shared memory, once. `script`: the thread entry, where it is not beside this bundle.
 */
export async function startThreadsWithWeights(
  trainer: VaeTrainer,
  count: number,
  setup: { spec: VaeSpec; config: TrainerConfig },
  backend: 'wasm' | 'cpu',
  script?: string,
): Promise<InferenceReplicas> {
  const wasmDir = wasmBinaryDir();
  const threads = await startInferenceThreads(count, { ...setup, shapes: trainer.parameterShapes() }, {
    backend,
    ...(wasmDir === undefined ? {} : { wasmDir }),
    ...(script === undefined ? {} : { script }),
  });
  await publishWeightsOf(threads, trainer);
  return threads;
}

/**
 * Starts the chosen threads with `trainer`'s weights written into their shared memory;
 * null for one thread, or when they cannot start (the work then runs on the caller's
 * thread, and the note says why). `announce` gets the note either way.
 */
export async function startInferenceThreadsFor(
  trainer: VaeTrainer,
  config: RunConfig,
  images: ImageSet,
  backend: string,
  what: string,
  announce: (note: string, threads: number) => void,
): Promise<InferenceReplicas | null> {
  const chosen = chooseInferenceThreads(config, images, backend, what);
  if (chosen.threads <= 1) {
    announce(chosen.note, 1);
    return null;
  }
  try {
    const threads = await startThreadsWithWeights(trainer, chosen.threads, { spec: modelSpec(config, images), config }, backend as 'wasm' | 'cpu');
    announce(chosen.note, threads.count);
    return threads;
  } catch (error) {
    announce(`${what}: 1 thread — its threads could not start (${error instanceof Error ? error.message : String(error)})`, 1);
    return null;
  }
}
