/**
 * Generator profiles as data: how the chain's customers behave, what its demand looks like, and how
 * messy its exports are. `defaultProfile` documents every field; `clean` and `messy` are overrides
 * of it, and a JSON file may override any field of `default`.
 */
import { readFile } from 'node:fs/promises';
import { GeneratorError } from './errors.js';

/** The kinds of messy row the generator can inject (CONTRACT.md §1, "Real exports are messy"). */
export const MessyKind = {
  /** An exact copy of an order_items or options row later in the same file. */
  DuplicateSameFile: 'duplicate_same_file',
  /** An exact copy of a row re-exported in the next day's file. */
  DuplicateNextDay: 'duplicate_next_day',
  /** An option row whose line item never arrives. */
  OrphanOption: 'orphan_option',
  /** An option row that arrives in the next day's file, after its line item. */
  LateOption: 'late_option',
  /** A row from a test app (APP_NAME contains `DEVELOPMENT`, any case). */
  TestApp: 'test_app',
  /** An extra row with a wrong field count, a bad number, a bad timestamp or an empty required field. */
  MalformedRow: 'malformed_row',
  /** A line with quantity 500 or unit price 5000.00. */
  Outlier: 'outlier',
  /** A line whose category holds a URL. */
  UrlCategory: 'url_category',
  /** A line whose item name holds a comma, quotes or a line break. */
  TrickyName: 'tricky_name',
} as const;
export type MessyKind = (typeof MessyKind)[keyof typeof MessyKind];

/** Rates of each messy kind. */
export interface MessyRates {
  /** Per order_items and options row: chance it is also written again later in the same file. */
  readonly duplicateSameFile: number;
  /** Per row: chance it is also written again in the next day's file. */
  readonly duplicateNextDay: number;
  /** Per option row: chance of an extra option row for a line item that never exists. */
  readonly orphanOption: number;
  /** Per option row: chance it is held back to the next day's options file. */
  readonly lateOption: number;
  /** Per order: chance of an extra copy of it (new ids, no options) from a test app. */
  readonly testAppOrder: number;
  /** Per order: chance of an extra malformed line item row in it. */
  readonly malformedRow: number;
  /** Per line: chance of quantity 500 or unit price 5000.00. */
  readonly outlier: number;
  /** Per line: chance its category is written with a URL in it. */
  readonly urlCategory: number;
  /** Per line: chance its item name is written with a comma, quotes or a line break. */
  readonly trickyName: number;
  /** Per file: chance it is written with CRLF line ends instead of LF. */
  readonly crlfFile: number;
  /** Per file: chance it starts with a UTF-8 byte order mark. */
  readonly bomFile: number;
}

/** One class of returning customer. */
export interface ReturningClass {
  /** Share of a location's orders that this class places at steady state. */
  readonly orderShare: number;
  /** Mean days between two orders of one customer. */
  readonly meanGapDays: number;
  /** Spread of the gap: 0 = always the mean, 1 = exponential (memoryless). */
  readonly gapSpread: number;
  /** Share of the class that are loyalty members. */
  readonly memberShare: number;
}

