import { describe, expect, it } from 'vitest';
import type { Chart } from 'chart.js';
import type { ChartColors } from './chart-series';
import { applyChartTheme, formatXValue, roundTicks, setXAxis } from './mount-chart';

describe('chart helpers', () => {
  it('formats x values per axis kind', () => {
    expect(formatXValue(150.4, 'step')).toBe('150');
    expect(formatXValue(2.3456, 'epoch')).toBe('2.35');
    expect(formatXValue(95, 'time')).toBe('1m 35s');
  });

  it('colours both axes and the tooltip from the theme', () => {
    const axis = (): Record<string, { color?: string }> => ({ grid: {}, ticks: {}, title: {}, border: {} });
    const chart = { options: { scales: { x: axis(), y: axis() }, plugins: { tooltip: {} as Record<string, string> } } };
    const colors = { grid: 'G', faint: 'F', text: 'T', tooltipBg: 'B', border: 'R', accent: 'A', series: [] } as unknown as ChartColors;
    applyChartTheme(chart as unknown as Chart, colors);
    for (const scale of [chart.options.scales.x, chart.options.scales.y]) {
      expect([scale['grid']!.color, scale['ticks']!.color, scale['title']!.color, scale['border']!.color]).toEqual(['G', 'F', 'T', 'G']);
    }
    expect(chart.options.plugins.tooltip).toMatchObject({ backgroundColor: 'B', borderColor: 'R', titleColor: 'T', bodyColor: 'T' });
  });

  it('steps get whole-number ticks, epochs and time do not', () => {
    const chart = { options: { scales: { x: { title: { text: '' }, ticks: {} as { precision?: number } } } } };
    setXAxis(chart as unknown as Chart, 'step');
    expect(chart.options.scales.x).toEqual({ title: { text: 'step' }, ticks: { precision: 0 } });
    setXAxis(chart as unknown as Chart, 'epoch', 'epochs');
    expect(chart.options.scales.x).toEqual({ title: { text: 'epochs' }, ticks: {} });
  });
});

describe('round ticks', () => {
  it('a step axis from its first point reads round thousands, not 1, 2 001, 4 001', () => {
    expect(roundTicks(1, 50_490, 8, 'step')).toEqual([10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(roundTicks(1, 9, 8, 'step')).toEqual([2, 4, 6, 8]);
    expect(roundTicks(5, 7, 8, 'step')).toEqual([5, 6, 7]);
  });

  it('an epoch axis from 0.03 reads 0.5, 1, 1.5… or whole epochs, never 0.03, 2.03', () => {
    expect(roundTicks(0.03, 10, 8, 'epoch')).toEqual([2, 4, 6, 8, 10]);
    expect(roundTicks(0.01, 3, 8, 'epoch')).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
  });

  it('a time axis reads clock steps: 30 s, 1 min, 5 min…', () => {
    expect(roundTicks(2, 200, 8, 'time')).toEqual([30, 60, 90, 120, 150, 180]);
    expect(roundTicks(2, 3000, 8, 'time')).toEqual([600, 1200, 1800, 2400, 3000]);
  });

  it('stays within the axis and under the limit, whatever the range', () => {
    for (const [min, max] of [[0, 1], [1, 7], [0.013, 0.5], [3, 123_456], [17, 17.5]] as const) {
      for (const axis of ['step', 'epoch', 'time'] as const) {
        const ticks = roundTicks(min, max, 8, axis);
        expect(ticks.length).toBeGreaterThan(0);
        expect(ticks.length).toBeLessThanOrEqual(8);
        for (const tick of ticks) {
          expect(tick).toBeGreaterThanOrEqual(min - 1e-9);
          expect(tick).toBeLessThanOrEqual(max + 1e-9);
        }
      }
    }
  });
});
