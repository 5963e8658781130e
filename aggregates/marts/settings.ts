/**
 * The thresholds, windows and periods of the marts, with the contract's defaults (CONTRACT.md §2).
 * Thresholds are fractions so that they are decided exactly in integers.
 */
import type { Fraction } from './fraction.js';

export interface MartSettings {
  /** `High` CLV tier when the percent rank is at least this. @default 4/5 */
  readonly clvHighPercentile: Fraction;
  /** `Low` CLV tier when the percent rank is below this. @default 1/5 */
  readonly clvLowPercentile: Fraction;
  /** RFM window: the days ending on as_of. @default 180 */
  readonly rfmWindowDays: number;
  /** RFM scores run 1 … this (`min(levels, 1 + floor(levels × p))`). @default 5 */
  readonly rfmScoreLevels: number;
  /** Length of one spend period of the churn indicators. @default 30 */
  readonly spendPeriodDays: number;
  /** Periods in the recent spend, and in the prior spend before it. @default 3 */
  readonly spendPeriodCount: number;
  /** A customer is at risk when the days since the last order exceed this. @default 45 */
  readonly atRiskDays: number;
  /** Location performance's recent window: the days ending on as_of. @default 30 */
  readonly recentDays: number;
  /** Discount before/after: days before the first discount, and days from it. @default 30 */
  readonly discountWindowDays: number;
}

export const defaultMartSettings: MartSettings = {
  clvHighPercentile: { num: 4, den: 5 },
  clvLowPercentile: { num: 1, den: 5 },
  rfmWindowDays: 180,
  rfmScoreLevels: 5,
  spendPeriodDays: 30,
  spendPeriodCount: 3,
  atRiskDays: 45,
  recentDays: 30,
  discountWindowDays: 30,
};

export class MartSettingsError extends Error {
  override name = 'MartSettingsError';
}

/** Checks the ranges the marts rely on; throws a `MartSettingsError` quoting the bad value. */
export function validateMartSettings(settings: MartSettings): MartSettings {
  const positive = (name: keyof MartSettings, value: number): void => {
    if (!Number.isInteger(value) || value <= 0) {
      throw new MartSettingsError(`${name} must be a positive integer (given ${value})`);
    }
  };
  positive('rfmWindowDays', settings.rfmWindowDays);
  positive('rfmScoreLevels', settings.rfmScoreLevels);
  positive('spendPeriodDays', settings.spendPeriodDays);
  positive('spendPeriodCount', settings.spendPeriodCount);
  positive('recentDays', settings.recentDays);
  positive('discountWindowDays', settings.discountWindowDays);
  if (!Number.isInteger(settings.atRiskDays) || settings.atRiskDays < 0) {
    throw new MartSettingsError(`atRiskDays must be a non-negative integer (given ${settings.atRiskDays})`);
  }
  for (const name of ['clvHighPercentile', 'clvLowPercentile'] as const) {
    const { num, den } = settings[name];
    if (!Number.isInteger(num) || !Number.isInteger(den) || den <= 0 || num < 0 || num > den) {
      throw new MartSettingsError(`${name} must be a fraction in [0, 1] (given ${num}/${den})`);
    }
  }
  return settings;
}
