import { describe, expect, it } from 'vitest';
import { runStatuses } from '@shared/types';
import { isActive, isResumable } from './run-status';

describe('run status groups', () => {
  it('treats queued, running and paused as active', () => {
    expect(runStatuses.filter((status) => isActive({ status }))).toEqual(['queued', 'running', 'paused']);
    expect(isActive(null)).toBe(false);
  });

  it('never offers to resume an active or finished run', () => {
    expect(isResumable({ status: 'finished' })).toBe(false);
    for (const status of runStatuses) if (isActive({ status })) expect(isResumable({ status })).toBe(false);
    expect(isResumable({ status: 'crashed' })).toBe(true);
  });
});
