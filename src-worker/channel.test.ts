import { describe, expect, it } from 'vitest';
import { WORKER_PROTOCOL_VERSION } from '@shared/worker-protocol';
import { unwrap } from './channel';

describe('incoming envelopes', () => {
  it('accepts our version and known types', () => {
    expect(unwrap({ v: WORKER_PROTOCOL_VERSION, msg: { type: 'ping' } })).toEqual({ ok: true, msg: { type: 'ping' } });
  });

  it('refuses other versions, unknown types and junk, saying why', () => {
    const bad = [
      [{ v: 99, msg: { type: 'ping' } }, /version 99/],
      [{ v: WORKER_PROTOCOL_VERSION, msg: { type: 'explode' } }, /unknown message type explode/],
      [null, /not an object/],
    ] as const;
    for (const [value, why] of bad) {
      const result = unwrap(value);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.why).toMatch(why);
    }
  });
});