export interface GeneratorProfile {
  /** Profile name, reported in the summary. */
  readonly name: string;
  /** Share of orders without a USER_ID (guests). Real exports: about 9 %. */
  readonly guestOrderShare: number;
  /** Share of guest orders that still carry IS_LOYALTY TRUE and a card (a card scanned, no account). */
  readonly guestLoyaltyShare: number;
  /** Mean line items per order (≥ 1); the count beyond the first is geometric. Real: about 1.55. */
  readonly meanLinesPerOrder: number;
  /** No order has more lines than this. */
  readonly maxLinesPerOrder: number;
  /** Weights of ITEM_QUANTITY 1, 2, 3, … */
  readonly quantityWeights: readonly number[];
  /** Weights of 0, 1, 2, … menu options on a line (capped by the category's option groups). */
  readonly optionsPerLineWeights: readonly number[];
  /** Share of CREATION_TIME_UTC values written without milliseconds. */
  readonly timestampWithoutMillisShare: number;
  /** Weights of the ordering channels (APP_NAME). */
  readonly channels: Readonly<Record<string, number>>;
  /** Test-app names (each contains `DEVELOPMENT` in some case). */
  readonly testAppNames: readonly string[];
  /** Weights of the local hours 00–23 at which orders are placed (dayparts in the location's zone). */
  readonly hourWeights: readonly number[];
  /** Demand factors by weekday, Monday first; normalised to mean 1. */
  readonly weekdayFactors: readonly number[];
  /** Amplitude of the yearly seasonality (peak in late July, trough in late January). */
  readonly seasonalAmplitude: number;
  /** Uniform day-to-day noise of a location's demand: factor in [1 − x, 1 + x]. */
  readonly dailyNoise: number;
  /** Log-normal spread (sigma) of location sizes; sizes are normalised to mean 1. */
  readonly locationSizeSpread: number;
  /** Demand factor on each holiday (by date_dim name; observed days use the plain name's factor). */
  readonly holidayFactors: Readonly<Record<string, number>>;
  /** Weight of each US zone among locations. */
  readonly timeZones: Readonly<Record<string, number>>;
  /** Returning customers: a loyal weekly core, regulars and occasional customers. */
  readonly returning: {
    readonly loyal: ReturningClass;
    readonly regular: ReturningClass;
    readonly occasional: ReturningClass;
  };
  /**
   * Share of returning customers who churn within a year: each stops after a date in the year
   * from their arrival; new returning customers arrive at the rate that replaces them.
   */
  readonly churnShare: number;
  /** Share of loyalty members who join during the run (their earlier orders are not loyalty). */
  readonly lateJoinShare: number;
  /** Share of one-time customers who are loyalty members (signed up and never came back). */
  readonly oneTimeMemberShare: number;
  /** Share of a returning customer's orders placed at another location than their home one. */
  readonly otherLocationShare: number;
  /** Share of locations that ever run promotions; the others never discount. */
  readonly discountingLocationShare: number;
  /** Window, as fractions of the run, in which a discounting location's first promotion starts. */
  readonly promotionStartWindow: readonly [number, number];
  /** Share of a discounting location's orders from its promotion start that carry a discount. */
  readonly discountedOrderShare: number;
  /** Messy-row rates; all 0 in `clean`. */
  readonly messy: MessyRates;
}

