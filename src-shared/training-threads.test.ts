import { describe, expect, it } from 'vitest';
import { threadsInNotes, threadsNote } from './training-threads';

describe('the training-threads note', () => {
  it('reads back the count it wrote, with or without a reason, and nothing from other notes', () => {
    expect(threadsInNotes(['wasm: SIMD', threadsNote(4)])).toBe(4);
    expect(threadsInNotes([threadsNote(1, ' — a vqvae cannot split')])).toBe(1);
    expect(threadsInNotes([threadsNote(3, ' (lowered: memory)')])).toBe(3);
    expect(threadsInNotes(['wasm: SIMD; its kernels run on one thread under Node'])).toBeNull();
    expect(threadsInNotes([])).toBeNull();
  });
});
