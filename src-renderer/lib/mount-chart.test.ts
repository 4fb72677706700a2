import { describe, expect, it } from 'vitest';
import type { Chart } from 'chart.js';
import type { ChartColors } from './chart-series';
import { applyChartTheme, formatXValue, setXAxis } from './mount-chart';

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
