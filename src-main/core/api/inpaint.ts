import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { inferenceBlocker } from '@shared/config';
import { ApiError } from '@shared/errors';
import type { ImputeFrame } from '@shared/inference';
import { base64ToBytes, bytesToBase64, decodeMask } from '@shared/pixel-mask';
import type { Dataset } from '@shared/types';
import { decodeImage, describeDecodeError } from '../datasets/decode-image';
import { MAX_FILE_BYTES } from '../datasets/import-folder';
import { requireDataset, requireRun, type Context, type HandlerMap } from './context';
import { askModel, resolveModel } from './explore';

type InpaintRequests = 'inpaint.run' | 'inpaint.cancel' | 'inpaint.prepareImage' | 'inpaint.evaluate';

/**
 * Check an image and mask against the run's dataset before a model session is opened
 * for them, so a wrong size is answered at once, naming the field.
 */
export function checkImputeInput(dataset: Dataset, input: { image: { index: number } | { pixels: string }; mask: string; label?: number | undefined }): void {
  const { width, height, channels } = dataset;
  const mask = decodeMask(input.mask, width * height, width, height);
  if (!mask.ok) throw new ApiError('invalid_input', `${mask.message} (dataset "${dataset.name}")`, { field: 'mask' });
  if (input.label !== undefined && input.label >= dataset.labels.length) {
    throw new ApiError('invalid_input', `label: class ${input.label} does not exist (dataset "${dataset.name}" has ${dataset.labels.length} labels)`, {
      field: 'label',
    });
  }
  if ('index' in input.image) {
    if (input.image.index >= dataset.count) {
      throw new ApiError('invalid_input', `image.index: image ${input.image.index} does not exist (dataset "${dataset.name}" has ${dataset.count})`, {
        field: 'image.index',
      });
    }
    return;
  }
  const bytes = base64ToBytes(input.image.pixels);
  const D = width * height * channels;
  if (bytes === null || bytes.length !== D) {
    throw new ApiError(
      'invalid_input',
      `image.pixels ${bytes === null ? 'is not base64' : `has ${bytes.length} bytes`}; the model takes ${width}×${height}×${channels} = ${D} (use inpaint.prepareImage)`,
      { field: 'image.pixels' },
    );
  }
}

export function inpaintHandlers(ctx: Context): HandlerMap<InpaintRequests> {
  /** Running inpaint.run jobs by jobId, for inpaint.cancel. */
  const jobs = new Map<string, AbortController>();
  return {
    'inpaint.run': async (input) => {
      const { runId, checkpoint, jobId, ...request } = input;
      const model = resolveModel(ctx, runId, checkpoint);
      const blocker = inferenceBlocker(model.run.config, 'inpaint');
      if (blocker) throw new ApiError('invalid_input', `Run ${runId}: ${blocker}`, { field: 'runId' });
      checkImputeInput(model.dataset, request);
      if (jobs.has(jobId)) throw new ApiError('conflict', `An inpainting job "${jobId}" is already running`, { field: 'jobId' });
      const controller = new AbortController();
      jobs.set(jobId, controller);
      try {
        return (await ctx.models.call(model.key, { op: 'impute', ...request }, {
          signal: controller.signal,
          onPartial: (data) => ctx.events.emit('inpaint.progress', { jobId, runId, frame: data as ImputeFrame }),
        })) as ImputeFrame;
      } finally {
        jobs.delete(jobId);
      }
    },
    'inpaint.cancel': async ({ jobId }) => {
      const job = jobs.get(jobId);
      job?.abort();
      return { cancelled: job !== undefined };
    },
    'inpaint.prepareImage': async ({ runId, path, data, name }) => {
      const dataset = requireDataset(ctx, requireRun(ctx, runId).datasetId);
      let bytes: Uint8Array;
      const label = path ?? name ?? 'the image';
      if (path !== undefined) {
        try {
          bytes = await readFile(path);
        } catch (error) {
          const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
          throw new ApiError('invalid_input', `Cannot read ${path}: ${why}`, { field: 'path' });
        }
        if (bytes.length > MAX_FILE_BYTES) throw new ApiError('invalid_input', `${path} is larger than ${MAX_FILE_BYTES / 2 ** 20} MiB`, { field: 'path' });
      } else {
        const decoded = base64ToBytes(data ?? '');
        if (decoded === null) throw new ApiError('invalid_input', 'data is not base64', { field: 'data' });
        bytes = decoded;
      }
      const { size, channels, fit, background, binarize } = dataset.settings;
      let pixels: Uint8Array;
      try {
        pixels = await decodeImage(bytes, { size, channels, fit, background, binarize });
      } catch (error) {
        throw new ApiError('invalid_input', `${label}: ${describeDecodeError(error)}`, { field: path !== undefined ? 'path' : 'data' });
      }
      const png = await sharp(pixels, { raw: { width: size, height: size, channels } }).png().toBuffer();
      return {
        width: size,
        height: size,
        channels,
        pixels: bytesToBase64(pixels),
        dataUrl: `data:image/png;base64,${png.toString('base64')}`,
      };
    },
    'inpaint.evaluate': (input) => askModel(ctx, input, 'imputeEvaluate'),
  };
}
