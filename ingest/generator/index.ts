/**
 * The realistic data generator: the chain's order exports (CONTRACT.md §1), deterministic for a
 * seed, streamed to files in constant memory. This file is the generator's only public door.
 */
import { dateFromDayNumber, dayNumber } from '../../aggregates/time.js';
import {
  type FilesPer,
  FilesPer as FilesPerValues,
  type GeneratorProgress,
  type GeneratorSummary,
  runGeneration,
} from './engine.js';
import { GeneratorError } from './errors.js';
import { type GeneratorProfile, resolveProfile } from './profile.js';

export { DATE_DIM_HEADER, HolidayName, holidayOn, usFederalHolidays } from './calendar.js';
export {
  FilesPer,
  type GeneratorProgress,
  type GeneratorSummary,
  LOCATIONS_HEADER,
  ORDER_ITEM_OPTIONS_HEADER,
  ORDER_ITEMS_HEADER,
  wallClockToUtc,
} from './engine.js';
export { GeneratorError } from './errors.js';
export {
  defaultProfile,
  type GeneratorProfile,
  MessyKind,
  type MessyRates,
  profiles,
  resolveProfile,
} from './profile.js';

/** Defaults of the optional generator options. */
export const generatorDefaults = {
  startDate: '2023-01-01',
  ordersPerLocationDay: 120,
  filesPer: FilesPerValues.Day,
} as const;

export interface GeneratorOptions {
  /** Output folder; created when missing, must be empty. */
  readonly outDir: string;
  /** Number of locations, 1–10 000. */
  readonly locations: number;
  /** Number of export days, 1–3 660. */
  readonly days: number;
  /** Any safe integer; the same options and seed give the same bytes. */
  readonly seed: number;
  /** First local date `YYYY-MM-DD`. @default `2023-01-01` */
  readonly startDate?: string;
  /** Mean orders per location and day (locations vary in size around it). @default 120 */
  readonly ordersPerLocationDay?: number;
  /** `default`, `clean`, `messy`, a JSON file of overrides, or a profile object. @default `default` */
  readonly profile?: string | GeneratorProfile;
  /** How order rows are split into files. @default `day` */
  readonly filesPer?: FilesPer;
  /** Called after each generated day. */
  readonly onProgress?: (progress: GeneratorProgress) => void;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new GeneratorError(`${name} must be an integer in [${min}, ${max}] (given ${value})`);
  }
}

/** True when `date` is a real calendar date written `YYYY-MM-DD`. */
function isIsoDate(date: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) && dateFromDayNumber(dayNumber(date)) === date;
}

/**
 * Days needed for about `orderItemRows` order_items rows with these options (the benchmark sizes:
 * ~1M and ~4M rows). The run's actual count is within a few percent.
 *
 * @example
 * const days = daysForOrderItemRows(1_000_000, { locations: 20, ordersPerLocationDay: 120 });
 */
export function daysForOrderItemRows(
  orderItemRows: number,
  options: {
    readonly locations: number;
    readonly ordersPerLocationDay?: number;
    readonly profile?: GeneratorProfile;
  },
): number {
  const ordersPerLocationDay = options.ordersPerLocationDay ?? generatorDefaults.ordersPerLocationDay;
  const linesPerOrder = options.profile?.meanLinesPerOrder ?? 1.55;
  return Math.max(1, Math.round(orderItemRows / (options.locations * ordersPerLocationDay * linesPerOrder)));
}

/**
 * Writes a realistic chain's exports into `outDir`: `locations.csv`, `date_dim.csv` and the
 * `order_items` / `order_item_options` files, and returns what was written.
 *
 * @example
 * const summary = await generateChain({ outDir: '/tmp/chain', locations: 20, days: 90, seed: 7 });
 * console.log(summary.rows.orderItems, summary.messyRows);
 */
export async function generateChain(options: GeneratorOptions): Promise<GeneratorSummary> {
  checkInteger('locations', options.locations, 1, 10_000);
  checkInteger('days', options.days, 1, 3_660);
  checkInteger('seed', options.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const ordersPerLocationDay = options.ordersPerLocationDay ?? generatorDefaults.ordersPerLocationDay;
  if (!(ordersPerLocationDay > 0 && ordersPerLocationDay <= 100_000)) {
    throw new GeneratorError(`ordersPerLocationDay must be in (0, 100000] (given ${ordersPerLocationDay})`);
  }
  const startDate = options.startDate ?? generatorDefaults.startDate;
  if (!isIsoDate(startDate))
    throw new GeneratorError(`startDate must be YYYY-MM-DD (given ${JSON.stringify(startDate)})`);
  const filesPer = options.filesPer ?? generatorDefaults.filesPer;
  if (!(Object.values(FilesPerValues) as string[]).includes(filesPer)) {
    throw new GeneratorError(
      `filesPer must be one of ${Object.values(FilesPerValues).join(', ')} (given ${JSON.stringify(filesPer)})`,
    );
  }
  const profile = await resolveProfile(options.profile);
  return runGeneration({
    outDir: options.outDir,
    locations: options.locations,
    days: options.days,
    seed: options.seed,
    startDate,
    ordersPerLocationDay,
    profile,
    filesPer,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
