/**
 * Exact arithmetic for the marts (CONTRACT.md §2): every derived figure is a fraction of integers
 * and is rounded only when it is written. Integers are safe JavaScript integers; a product that
 * could leave the safe range is carried out in BigInt.
 */

/** An exact rational `num / den` with `den > 0`; both are safe integers. */
export interface Fraction {
  readonly num: number;
  readonly den: number;
}

export class FractionError extends Error {
  override name = 'FractionError';
  constructor(
    message: string,
    readonly num: number,
    readonly den: number,
  ) {
    super(`${message} (given ${num}/${den})`);
  }
}

/**
 * The fraction `num / den`, its sign carried by the numerator.
 *
 * @example fraction(3, -4) // { num: -3, den: 4 }
 */
export function fraction(num: number, den: number): Fraction {
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den) || den === 0) {
    throw new FractionError('a fraction needs safe integers and a non-zero denominator', num, den);
  }
  return den < 0 ? { num: -num, den: -den } : { num, den };
}

/** `num / den`, or null when `den` is 0 (an average over nothing is empty, not zero). */
export function fractionOrNull(num: number, den: number): Fraction | null {
  return den === 0 ? null : fraction(num, den);
}

/**
 * The integer nearest to `num / den`, halves rounded away from zero.
 *
 * @example roundHalfAwayFromZero(5, 2) // 3
 * @example roundHalfAwayFromZero(-5, 2) // -3
 */
export function roundHalfAwayFromZero(num: number, den: number): number {
  if (den === 0) throw new FractionError('division by zero', num, den);
  if (Number.isSafeInteger(num) && Number.isSafeInteger(den)) {
    const negative = num < 0 !== den < 0;
    const dividend = Math.abs(num);
    const divisor = Math.abs(den);
    const remainder = dividend % divisor;
    // dividend − remainder is a multiple of divisor, so this division is exact.
    let quotient = (dividend - remainder) / divisor;
    if (2 * remainder >= divisor) quotient += 1;
    return negative && quotient !== 0 ? -quotient : quotient;
  }
  throw new FractionError('rounding needs safe integers', num, den);
}

/** {@link roundHalfAwayFromZero} on BigInt, for scaled numerators beyond the safe range. */
export function roundHalfAwayFromZeroBig(num: bigint, den: bigint): bigint {
  if (den === 0n) throw new FractionError('division by zero', Number(num), 0);
  const negative = num < 0n !== den < 0n;
  const dividend = num < 0n ? -num : num;
  const divisor = den < 0n ? -den : den;
  let quotient = dividend / divisor;
  if (2n * (dividend % divisor) >= divisor) quotient += 1n;
  return negative ? -quotient : quotient;
}

/** `num × 10^decimals / den` rounded half away from zero, as a BigInt (never loses precision). */
export function scaledRound(num: number, den: number, decimals: number): bigint {
  const scale = 10 ** decimals;
  const scaled = num * scale;
  if (Number.isSafeInteger(scaled)) return BigInt(roundHalfAwayFromZero(scaled, den));
  return roundHalfAwayFromZeroBig(BigInt(num) * 10n ** BigInt(decimals), BigInt(den));
}

/**
 * A scaled integer written with `decimals` digits after the point.
 *
 * @example formatScaled(-1234n, 2) // '-12.34'
 */
export function formatScaled(scaled: bigint, decimals: number): string {
  const negative = scaled < 0n;
  const digits = (negative ? -scaled : scaled).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const sign = negative ? '-' : '';
  return decimals === 0 ? sign + whole : `${sign}${whole}.${digits.slice(digits.length - decimals)}`;
}

/**
 * `num / den` written with exactly `decimals` digits, rounded half away from zero.
 *
 * @example formatFraction({ num: 1, den: 3 }, 6) // '0.333333'
 */
export function formatFraction(value: Fraction, decimals: number): string {
  return formatScaled(scaledRound(value.num, value.den, decimals), decimals);
}

/** Money in cents (exact, or a fraction of cents) to whole cents, halves away from zero. */
export function roundCents(cents: number | Fraction): number {
  return typeof cents === 'number' ? cents : roundHalfAwayFromZero(cents.num, cents.den);
}

/**
 * Cents as dollars with exactly 2 decimals; a fraction of cents is rounded to the cent first.
 *
 * @example formatDollars(-5) // '-0.05'
 * @example formatDollars({ num: 5, den: 2 }) // '0.03'
 */
export function formatDollars(cents: number | Fraction): string {
  return formatScaled(BigInt(roundCents(cents)), 2);
}

/** The nearest double to the fraction. */
export function toNumber(value: Fraction): number {
  return value.num / value.den;
}
