import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decimate, type DecimationSource } from './decimate';
import { LineSource, SPARSE_POINTS, styleDensity } from './live-lines';
import { ExtremaIndex, MetricSeries } from './metric-series';
import { smooth } from './chart-series';

/** A series with one point per step from 1, values from `values`. */
function seriesOf(values: readonly number[]): MetricSeries {
  return MetricSeries.from(values.map((y, i) => ({ step: i + 1, epoch: 1 + Math.floor(i / 100), t: i * 10, y })));
}

function stepSource(series: MetricSeries, weight = 0): LineSource {
  const source = new LineSource();
  source.set(series, 'step', null, weight);
  return source;
}

describe('ExtremaIndex', () => {
  it('finds the min and max of any range, as a scan would', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 300 }), fc.nat(), fc.nat(), (values, p, q) => {
        const index = new ExtremaIndex((i) => values[i]!);
        for (let i = 0; i < values.length; i++) index.append();
        const from = p % values.length;
        const to = from + 1 + (q % (values.length - from));
        const [iMin, iMax] = index.extrema(from, to);
        const slice = values.slice(from, to);
        expect(values[iMin]).toBe(Math.min(...slice));
        expect(values[iMax]).toBe(Math.max(...slice));
        expect(iMin).toBeGreaterThanOrEqual(from);
        expect(iMax).toBeLessThan(to);
      }),
      { numRuns: 300 },
    );
  });
});

describe('decimate', () => {
  it('draws every point of a short series as it is', () => {
    const series = seriesOf([5, 4, 3, 6, 2]);
    expect(decimate(stepSource(series), { range: null, columns: 800 })).toEqual([
      { x: 1, y: 5 },
      { x: 2, y: 4 },
      { x: 3, y: 3 },
      { x: 4, y: 6 },
      { x: 5, y: 2 },
    ]);
  });

  it('draws at most two points per pixel column however long the run, and keeps every spike', () => {
    const n = 1_000_000;
    const values = Array.from({ length: n }, (_, i) => 100 / Math.sqrt(i + 1) + Math.sin(i) * 0.01);
    values[123_456] = 999; // one step that blew up
    values[654_321] = -5; // and one that dipped
    const series = seriesOf(values);
    const drawn = decimate(stepSource(series), { range: null, columns: 900 });
    expect(drawn.length).toBeLessThanOrEqual(2 * 900 + 2);
    expect(drawn.some((point) => point.y === 999 && point.x === 123_457)).toBe(true);
    expect(drawn.some((point) => point.y === -5 && point.x === 654_322)).toBe(true);
    // The ends of the curve are where the run started and where it is now.
    expect(drawn[0]!.x).toBe(1);
    expect(drawn.at(-1)!.x).toBe(n);
    // In order along x, as a line must be.
    for (let i = 1; i < drawn.length; i++) expect(drawn[i]!.x).toBeGreaterThanOrEqual(drawn[i - 1]!.x);
  });

  it('a zoom shows every stored point of its range, plus one on each side to reach the edges', () => {
    const values = Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 101);
    const series = seriesOf(values);
    const drawn = decimate(stepSource(series), { range: { min: 20_000, max: 20_300 }, columns: 900 });
    expect(drawn).toHaveLength(301 + 2);
    expect(drawn[0]).toEqual({ x: 19_999, y: values[19_998] });
    expect(drawn[1]).toEqual({ x: 20_000, y: values[19_999] });
    expect(drawn.at(-1)).toEqual({ x: 20_301, y: values[20_300] });
  });

  it('the envelope per column matches a scan of the points in that column', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 50, maxLength: 2000 }), fc.integer({ min: 4, max: 40 }), (values, columns) => {
        const series = seriesOf(values);
        const drawn = decimate(stepSource(series), { range: null, columns });
        const xMin = 1;
        const width = (values.length - xMin) / columns;
        // Every column's extreme values appear among the drawn points.
        for (let c = 0; c < columns; c++) {
          const inColumn = values.filter((_, i) => {
            const x = i + 1;
            return c === columns - 1 ? x > xMin + c * width : x > xMin + c * width && x <= xMin + (c + 1) * width;
          });
          if (c === 0) inColumn.unshift(values[0]!);
          if (inColumn.length === 0) continue;
          const ys = drawn.map((point) => point.y);
          expect(ys).toContain(Math.max(...inColumn));
          expect(ys).toContain(Math.min(...inColumn));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('costs the same at 10 000 and 1 000 000 points (reads of the series, not seconds)', () => {
    const reads = (n: number): number => {
      const series = seriesOf(Array.from({ length: n }, (_, i) => Math.cos(i / 50)));
      const inner = stepSource(series);
      let count = 0;
      const counted: DecimationSource = {
        get length() {
          return inner.length;
        },
        x: (i) => (count++, inner.x(i)),
        y: (i) => (count++, inner.y(i)),
        extrema: (a, b) => (count++, inner.extrema(a, b)),
      };
      decimate(counted, { range: null, columns: 800 });
      return count;
    };
    const small = reads(10_000);
    const large = reads(1_000_000);
    // Binary searches grow with log n: 100× the points, well under 2× the work.
    expect(large).toBeLessThan(small * 2);
  });
});

