import { describe, expect, it } from 'vitest';
import { FILTER_KEYS, FilterSyntaxError, parseRunFilter } from './run-filter';
import { runConfigObject } from './config';

function errorOf(text: string): FilterSyntaxError {
  try {
    parseRunFilter(text);
  } catch (error) {
    if (error instanceof FilterSyntaxError) return error;
    throw error;
  }
  throw new Error(`"${text}" parsed`);
}

describe('run filter language', () => {
  it('parses the issue example into typed terms', () => {
    expect(parseRunFilter('beta<1 latent>=16 status:finished tag:faces family:vae name~digits').terms).toEqual([
      { kind: 'compare', key: 'beta', op: '<', value: 1, token: 'beta<1' },
      { kind: 'compare', key: 'latent', op: '>=', value: 16, token: 'latent>=16' },
      { kind: 'compare', key: 'status', op: ':', value: 'finished', token: 'status:finished' },
      { kind: 'compare', key: 'tag', op: ':', value: 'faces', token: 'tag:faces' },
      { kind: 'compare', key: 'family', op: ':', value: 'vae', token: 'family:vae' },
      { kind: 'compare', key: 'name', op: '~', value: 'digits', token: 'name~digits' },
    ]);
  });

  it('knows every run setting of the config schema by its name', () => {
    for (const setting of Object.keys(runConfigObject.shape)) expect(FILTER_KEYS[setting], setting).toBeDefined();
    expect(FILTER_KEYS['learningRate']).toMatchObject({ type: 'number', source: { config: 'learningRate', fallback: 1e-3 } });
    expect(FILTER_KEYS['decoder']).toMatchObject({ type: 'enum', choices: ['bernoulli', 'gaussian', 'logistic'] });
    expect(FILTER_KEYS['threads']).toMatchObject({ type: 'number', source: { config: 'threads', fallback: null } });
    // A run stored without the encoder input read pixels in [0, 1]: `encoderInput:unit` finds it.
    expect(FILTER_KEYS['encoderInput']).toMatchObject({ type: 'enum', choices: ['unit', 'centred'], source: { config: 'encoderInput', fallback: 'unit' } });
  });

  it('reads quotes, escapes, exponents, metrics and bare words', () => {
    expect(parseRunFilter('name~"a b\\"c" learningRate<=3e-4 metric.val_nll<2 val_loss>1 digits "two words"').terms).toEqual([
      { kind: 'compare', key: 'name', op: '~', value: 'a b"c', token: 'name~"a b\\"c"' },
      { kind: 'compare', key: 'learningRate', op: '<=', value: 3e-4, token: 'learningRate<=3e-4' },
      { kind: 'compare', key: 'metric.val_nll', op: '<', value: 2, token: 'metric.val_nll<2' },
      { kind: 'compare', key: 'val_loss', op: '>', value: 1, token: 'val_loss>1' },
      { kind: 'text', value: 'digits', token: 'digits' },
      { kind: 'text', value: 'two words', token: '"two words"' },
    ]);
    expect(parseRunFilter('   ').terms).toEqual([]);
  });

  it('keeps an injection attempt as one string value', () => {
    expect(parseRunFilter(`name~"'; DROP TABLE runs;--"`).terms).toEqual([
      { kind: 'compare', key: 'name', op: '~', value: "'; DROP TABLE runs;--", token: `name~"'; DROP TABLE runs;--"` },
    ]);
  });

  it.each([
    ['beta<1 latnt>=16', 'latnt>=16', /unknown key "latnt" — did you mean latent\?/],
    ['beta<abc', 'beta<abc', /"beta" takes a number, not "abc"/],
    ['status:done', 'status:done', /"status" is one of queued, .*finished.*, not "done"/],
    ['family>vae', 'family>vae', /"family" is one of .*; use : or !=/],
    ['latent~1', 'latent~1', /"latent" is a number; compare it with/],
    ['name~"open', 'name~"open', /the quote is never closed/],
    ['<5', '<5', /no key before "<"/],
    ['beta<', 'beta<', /no value after "beta<"/],
    ['metric.a;b<1', 'metric.a;b<1', /unknown key "metric.a;b"/],
  ])('%s: the error names the token %s', (text, token, message) => {
    const error = errorOf(text);
    expect(error.token).toBe(token);
    expect(error.message).toContain(`"${token}"`);
    expect(error.message).toMatch(message);
    expect(text.slice(error.start, error.end)).toBe(token);
  });

  it('bounds the text and the number of terms', () => {
    expect(errorOf('a'.repeat(2001)).message).toMatch(/keep it under 2000/);
    expect(errorOf(Array.from({ length: 41 }, (_, i) => `seed:${i}`).join(' ')).token).toBe('seed:40');
  });
});