/** The chain as its real exports look: realistic behaviour, 1–2 % messy rows. */
export const defaultProfile: GeneratorProfile = {
  name: 'default',
  guestOrderShare: 0.09,
  guestLoyaltyShare: 0.02,
  meanLinesPerOrder: 1.55,
  maxLinesPerOrder: 9,
  quantityWeights: [90, 8, 2],
  optionsPerLineWeights: [25, 45, 20, 10],
  timestampWithoutMillisShare: 0.08,
  channels: { 'TillStream iOS': 38, 'TillStream Android': 24, 'Web Ordering': 20, 'In-Store Kiosk': 18 },
  testAppNames: ['TillStream iOS DEVELOPMENT', 'tillstream-android-development', 'Kiosk (Development)'],
  hourWeights: [
    0.8, 0.5, 0.25, 0.1, 0.1, 0.5, 1.5, 3, 3.5, 2.6, 2.6, 7, 10, 8, 4, 2.5, 3, 6.5, 9, 8, 5, 3, 2, 1.2,
  ],
  weekdayFactors: [0.85, 0.88, 0.92, 0.98, 1.15, 1.25, 1.0],
  seasonalAmplitude: 0.08,
  dailyNoise: 0.1,
  locationSizeSpread: 0.5,
  holidayFactors: {
    "New Year's Day": 0.7,
    'Martin Luther King Jr.': 1.05,
    "Washington's Birthday": 1.05,
    'Memorial Day': 1.15,
    Juneteenth: 1.05,
    'Indep. Day': 1.2,
    'Labor Day': 1.15,
    'Columbus Day': 1.0,
    'Veterans Day': 1.05,
    'Thanksgiving Day': 0.35,
    Christmas: 0.25,
  },
  timeZones: {
    'America/New_York': 35,
    'America/Chicago': 25,
    'America/Denver': 10,
    'America/Phoenix': 10,
    'America/Los_Angeles': 20,
  },
  returning: {
    loyal: { orderShare: 0.22, meanGapDays: 7, gapSpread: 0.3, memberShare: 0.75 },
    regular: { orderShare: 0.24, meanGapDays: 24, gapSpread: 0.8, memberShare: 0.35 },
    occasional: { orderShare: 0.1, meanGapDays: 70, gapSpread: 1, memberShare: 0.15 },
  },
  churnShare: 0.3,
  lateJoinShare: 0.25,
  oneTimeMemberShare: 0.05,
  otherLocationShare: 0.08,
  discountingLocationShare: 0.8,
  promotionStartWindow: [0.2, 0.7],
  discountedOrderShare: 0.07,
  messy: {
    duplicateSameFile: 0.004,
    duplicateNextDay: 0.003,
    orphanOption: 0.003,
    lateOption: 0.004,
    testAppOrder: 0.003,
    malformedRow: 0.0015,
    outlier: 0.0008,
    urlCategory: 0.0015,
    trickyName: 0.0015,
    crlfFile: 0,
    bomFile: 0,
  },
};

const noMess: MessyRates = {
  duplicateSameFile: 0,
  duplicateNextDay: 0,
  orphanOption: 0,
  lateOption: 0,
  testAppOrder: 0,
  malformedRow: 0,
  outlier: 0,
  urlCategory: 0,
  trickyName: 0,
  crlfFile: 0,
  bomFile: 0,
};

/** Named profiles: `clean` has no messy rows; `messy` has about four times the default mess, CRLF and BOMs. */
export const profiles: Readonly<Record<string, GeneratorProfile>> = {
  default: defaultProfile,
  clean: { ...defaultProfile, name: 'clean', messy: noMess },
  messy: {
    ...defaultProfile,
    name: 'messy',
    messy: {
      duplicateSameFile: 0.012,
      duplicateNextDay: 0.008,
      orphanOption: 0.008,
      lateOption: 0.012,
      testAppOrder: 0.008,
      malformedRow: 0.004,
      outlier: 0.002,
      urlCategory: 0.004,
      trickyName: 0.004,
      crlfFile: 0.3,
      bomFile: 0.2,
    },
  },
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `base` with `overrides` applied: nested objects merge, everything else replaces. Unknown keys are errors. */
function merge(base: unknown, overrides: unknown, path: string): unknown {
  if (!isPlainObject(overrides)) return overrides;
  if (!isPlainObject(base)) throw new GeneratorError(`profile field ${path} is not an object`);
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in base)) throw new GeneratorError(`unknown profile field ${path}.${key}`);
    // Free-form maps (channels, zones, holiday factors) are replaced whole, not merged.
    const replaceWhole = ['channels', 'timeZones', 'holidayFactors'].includes(key);
    merged[key] = replaceWhole ? value : merge(base[key], value, `${path}.${key}`);
  }
  return merged;
}

function checkShare(value: unknown, path: string): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new GeneratorError(
      `profile field ${path} must be a number in [0, 1] (given ${JSON.stringify(value)})`,
    );
  }
}

function checkWeights(value: unknown, path: string, length?: number): void {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    (length !== undefined && value.length !== length) ||
    !value.every((weight) => typeof weight === 'number' && weight >= 0) ||
    !value.some((weight) => weight > 0)
  ) {
    throw new GeneratorError(
      `profile field ${path} must be ${length ?? 'a list of'} non-negative numbers with a positive sum (given ${JSON.stringify(value)})`,
    );
  }
}

