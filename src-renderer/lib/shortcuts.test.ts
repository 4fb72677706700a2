import { describe, expect, it } from 'vitest';
import { SEQUENCE_MS, ShortcutReader } from './shortcuts';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

describe('shortcuts', () => {
  it('reads two-key sequences and single keys', () => {
    const reader = new ShortcutReader();
    expect(reader.read(key('g'), 0)).toBeNull();
    expect(reader.read(key('r'), 100)).toBe('go-runs');
    expect(reader.read(key('N'), 200)).toBe('new-run');
    expect(reader.read(key('?'), 300)).toBe('help');
    expect(reader.read(key('/'), 400)).toBe('search');
    expect(reader.read(key('e'), 500)).toBe('explore');
  });

  it('forgets the first key of a sequence after a pause', () => {
    const reader = new ShortcutReader();
    reader.read(key('g'), 0);
    expect(reader.read(key('d'), SEQUENCE_MS + 1)).toBeNull();
  });

  it('ignores keys with Ctrl, Cmd or Alt, and they break a sequence', () => {
    const reader = new ShortcutReader();
    expect(reader.read(key('n', { ctrlKey: true }), 0)).toBeNull();
    reader.read(key('g'), 10);
    expect(reader.read(key('t', { metaKey: true }), 20)).toBeNull();
    expect(reader.read(key('t'), 30)).toBeNull();
  });

  it('lets a key that does not continue a sequence act on its own', () => {
    const reader = new ShortcutReader();
    reader.read(key('g'), 0);
    expect(reader.read(key('n'), 50)).toBe('new-run');
  });
});
