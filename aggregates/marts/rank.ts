/**
 * Percent ranks decided in integers (CONTRACT.md §2): `p = (rank − 1) / (n − 1)` with ties sharing
 * the lowest rank, 0 when n = 1. A rank is found by binary search in the sorted values, so a
 * population of a million costs one typed-array sort.
 */
import type { Fraction } from './fraction.js';

/** The values of a population sorted ascending, to rank members of it. */
export class RankIndex {
  private readonly sorted: Float64Array;

  /** @param values the population (copied; NaN is not allowed). */
  constructor(values: ArrayLike<number>) {
    this.sorted = Float64Array.from(values).sort();
  }

  get size(): number {
    return this.sorted.length;
  }

  /** `rank − 1` ascending: how many members are strictly below `value`. */
  below(value: number): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.sorted[middle]! < value) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** `rank − 1` descending: how many members are strictly above `value`. */
  above(value: number): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.sorted[middle]! <= value) low = middle + 1;
      else high = middle;
    }
    return this.sorted.length - low;
  }

  /** The sorted value at `index`. */
  at(index: number): number {
    return this.sorted[index]!;
  }
}

/** The percent rank `(rank − 1) / (n − 1)` as an exact fraction (0 when n = 1). */
export function percentRank(rankMinusOne: number, population: number): Fraction {
  return population <= 1 ? { num: 0, den: 1 } : { num: rankMinusOne, den: population - 1 };
}

/** True when `(rank − 1) / (n − 1) ≥ threshold`, decided in integers. */
export function percentRankAtLeast(rankMinusOne: number, population: number, threshold: Fraction): boolean {
  const percentile = percentRank(rankMinusOne, population);
  return percentile.num * threshold.den >= threshold.num * percentile.den;
}

/**
 * `min(levels, 1 + floor(levels × p))`, in integers.
 *
 * @example rfmScore(4, 5, 5) // p = 1 → 5
 */
export function rfmScore(rankMinusOne: number, population: number, levels: number): number {
  if (population <= 1) return 1;
  const scaled = levels * rankMinusOne;
  const divisor = population - 1;
  return Math.min(levels, 1 + (scaled - (scaled % divisor)) / divisor);
}
