import { ApiError } from '@shared/errors';

const DISK_FULL = /SQLITE_FULL|ENOSPC|EDQUOT/;

/** A write refused because the disk (or the user's quota) is full. */
export function isDiskFull(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return DISK_FULL.test(`${(error as { code?: string } | null)?.code ?? ''} ${message}`);
}

/**
 * Any thrown value as the typed error a user sees: storage problems become advice, not
 * "internal". Used by the request handlers and by the child processes the core starts.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code ?? '';
  if (/SQLITE_CONSTRAINT/.test(code)) return new ApiError('conflict', message);
  if (/SQLITE_READONLY/.test(code)) {
    return new ApiError('conflict', 'This workspace is open read-only because another VAE Studio is using it; nothing was changed.');
  }
  if (DISK_FULL.test(`${code} ${message}`)) {
    return new ApiError('io_error', `The disk is full (${message}). Nothing was saved; free some space and try again.`);
  }
  if (code === 'EROFS' || code === 'EIO') {
    return new ApiError(
      'io_error',
      `The workspace's disk ${code === 'EROFS' ? 'is read-only' : 'reported an I/O error'} (${message}). Check the disk (a file system is remounted read-only after errors); nothing more was saved.`,
    );
  }
  if (/EROFS|EACCES|EPERM/.test(code)) {
    return new ApiError('io_error', `The workspace cannot be written (${message}). Check its folder's permissions.`);
  }
  return new ApiError('internal', message);
}
