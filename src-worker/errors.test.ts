import { describe, expect, it } from 'vitest';
import { toErrorShape } from './errors';

const errno = (code: string, message: string, path?: string): Error => Object.assign(new Error(message), { code, ...(path && { path }) });

describe('worker errors as protocol values', () => {
  it('says the disk is full, naming the file, and that earlier checkpoints are kept', () => {
    const shape = toErrorShape(errno('ENOSPC', 'ENOSPC: no space left on device, write', '/ws/runs/3/epoch-4.vaeckpt.tmp-77'));
    expect(shape).toMatchObject({ code: 'io_error', details: { reason: 'disk_full', path: '/ws/runs/3/epoch-4.vaeckpt.tmp-77' } });
    expect(shape.message).toMatch(/disk is full.*epoch-4\.vaeckpt.*Earlier checkpoints are kept/);
    expect(toErrorShape(errno('EDQUOT', 'EDQUOT: disk quota exceeded')).details).toMatchObject({ reason: 'disk_full' });
  });

  it('tells allocation failures apart as out of memory', () => {
    for (const error of [
      new RangeError('Array buffer allocation failed'),
      new Error('memory access out of bounds'),
      new Error('WebAssembly.Memory.grow(): Maximum memory size exceeded'),
      new Error('Aborted(OOM)'),
    ]) {
      expect(toErrorShape(error), error.message).toMatchObject({ code: 'worker_failed', details: { reason: 'out_of_memory' } });
    }
  });

  it('keeps any other error internal, with its stack', () => {
    const shape = toErrorShape(new TypeError('x is undefined'));
    expect(shape).toMatchObject({ code: 'internal', message: 'Training worker failed: x is undefined' });
    expect(shape.details?.reason).toBeUndefined();
  });
});

describe('errno errors', () => {
  it('never cross the boundary with a Node errno as their code', () => {
    const shape = toErrorShape(errno('EACCES', 'EACCES: permission denied, open /x'));
    expect(['internal', 'io_error']).toContain(shape.code);
  });
});
