import { describe, expect, it } from 'vitest';
import { durationBetween, formatBytes, formatDuration, formatEta, formatMetric, formatRate, plural } from './format';

describe('format', () => {
  it('shows memory in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatBytes(2.25 * 1024 ** 3)).toBe('2.3 GiB');
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(0)).toBe('—');
  });

  it('shows metrics with sensible precision', () => {
    expect(formatMetric(1234.56)).toMatch(/^1[,.\s]?235$/);
    expect(formatMetric(166.34)).toBe('166.3');
    expect(formatMetric(7.064)).toBe('7.06');
    expect(formatMetric(0.14812)).toBe('0.148');
    expect(formatMetric(0)).toBe('0');
    expect(formatMetric(-3.5)).toBe('-3.50');
  });

  it('shows a dash for missing or broken numbers', () => {
    expect(formatMetric(null)).toBe('—');
    expect(formatMetric(undefined)).toBe('—');
    expect(formatMetric(Number.NaN)).toBe('—');
    expect(formatRate(0)).toBe('—');
    expect(formatEta(null)).toBe('—');
    expect(formatDuration(-1)).toBe('—');
  });

  it('formats durations from seconds to hours', () => {
    expect(formatDuration(4_400)).toBe('4s');
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatDuration(3_600_000 + 7 * 60_000)).toBe('1h 07m');
    expect(formatEta(90)).toBe('1m 30s');
  });

  it('measures a running duration against now', () => {
    expect(durationBetween('2026-01-01T00:00:00Z', null, Date.parse('2026-01-01T00:00:05Z'))).toBe(5000);
    expect(durationBetween('2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z')).toBe(60_000);
    expect(durationBetween(null, null)).toBeNull();
  });

  it('pluralizes', () => {
    expect(plural(1, 'run')).toBe('1 run');
    expect(plural(3, 'run')).toBe('3 runs');
    expect(plural(0, 'dataset')).toBe('0 datasets');
  });
});
