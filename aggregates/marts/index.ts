/**
 * Every nightly mart (CONTRACT.md §2, §3) as a pure function of the aggregate items, the calendar
 * and as_of: no I/O, no clock. One module per mart holds its definition; this is the public door.
 */

import { isCalendarDate } from '../time.js';
import type { Mart } from './columns.js';
import { type CustomerMetricsRow, customerMetrics } from './customer-metrics.js';
import { type DiscountBeforeAfterRow, discountBeforeAfter } from './discount-before-after.js';
import { type DiscountEffectivenessRow, discountEffectiveness } from './discount-effectiveness.js';
import { MartDateError } from './errors.js';
import type { CustomerHistory, Holiday, LocationDay } from './input.js';
import { type LocationPerformanceRow, locationPerformance } from './location-performance.js';
import { type LoyaltyImpactRow, loyaltyImpact } from './loyalty-impact.js';
import { customerPopulation } from './population.js';
import { type SalesTrendsRow, salesTrends } from './sales-trends.js';
import { defaultMartSettings, type MartSettings, validateMartSettings } from './settings.js';

export * from './columns.js';
export * from './customer-metrics.js';
export * from './discount-before-after.js';
export * from './discount-effectiveness.js';
export * from './errors.js';
export * from './fraction.js';
export type * from './input.js';
export * from './location-performance.js';
export * from './loyalty-impact.js';
export * from './population.js';
export * from './rank.js';
export * from './sales-trends.js';
export * from './settings.js';

/** What a snapshot is computed from. */
export interface MartInput {
  /** The snapshot date `YYYY-MM-DD`: only orders on or before it count. */
  readonly asOf: string;
  /** Read once, in one pass (a scan may stream them). */
  readonly customers: Iterable<CustomerHistory>;
  readonly locationDays: readonly LocationDay[];
  /** The holidays of the calendar (date_dim); a date it does not name is not a holiday. */
  readonly holidays: Iterable<Holiday>;
}

/** The six marts of a snapshot. */
export interface Marts {
  readonly customer_metrics: Mart<CustomerMetricsRow>;
  readonly sales_trends: Mart<SalesTrendsRow>;
  readonly loyalty_impact: Mart<LoyaltyImpactRow>;
  readonly location_performance: Mart<LocationPerformanceRow>;
  readonly discount_effectiveness: Mart<DiscountEffectivenessRow>;
  readonly discount_before_after: Mart<DiscountBeforeAfterRow>;
}

/**
 * Computes every mart of a snapshot.
 *
 * @throws MartDateError when as_of is not `YYYY-MM-DD`.
 * @throws AsOfBeforeHorizonError when as_of reaches into days already rolled up.
 * @example
 * const marts = computeMarts({ asOf: '2023-08-31', customers, locationDays, holidays });
 * marts.customer_metrics.row(0).clvTier;
 */
export function computeMarts(input: MartInput, settings: MartSettings = defaultMartSettings): Marts {
  validateMartSettings(settings);
  const { asOf, locationDays } = input;
  if (!isCalendarDate(asOf)) throw new MartDateError('asOf', asOf);
  const population = customerPopulation(input.customers, asOf, settings);
  return {
    customer_metrics: customerMetrics(population, settings),
    sales_trends: salesTrends(locationDays, input.holidays, asOf),
    loyalty_impact: loyaltyImpact(population, locationDays, asOf),
    location_performance: locationPerformance(locationDays, population, asOf, settings),
    discount_effectiveness: discountEffectiveness(locationDays, asOf),
    discount_before_after: discountBeforeAfter(locationDays, asOf, settings),
  };
}