describe('LineSource', () => {
  it('smooths as the EMA of the whole series does, whether the points came at once or in batches', () => {
    const values = Array.from({ length: 500 }, (_, i) => 50 + 10 * Math.sin(i / 7) + (i % 13));
    const whole = stepSource(seriesOf(values), 0.9);
    const live = new MetricSeries();
    const source = new LineSource();
    for (let i = 0; i < values.length; i++) {
      live.push({ step: i + 1, epoch: 1, t: i, y: values[i]! });
      if (i % 37 === 0) source.set(live, 'step', null, 0.9);
    }
    source.set(live, 'step', null, 0.9);
    const expected = smooth(values, 0.9);
    for (let i = 0; i < values.length; i++) {
      expect(source.y(i)).toBeCloseTo(expected[i]!, 9);
      expect(whole.y(i)).toBeCloseTo(expected[i]!, 9);
    }
  });

  it('maps points to the chosen x axis, and says when that changes everything drawn', () => {
    const series = MetricSeries.from([
      { step: 10, epoch: 1, t: 1500, y: 1 },
      { step: 20, epoch: 2, t: 3000, y: 2 },
    ]);
    const source = new LineSource();
    expect(source.set(series, 'step', 10, 0)).toBe(true);
    expect(source.set(series, 'step', 10, 0)).toBe(false);
    expect([source.x(0), source.x(1)]).toEqual([10, 20]);
    expect(source.set(series, 'time', 10, 0)).toBe(true);
    expect([source.x(0), source.x(1)]).toEqual([1.5, 3]);
    expect(source.set(series, 'epoch', 10, 0)).toBe(true);
    expect([source.x(0), source.x(1)]).toEqual([1, 2]);
  });

  it('dense curves are drawn straight and without markers, short ones keep theirs', () => {
    const short = { data: new Array(12).fill(0), tension: 0, pointRadius: 0 };
    styleDensity(short, true);
    expect(short).toMatchObject({ tension: 0.2, pointRadius: 2.5 });
    const dense = { data: new Array(SPARSE_POINTS + 1).fill(0), tension: 0.2, pointRadius: 2.5 };
    styleDensity(dense, true);
    expect(dense).toMatchObject({ tension: 0, pointRadius: 0 });
    // A run of one step still shows its point, markers or not.
    const single = { data: [0], tension: 0, pointRadius: 0 };
    styleDensity(single, false);
    expect(single.pointRadius).toBe(2.5);
    const perStep = { data: new Array(12).fill(0), tension: 0, pointRadius: 2.5 };
    styleDensity(perStep, false);
    expect(perStep.pointRadius).toBe(0);
  });
});
