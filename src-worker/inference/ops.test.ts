import { describe, expect, it } from 'vitest';
import { FAMILIES, modelFamilies } from '@shared/families';
import { inferRequestSchemas, type InferOp } from '@shared/inference';
import { inferHandlers, refusal } from './ops';

const ops = Object.keys(inferRequestSchemas) as InferOp[];

describe('the worker answers what each family descriptor says it answers', () => {
  it.each(modelFamilies)('%s: a handler for every request it answers, a sentence for every one it does not', (id) => {
    const family = FAMILIES[id];
    for (const op of family.answers) expect(inferHandlers[family.engine][op], `${id} ${op}`).toBeTypeOf('function');
    for (const op of ops.filter((o) => !family.answers.includes(o))) expect(refusal(family, op)).toMatch(/\.$/);
  });

  it('every request is answered by some family', () => {
    for (const op of ops) expect(modelFamilies.some((id) => FAMILIES[id].answers.includes(op)), op).toBe(true);
  });
});
