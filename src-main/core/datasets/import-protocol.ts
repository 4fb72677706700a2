import type { ImportSettings } from '@shared/config';
import type { ApiErrorShape } from '@shared/errors';
import type { ImportProgress } from '@shared/types';
import type { ImportResult } from './import-folder';

/**
 * Messages between the core and its import child process, each in an envelope with this
 * version (worker-connection.ts); the child says `hello` first, then gets its request.
 */
export const IMPORT_PROTOCOL_VERSION = 1;

/** Messages between the core and its import child process. */
export interface ImportRequest {
  type: 'import';
  folder: string;
  settings: ImportSettings;
  /** Packed file and index JSON of the previous version, for reuse of unchanged files. */
  previous?: { packedPath: string; indexPath: string };
  /** Where the child writes its result files (the blob store's temp folder). */
  outDir: string;
  /**
   * The workspace lock of the instance that asked (absent in-process): the child writes
   * into `outDir` only while that lock is still this holding.
   */
  lock?: { path: string; token: string };
}

/** The core has read the child's result (or error): the child may exit now. */
export interface ImportAck {
  type: 'ack';
}

export type ImportMeta = Omit<ImportResult, 'packed' | 'index'>;

/**
 * From the child. The result's metadata (its skipped list may be long) travels in a file
 * beside the pack, never in the message: a large message can still be in flight when the
 * child exits, and is lost with it.
 */
export type ImportReply =
  | { type: 'hello'; pid: number }
  | { type: 'progress'; progress: Omit<ImportProgress, 'jobId'> }
  | { type: 'result'; packedPath: string; indexPath: string; metaPath: string }
  | { type: 'error'; error: ApiErrorShape };
