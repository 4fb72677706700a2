import type { ImportProgress } from '@shared/types';
import { call, on } from './api';
import { newJobId } from './ids';

/**
 * One import or re-import as the UI follows it: its job id (so progress events can be
 * matched to it), the newest progress, and a polite cancel.
 */
export class ImportJob {
  readonly id: string;
  progress = $state.raw<ImportProgress | null>(null);
  cancelling = $state(false);

  constructor(prefix = 'import') {
    this.id = newJobId(prefix);
  }

  /** Subscribes before asking, so not even the first progress event is missed. */
  async run<T>(start: (jobId: string) => Promise<T>): Promise<T> {
    const off = on('dataset.progress', (progress) => {
      if (progress.jobId === this.id) this.progress = progress;
    });
    try {
      return await start(this.id);
    } finally {
      off();
    }
  }

  async cancel(): Promise<void> {
    this.cancelling = true;
    await call('datasets.cancelImport', { jobId: this.id });
  }
}
