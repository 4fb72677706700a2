import { describe, expect, it } from 'vitest';
import { LIMITS } from '@shared/config';
import { importedRunName } from './import-model';

describe('an imported run’s name', () => {
  it('says it is a copy, once, within the name limit', () => {
    expect(importedRunName('mlp-z8-1')).toBe('mlp-z8-1 (imported)');
    expect(importedRunName('mlp-z8-1 (imported)')).toBe('mlp-z8-1 (imported)');
    const long = importedRunName('x'.repeat(LIMITS.nameLength));
    expect(long).toHaveLength(LIMITS.nameLength);
    expect(long.endsWith(' (imported)')).toBe(true);
  });
});
