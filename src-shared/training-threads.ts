/**
 * The line a training run adds to its backend notes saying how many threads its steps
 * split across (src-worker/job.ts writes it, the run page reads the count back): one
 * place for its wording.
 */
export function threadsNote(threads: number, why = ''): string {
  return `training: ${threads} thread${threads === 1 ? '' : 's'}${threads > 1 ? ', data-parallel, one replica each' : ''}${why}`;
}

/** The thread count a run's backend notes report, or null (a run from before threads, or not started). */
export function threadsInNotes(notes: readonly string[]): number | null {
  for (const note of notes) {
    const match = /^training: (\d+) threads?(?:$|[ ,])/.exec(note);
    if (match) return Number(match[1]);
  }
  return null;
}
