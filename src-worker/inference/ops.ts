import { inferenceBlocker } from '@shared/config';
import { familyOf, type FamilyDescriptor } from '@shared/families';
import { ApiError } from '@shared/errors';
import { inferRequestSchemas, type InferOp, type InferRequest, type InferRequestOf, type InferResults } from '@shared/inference';
import * as conditional from './conditional';
import * as explore from './explore';
import { impute, imputeEvaluate } from './inpaint';
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

/**
 * The handler of each request, per engine (the session's kind). Which requests a run
 * answers is its family's (FamilyDescriptor.answers); a request it answers must have a
 * handler here for its engine (families.test.ts checks every family).
 */
export const inferHandlers: {
  gaussian: { [K in InferOp]?: Handler<K, ModelSession> };
  codes: { [K in InferOp]?: Handler<K, VqModelSession> };
} = {
  gaussian: {
    images: explore.images,
    traverse: explore.traverse,
    latentMap: explore.latentMap,
    interpolate: explore.interpolate,
    samples: explore.samples,
    generateClass: conditional.generateClass,
    swapClass: conditional.swapClass,
    impute,
    imputeEvaluate,
  },
  codes: {
    images: explore.images,
    samples: vqSamples,
    codes: vqCodes,
  },
};

/** Why a run of this family does not answer `op`, as one sentence. */
export function refusal(family: FamilyDescriptor, op: InferOp): string {
  return family.refusal?.(op) ?? `This model does not answer ${op}.`;
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
  const family = familyOf(session.config);
  const blocker = request.op === 'impute' || request.op === 'imputeEvaluate' ? inferenceBlocker(session.config, 'inpaint') : null;
  if (blocker) throw new ApiError('invalid_input', `This model is a ${family.shortName}: ${blocker}`, { field: 'runId' });
  const handler = family.answers.includes(request.op) ? inferHandlers[session.kind][request.op] : undefined;
  if (!handler) throw new ApiError('invalid_input', refusal(family, request.op), { field: 'op' });
  return (handler as Handler<InferOp, AnyModelSession>)(session, request as InferRequestOf<InferOp>, ctx);
}
