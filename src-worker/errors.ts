import { ApiError, isApiErrorShape, type ApiErrorShape } from '@shared/errors';
import { OUT_OF_MEMORY } from './model/memory';

// What running out of memory looks like from JavaScript: V8 refusing an ArrayBuffer,
// wasm's 4 GiB heap exhausted (tfjs-backend-wasm then reads out of bounds or aborts),
// WebGPU refusing a buffer.
const OOM_MESSAGE = /Array buffer allocation failed|Invalid typed array length|WebAssembly\.Memory|memory access out of bounds|Aborted\(OOM\)|out of memory|Cannot enlarge memory|could not allocate/i;
const DISK_FULL = /ENOSPC|EDQUOT/;
/** Other write failures of the disk itself: read-only (remounted after an error), I/O error, no permission. */
const DISK_ERROR = /^(EROFS|EIO|EACCES|EPERM)$/;

/** Any thrown value as the error shape the protocol carries; unknown errors are 'internal'. */
export function toErrorShape(error: unknown): ApiErrorShape {
  if (error instanceof ApiError) return error.toJSON();
  // A Node errno error also has a string code and a message, but 'ENOSPC' is no ErrorCode.
  if (!(error instanceof Error) && isApiErrorShape(error)) return { code: error.code, message: error.message, details: error.details };
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (DISK_FULL.test(`${typeof code === 'string' ? code : ''} ${message}`)) {
    const path = (error as { path?: unknown }).path;
    return {
      code: 'io_error',
      message: `The disk is full: the training process could not write ${typeof path === 'string' ? path : 'its checkpoint'} (${message}). Earlier checkpoints are kept; free some space and resume the run.`,
      details: { reason: 'disk_full', ...(typeof path === 'string' && { path }) },
    };
  }
  if (typeof code === 'string' && DISK_ERROR.test(code)) {
    const path = (error as { path?: unknown }).path;
    const what = code === 'EROFS' ? 'the disk is read-only' : code === 'EIO' ? 'the disk reported an I/O error' : 'it has no permission';
    return {
      code: 'io_error',
      message: `The training process could not write ${typeof path === 'string' ? path : 'its checkpoint'}: ${what} (${message}). Earlier checkpoints are kept; check the disk, then resume the run.`,
      details: { reason: 'disk_error', errno: code, ...(typeof path === 'string' && { path }) },
    };
  }
  if (OOM_MESSAGE.test(message)) {
    return {
      code: 'worker_failed',
      message: `The training process ran out of memory (${message}). Try a smaller batch size, image size or model.`,
      details: { reason: OUT_OF_MEMORY },
    };
  }
  const stack = error instanceof Error && error.stack !== undefined ? error.stack.split('\n').slice(0, 6).join('\n') : undefined;
  return { code: 'internal', message: `Training worker failed: ${message}`, details: stack === undefined ? undefined : { stack } };
}
