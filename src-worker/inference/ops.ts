import { inferenceBlocker } from '@shared/config';
import { ApiError } from '@shared/errors';
import { inferRequestSchemas, type InferOp, type InferRequest, type InferRequestOf, type InferResults } from '@shared/inference';
import * as conditional from './conditional';
import * as explore from './explore';
import { impute, imputeEvaluate } from './impute';
import type { AnyModelSession, ModelSession, VqModelSession } from './session';
import { vqCodes, vqSamples } from './vq-explore';

/** What a request handler may do besides computing: stream, notice cancellation, yield. */
export interface InferContext {
  /** Send an intermediate answer (e.g. an imputation refining); the core forwards it. */
  partial(data: unknown): void;
  /** True once the request was cancelled or the worker is stopping. */
  shouldStop(): boolean;
  yieldToEventLoop(): Promise<void>;
}

type Handler<K extends InferOp, S = ModelSession> = (session: S, request: InferRequestOf<K>, ctx: InferContext) => Promise<InferResults[K]>;

/** Every op of src-shared/inference.ts has exactly one handler (the type makes a missing one an error). */
export const inferHandlers: { [K in InferOp]: Handler<K> } = {
  images: explore.images,
  traverse: explore.traverse,
  latentMap: explore.latentMap,
  interpolate: explore.interpolate,
  samples: explore.samples,
  codes: async () => {
    throw new ApiError('invalid_input', "codes reads the code grid of a VQ-VAE (family 'vqvae'); this model has a continuous latent.", { field: 'op' });
  },
  generateClass: conditional.generateClass,
  swapClass: conditional.swapClass,
  impute,
  imputeEvaluate,
};

/** What a VQ-VAE answers; the other ops move through a continuous latent and are refused (see vqRefusal). */
const vqHandlers: { [K in InferOp]?: Handler<K, VqModelSession> } = {
  images: explore.images,
  samples: vqSamples,
  codes: vqCodes,
};

const VQ_REFUSALS: Partial<Record<InferOp, string>> = {
  traverse: 'Traversals move one dimension of a continuous latent',
  latentMap: 'The latent map plots continuous posterior means',
  interpolate: 'Interpolation follows a path through a continuous latent',
  generateClass: 'Generating a class needs a conditional VAE',
  swapClass: 'Swapping the class needs a conditional VAE',
};

/** Why a VQ-VAE does not answer `op`, as one sentence. */
export function vqRefusal(op: InferOp): string {
  const what = VQ_REFUSALS[op] ?? `The request ${op} works on a continuous latent`;
  return `${what}; this model is a VQ-VAE with a grid of discrete codes (ask for its samples or codes instead).`;
}

/**
 * Check a request at the process boundary (the core validated it too, but the worker
 * trusts nothing it receives) and run its handler.
 */
export async function answer(session: AnyModelSession, raw: unknown, ctx: InferContext): Promise<unknown> {
  const op = typeof raw === 'object' && raw !== null ? (raw as { op?: unknown }).op : undefined;
  if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(inferRequestSchemas, op)) {
    throw new ApiError('invalid_input', `Unknown model request ${String(op)}`, { field: 'op' });
  }
  const { op: _op, ...fields } = raw as { op: InferOp };
  const parsed = inferRequestSchemas[op as InferOp].safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'request';
    throw new ApiError('invalid_input', `${field}: ${issue?.message ?? 'invalid'}`, { field });
  }
  const request = { op, ...parsed.data } as InferRequest;
  const blocker = request.op === 'impute' || request.op === 'imputeEvaluate' ? inferenceBlocker(session.config, 'inpaint') : null;
  if (blocker) throw new ApiError('invalid_input', session.kind === 'vq' ? `This model is a VQ-VAE: ${blocker}` : blocker, { field: 'runId' });
  if (session.kind === 'vq') {
    const handler = vqHandlers[request.op] as Handler<InferOp, VqModelSession> | undefined;
    if (!handler) throw new ApiError('invalid_input', vqRefusal(request.op), { field: 'op' });
    return handler(session, request as InferRequestOf<InferOp>, ctx);
  }
  return (inferHandlers[request.op] as Handler<InferOp>)(session, request as InferRequestOf<InferOp>, ctx);
}
