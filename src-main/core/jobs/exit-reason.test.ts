import { describe, expect, it } from 'vitest';
import { classifyExit, type ExitContext } from './exit-reason';

const base: ExitContext = {
  exit: { code: 1, signal: null, stderrTail: '' },
  done: null,
  reportedError: null,
  stopRequested: false,
  hung: false,
  shuttingDown: false,
};

describe('why a worker ended', () => {
  it('records an out-of-memory error the worker reported itself as oom, keeping its advice', () => {
    const error = { code: 'invalid_input' as const, message: 'This model needs at least 4.4 GB … Lower the batch size to 290', details: { field: 'batchSize', reason: 'out_of_memory' } };
    expect(classifyExit({ ...base, reportedError: error })).toEqual({ status: 'oom', error });
  });

  it('records V8 dying of heap exhaustion as oom and any other reported error as failed', () => {
    const oom = classifyExit({ ...base, exit: { code: null, signal: 'SIGABRT', stderrTail: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' } });
    expect(oom.status).toBe('oom');
    const failed = classifyExit({ ...base, reportedError: { code: 'io_error', message: 'The disk is full', details: { reason: 'disk_full' } } });
    expect(failed.status).toBe('failed');
  });

  it('records a worker ended by Ctrl+C (SIGINT to the terminal\'s process group) as interrupted, not crashed', () => {
    const verdict = classifyExit({ ...base, exit: { code: null, signal: 'SIGINT', stderrTail: '' } });
    expect(verdict.status).toBe('interrupted');
    expect(verdict.error?.message).toMatch(/stopped \(Ctrl\+C\).*kept/);
  });
});
