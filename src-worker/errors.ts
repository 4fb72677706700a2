import { ApiError, isApiErrorShape, type ApiErrorShape } from '@shared/errors';

/** Any thrown value as the error shape the protocol carries; unknown errors are 'internal'. */
export function toErrorShape(error: unknown): ApiErrorShape {
  if (error instanceof ApiError) return error.toJSON();
  if (isApiErrorShape(error)) return { code: error.code, message: error.message, details: error.details };
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && error.stack !== undefined ? error.stack.split('\n').slice(0, 6).join('\n') : undefined;
  return { code: 'internal', message: `Training worker failed: ${message}`, details: stack === undefined ? undefined : { stack } };
}
