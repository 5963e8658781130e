import { describe, expect, it } from 'vitest';
import { averageCents, trendsReadRange, weekStart } from '../../../processors/dashboard/figures.js';
import { dollarsToCents } from '../../../processors/dashboard/nightly.js';
import {
  escapeHtml,
  formatCount,
  formatDuration,
  formatMoney,
  formatPercent,
  formatShare,
} from '../../../processors/dashboard/web/format.js';

describe('dashboard formatting', () => {
  it('writes integer cents as dollars exactly, with thousands separators and a sign', () => {
    expect(formatMoney(0)).toBe('$0.00');
    expect(formatMoney(5)).toBe('$0.05');
    expect(formatMoney(199)).toBe('$1.99');
    expect(formatMoney(123_456_789)).toBe('$1,234,567.89');
    expect(formatMoney(-50)).toBe('-$0.50');
    expect(formatMoney(null)).toBe('—');
    expect(() => formatMoney(1.5)).toThrow(RangeError);
  });

  it('writes shares and percentages', () => {
    expect(formatShare(0.1234)).toBe('12.3%');
    expect(formatShare(1)).toBe('100.0%');
    expect(formatShare(null)).toBe('—');
    expect(formatPercent(-12.5)).toBe('−12.50%');
    expect(formatPercent(387.8)).toBe('+387.80%');
    expect(formatPercent(0)).toBe('0.00%');
  });

  it('writes counts, durations and safe HTML', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatDuration(950)).toBe('950 ms');
    expect(formatDuration(65_000)).toBe('1 min 5 s');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('dashboard money arithmetic', () => {
  it('rounds averages half away from zero in integers', () => {
    expect(averageCents(4001, 5)).toBe(800);
    expect(averageCents(5, 2)).toBe(3);
    expect(averageCents(-5, 2)).toBe(-3);
    expect(averageCents(1, 3)).toBe(0);
    expect(averageCents(100, 0)).toBeNull();
  });

  it('reads mart money cells as cents', () => {
    expect(dollarsToCents('120.50')).toBe(12_050);
    expect(dollarsToCents('-0.05')).toBe(-5);
    expect(dollarsToCents('')).toBeNull();
    expect(() => dollarsToCents('1.5')).toThrow(RangeError);
  });

  it('reads whole ISO weeks and whole months around a range', () => {
    expect(weekStart('2023-08-20')).toBe('2023-08-14');
    expect(trendsReadRange('2023-08-14', '2023-08-20')).toEqual({ from: '2023-08-01', to: '2023-08-31' });
    expect(trendsReadRange('2023-10-30', '2023-11-28')).toEqual({ from: '2023-10-01', to: '2023-12-03' });
    expect(trendsReadRange('2024-01-01', '2024-01-31')).toEqual({ from: '2024-01-01', to: '2024-02-04' });
  });
});