/** Throws a `GeneratorError` naming the first field out of range. */
export function validateProfile(profile: GeneratorProfile): GeneratorProfile {
  for (const key of [
    'guestOrderShare',
    'guestLoyaltyShare',
    'timestampWithoutMillisShare',
    'churnShare',
  ] as const) {
    checkShare(profile[key], key);
  }
  for (const key of [
    'lateJoinShare',
    'oneTimeMemberShare',
    'otherLocationShare',
    'discountingLocationShare',
    'discountedOrderShare',
    'seasonalAmplitude',
    'dailyNoise',
  ] as const) {
    checkShare(profile[key], key);
  }
  for (const [key, rate] of Object.entries(profile.messy)) checkShare(rate, `messy.${key}`);
  if (!(profile.meanLinesPerOrder >= 1 && profile.meanLinesPerOrder < profile.maxLinesPerOrder)) {
    throw new GeneratorError(
      `profile field meanLinesPerOrder must be in [1, maxLinesPerOrder) (given ${profile.meanLinesPerOrder})`,
    );
  }
  checkWeights(profile.quantityWeights, 'quantityWeights');
  checkWeights(profile.optionsPerLineWeights, 'optionsPerLineWeights');
  checkWeights(profile.hourWeights, 'hourWeights', 24);
  checkWeights(profile.weekdayFactors, 'weekdayFactors', 7);
  checkWeights(Object.values(profile.channels), 'channels');
  checkWeights(Object.values(profile.timeZones), 'timeZones');
  if (profile.testAppNames.some((name) => !/development/i.test(name))) {
    throw new GeneratorError('profile field testAppNames: every name must contain DEVELOPMENT (any case)');
  }
  const [from, to] = profile.promotionStartWindow;
  if (!(from >= 0 && from <= to && to <= 1)) {
    throw new GeneratorError(`profile field promotionStartWindow must be [from, to] with 0 ≤ from ≤ to ≤ 1`);
  }
  let returningShare = 0;
  for (const [name, returningClass] of Object.entries(profile.returning)) {
    checkShare(returningClass.orderShare, `returning.${name}.orderShare`);
    checkShare(returningClass.memberShare, `returning.${name}.memberShare`);
    checkShare(returningClass.gapSpread, `returning.${name}.gapSpread`);
    if (!(returningClass.meanGapDays >= 1)) {
      throw new GeneratorError(`profile field returning.${name}.meanGapDays must be ≥ 1`);
    }
    returningShare += returningClass.orderShare;
  }
  if (returningShare + profile.guestOrderShare > 1) {
    throw new GeneratorError('profile: returning order shares plus the guest share exceed 1');
  }
  return profile;
}

/**
 * A profile by name (`default`, `clean`, `messy`) or from a JSON file of overrides of `default`
 * (any path ending in `.json`), validated.
 */
export async function resolveProfile(
  nameOrFile: string | GeneratorProfile | undefined,
): Promise<GeneratorProfile> {
  if (nameOrFile === undefined) return defaultProfile;
  if (typeof nameOrFile !== 'string') return validateProfile(nameOrFile);
  const named = profiles[nameOrFile];
  if (named !== undefined) return named;
  if (!nameOrFile.endsWith('.json')) {
    throw new GeneratorError(
      `unknown profile ${JSON.stringify(nameOrFile)}: use ${Object.keys(profiles).join(', ')} or a .json file`,
    );
  }
  let overrides: Json;
  try {
    overrides = JSON.parse(await readFile(nameOrFile, 'utf8')) as Json;
  } catch (error) {
    throw new GeneratorError(`cannot read profile file ${nameOrFile}`, { cause: error });
  }
  const merged = merge(defaultProfile, overrides, 'profile') as GeneratorProfile;
  return validateProfile({
    ...merged,
    name: isPlainObject(overrides) && typeof overrides['name'] === 'string' ? overrides['name'] : nameOrFile,
  });
}
