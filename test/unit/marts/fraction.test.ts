import { describe, expect, it } from 'vitest';
import {
  formatDollars,
  formatFraction,
  fraction,
  roundHalfAwayFromZero,
  roundHalfAwayFromZeroBig,
} from '../../../aggregates/marts/fraction.js';

describe('roundHalfAwayFromZero', () => {
  it.each([
    [5, 2, 3],
    [-5, 2, -3],
    [5, -2, -3],
    [7, 2, 4],
    [1, 3, 0],
    [2, 3, 1],
    [-2, 3, -1],
    [-1, 3, 0],
    [0, 7, 0],
    [9_007_199_254_740_991, 2, 4_503_599_627_370_496],
  ])('rounds %d/%d to %d', (num, den, expected) => {
    expect(roundHalfAwayFromZero(num, den)).toBe(expected);
  });

  it('agrees with BigInt rounding beyond the safe range', () => {
    expect(roundHalfAwayFromZeroBig(-(10n ** 20n) - 5n, 10n)).toBe(-(10n ** 19n) - 1n);
  });
});

describe('formatting', () => {
  it('writes .5 cents half away from zero, both signs', () => {
    expect(formatDollars({ num: 5, den: 2 })).toBe('0.03');
    expect(formatDollars({ num: -5, den: 2 })).toBe('-0.03');
    expect(formatDollars(fraction(1001, 2))).toBe('5.01');
    expect(formatDollars(-5)).toBe('-0.05');
    expect(formatDollars(123456)).toBe('1234.56');
    expect(formatDollars(0)).toBe('0.00');
  });

  it('writes ratios with 6 decimals and percentages with 2, exactly', () => {
    expect(formatFraction({ num: 1, den: 3 }, 6)).toBe('0.333333');
    expect(formatFraction({ num: 2, den: 3 }, 6)).toBe('0.666667');
    expect(formatFraction({ num: 7, den: 1 }, 6)).toBe('7.000000');
    expect(formatFraction(fraction(-100, 800), 2)).toBe('-0.13');
    expect(formatFraction(fraction(100, 800), 2)).toBe('0.13');
    // 1.005 is not exact in binary; the fraction 201/200 is.
    expect(formatFraction({ num: 201, den: 200 }, 2)).toBe('1.01');
  });
});
