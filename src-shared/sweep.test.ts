import { describe, expect, it } from 'vitest';
import { expandSweep, parseEarlyStop, parseSweep, sweepRequestSchema, SweepError, SWEEP_LIMITS, type SweepRequestInput } from './sweep';

const spec = (input: SweepRequestInput) => parseSweep(sweepRequestSchema.parse(input));
const fails = (input: SweepRequestInput): SweepError => {
  try {
    spec(input);
  } catch (error) {
    if (error instanceof SweepError) return error;
    throw error;
  }
  throw new Error('expected a SweepError');
};

describe('sweep definitions', () => {
  it('expands a grid × seeds into every combination, each seed of a trial together', () => {
    const runs = expandSweep(spec({ grid: ['beta=0.5,1,2', 'latent=8,16,32'], seeds: 3 }), { seed: 7 });
    expect(runs).toHaveLength(27);
    expect(new Set(runs.map((r) => `${r.config.beta}/${r.config.latent}`)).size).toBe(9);
    expect(runs.slice(0, 3).map((r) => [r.trial, r.repeat, r.config.seed])).toEqual([
      [0, 0, 7],
      [0, 1, 8],
      [0, 2, 9],
    ]);
    // Odometer order: the last grid setting changes fastest.
    expect(runs.filter((r) => r.repeat === 0).slice(0, 4).map((r) => r.settings)).toEqual([
      { beta: 0.5, latent: 8 },
      { beta: 0.5, latent: 16 },
      { beta: 0.5, latent: 32 },
      { beta: 1, latent: 8 },
    ]);
  });

  it('draws random settings reproducibly from the sweep seed, inside their ranges', () => {
    const request = { grid: ['beta=0.5,1,2'], random: ['lr=log:1e-4..3e-3', 'latent=int:8..64', 'architecture=mlp,conv', 'freeBits=0..0.5'], trials: 20, seeds: 2 };
    const a = expandSweep(spec(request), {});
    const b = expandSweep(spec(request), {});
    const c = expandSweep(spec({ ...request, sweepSeed: 2 }), {});
    expect(a).toHaveLength(40);
    expect(a.map((r) => r.settings)).toEqual(b.map((r) => r.settings));
    expect(a.map((r) => r.settings.learningRate)).not.toEqual(c.map((r) => r.settings.learningRate));
    for (const run of a) {
      expect(run.config.learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(run.config.learningRate).toBeLessThanOrEqual(3e-3);
      expect(Number.isInteger(run.config.latent)).toBe(true);
      expect(run.config.latent).toBeGreaterThanOrEqual(8);
      expect(run.config.latent).toBeLessThanOrEqual(64);
    }
    // The grid cycles under the random draws; log-uniform puts about half the draws below the geometric mean.
    expect(a.filter((r) => r.repeat === 0).map((r) => r.settings.beta).slice(0, 4)).toEqual([0.5, 1, 2, 0.5]);
    const many = expandSweep(spec({ random: ['lr=log:1e-4..1e-2'], trials: 1000 }), {});
    const below = many.filter((r) => r.config.learningRate < 1e-3).length;
    expect(below).toBeGreaterThan(420);
    expect(below).toBeLessThan(580);
    expect(new Set(a.map((r) => r.config.architecture))).toEqual(new Set(['mlp', 'conv']));
  });

  it('takes every run setting by its name or its CLI flag, and values the schema accepts', () => {
    const runs = expandSweep(spec({ grid: ['lr=0.001,0.01', 'batchSize=32', 'flow-steps=2,4', 'flow=planar'] }), {});
    expect(runs.map((r) => [r.config.learningRate, r.config.flowSteps])).toEqual([
      [0.001, 2],
      [0.001, 4],
      [0.01, 2],
      [0.01, 4],
    ]);
  });

  it('refuses a bad token naming the field, the token and what the setting takes', () => {
    expect(fails({ grid: ['beta=0.5,1', 'latent=8,x'] })).toMatchObject({ field: 'grid.1', message: expect.stringMatching(/grid "latent=8,x".*"x" is not a number; latent takes integer 1–512/) });
    expect(fails({ grid: ['latent=8,1000'] }).message).toMatch(/latent = 1000 is refused.*integer 1–512/);
    expect(fails({ grid: ['latent=8.5'] }).message).toMatch(/latent = 8.5 is refused/);
    expect(fails({ grid: ['colour=red'] })).toMatchObject({ field: 'grid.0', message: expect.stringMatching(/"colour" is not a run setting/) });
    expect(fails({ random: ['architecture=mlp..conv'] }).message).toMatch(/architecture is a choice/);
    expect(fails({ random: ['architecture=mlp,resnet'] })).toMatchObject({ field: 'random.0', message: expect.stringMatching(/architecture = resnet is refused.*mlp\|conv/) });
    expect(fails({ random: ['lr=log:0..1e-3'], trials: 3 }).message).toMatch(/learningRate = 0 is refused.*number 0.000001–1/);
    expect(fails({ random: ['beta=log:0..2'], trials: 3 }).message).toMatch(/log range needs a lower end above 0/);
    expect(fails({ random: ['beta=4..0.1'], trials: 3 }).message).toMatch(/range 4..0.1 is empty/);
    expect(fails({ grid: ['beta=1,1'] }).message).toMatch(/listed twice/);
    expect(fails({ grid: ['beta=1'], random: ['beta=0..2'], trials: 2 })).toMatchObject({ field: 'random.0', message: expect.stringMatching(/already swept by grid.0/) });
    expect(fails({ random: ['beta=0..2'] })).toMatchObject({ field: 'trials' });
    expect(fails({ grid: ['beta=1,2'], trials: 3 }).message).toMatch(/grid has 2 combinations, fewer than the 3 trials/);
    expect(fails({ grid: ['seed=1,2'], seeds: 2 })).toMatchObject({ field: 'seeds' });
    expect(fails({})).toMatchObject({ field: 'grid' });
    expect(fails({ grid: ['beta'] }).message).toMatch(/should read setting=values/);
  });

  it('refuses a combination the schema refuses, naming the trial', () => {
    const planned = spec({ grid: ['objective=beta,capacity'] });
    expect(() => expandSweep(planned, { freeBits: 0.5 })).toThrow(/trial 2 \(objective=capacity\): freeBits: free bits apply to objective 'beta' only/);
  });

  it('bounds the plan by the limits before enumerating a hostile grid', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1).join(',');
    const started = performance.now();
    const error = fails({ grid: [`latent=${values.split(',').slice(0, 512).join(',')}`, `hidden=${Array.from({ length: 1000 }, (_, i) => i + 8).join(',')}`, `epochs=${values}`] });
    expect(error).toMatchObject({ field: 'grid', message: expect.stringMatching(/more than 10000 combinations/) });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(fails({ grid: ['beta=1,2'], random: ['lr=1e-4..1e-3'], trials: 1000, seeds: 11 }).message).toMatch(/11000 runs; a sweep plans at most 10000/);
    expect(() => sweepRequestSchema.parse({ grid: ['x'.repeat(SWEEP_LIMITS.tokenLength + 1)] })).toThrow();
  });

  it('a budget under the grid size samples the grid without repeats, from the sweep seed', () => {
    const a = expandSweep(spec({ grid: ['beta=0.5,1,2', 'latent=8,16,32'], trials: 4 }), {});
    expect(a).toHaveLength(4);
    expect(new Set(a.map((r) => `${r.config.beta}/${r.config.latent}`)).size).toBe(4);
    expect(expandSweep(spec({ grid: ['beta=0.5,1,2', 'latent=8,16,32'], trials: 4 }), {}).map((r) => r.settings)).toEqual(a.map((r) => r.settings));
  });

  it('parses early stopping rules and refuses unknown ones', () => {
    expect(parseEarlyStop('median')).toEqual({ rule: 'median', grace: 1, minFinished: 3 });
    expect(parseEarlyStop('halving:eta=2,grace=2')).toEqual({ rule: 'halving', grace: 2, eta: 2 });
    expect(parseEarlyStop('median:finished=5')).toEqual({ rule: 'median', grace: 1, minFinished: 5 });
    expect(() => parseEarlyStop('hyperband')).toThrow(/median or halving/);
    expect(() => parseEarlyStop('halving:eta=1')).toThrow(/eta must be a whole number ≥ 2/);
    expect(() => parseEarlyStop('median:eta=2')).toThrow(/median takes grace and finished, not "eta"/);
    expect(spec({ grid: ['beta=1,2'], earlyStop: 'none' }).earlyStop).toBeNull();
  });
});
