import { describe, expect, it } from 'vitest';
import { threadsNote } from '@shared/training-threads';
import BackendInfo from './BackendInfo.svelte';
import { makeRun } from '../test/fixtures';
import { render } from '../test/render';

describe('the run page backend line', () => {
  it('shows how many threads the run trains on, from its backend notes', () => {
    const view = render(BackendInfo, { run: makeRun({ backend: 'wasm', backendNotes: ['wasm: SIMD', threadsNote(2)] }) });
    expect(view.get('run-threads').textContent?.trim()).toBe('2 threads');
  });

  it('shows no count for a run from before threads were reported', () => {
    const view = render(BackendInfo, { run: makeRun({ backend: 'wasm', backendNotes: ['wasm: SIMD'] }) });
    expect(view.query('run-threads')).toBeNull();
  });
});
