import type { ImportSettings } from '@shared/config';
import type { ApiErrorShape } from '@shared/errors';
import type { ImportProgress } from '@shared/types';
import type { ImportResult } from './import-folder';

/** Messages between the core and its import child process. */
export interface ImportRequest {
  type: 'import';
  folder: string;
  settings: ImportSettings;
  /** Packed file and index JSON of the previous version, for reuse of unchanged files. */
  previous?: { packedPath: string; indexPath: string };
  /** Where the child writes its result files (the blob store's temp folder). */
  outDir: string;
}

export type ImportMeta = Omit<ImportResult, 'packed' | 'index'>;

export type ImportReply =
  | { type: 'progress'; progress: Omit<ImportProgress, 'jobId'> }
  | { type: 'result'; packedPath: string; indexPath: string; meta: ImportMeta }
  | { type: 'error'; error: ApiErrorShape };
