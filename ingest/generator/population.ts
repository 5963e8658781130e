/**
 * The chain's locations and customers: who exists, where, how big, and when each returning
 * customer orders next. Only this population and the per-day schedule live in memory.
 */
import type { GeneratorProfile, ReturningClass } from './profile.js';
import { type Random, weightedTable } from './random.js';

/** Cities per zone; some names hold a comma on purpose (the locations file must quote them). */
const CITIES: Readonly<Record<string, readonly string[]>> = {
  'America/New_York': [
    'Brooklyn, Park Slope',
    'Manhattan Midtown',
    'Boston Back Bay',
    'Philadelphia',
    'Atlanta Midtown',
    'Miami Beach',
    'Charlotte',
    'Pittsburgh',
    'Orlando',
    'Washington, Dupont Circle',
  ],
  'America/Chicago': [
    'Chicago Loop',
    'Dallas Uptown',
    'Houston Heights',
    'Minneapolis',
    'Nashville',
    'Austin, South Congress',
    'St. Louis',
    'Kansas City',
  ],
  'America/Denver': ['Denver LoDo', 'Salt Lake City', 'Boise', 'Albuquerque', 'Colorado Springs'],
  'America/Phoenix': ['Phoenix Downtown', 'Tempe', 'Scottsdale', 'Tucson', 'Mesa'],
  'America/Los_Angeles': [
    'Los Angeles, Silver Lake',
    'San Diego',
    'San Francisco Mission',
    'Seattle Capitol Hill',
    'Portland Pearl',
    'Sacramento',
    'Las Vegas',
  ],
};

/** Churn is a yearly rate, whatever the run's length. */
const DAYS_PER_YEAR = 365;

export interface Location {
  /** 24-hex id, as in the chain's exports. */
  readonly restaurantId: string;
  readonly name: string;
  readonly timeZone: string;
  /** Mean orders per day before weekday, season, holiday and noise factors. */
  readonly baseOrdersPerDay: number;
  /** Run day index of the first promotion, or `null` for a location that never discounts. */
  readonly promotionStartDay: number | null;
}

/** The chain's locations for a run of `days` days. */
export function createLocations(
  random: Random,
  count: number,
  ordersPerLocationDay: number,
  days: number,
  profile: GeneratorProfile,
): Location[] {
  const zones = weightedTable(Object.entries(profile.timeZones));
  const rawSizes = Array.from({ length: count }, () =>
    Math.exp(profile.locationSizeSpread * random.normal()),
  );
  const meanSize = rawSizes.reduce((sum, size) => sum + size, 0) / count;
  const usedNames = new Map<string, number>();
  const [windowFrom, windowTo] = profile.promotionStartWindow;
  return rawSizes.map((rawSize) => {
    const timeZone = random.weighted(zones);
    const city = random.pick(CITIES[timeZone] ?? ['Main Street']);
    const seen = (usedNames.get(city) ?? 0) + 1;
    usedNames.set(city, seen);
    const discounts = random.chance(profile.discountingLocationShare);
    const startDay = Math.floor((windowFrom + (windowTo - windowFrom) * random.float()) * days);
    return {
      restaurantId: random.hex16(6),
      name: `TillStream ${city}${seen > 1 ? ` #${seen}` : ''}`,
      timeZone,
      baseOrdersPerDay: (ordersPerLocationDay * rawSize) / meanSize,
      promotionStartDay: discounts ? startDay : null,
    };
  });
}

export const ReturningKind = { Loyal: 0, Regular: 1, Occasional: 2 } as const;
export type ReturningKind = (typeof ReturningKind)[keyof typeof ReturningKind];

export interface Customer {
  /** USER_ID: 24 hex characters. */
  readonly userId: string;
  /** PRINTED_CARD_NUMBER of a member, masked: `************1234`. */
  readonly cardNumber: string;
  /** First run day whose orders are loyalty orders; `Infinity` for a non-member. */
  readonly memberFromDay: number;
  /** Index of the home location. */
  readonly home: number;
  readonly kind: ReturningKind;
  /** Last run day the customer may order on (churners); `Infinity` otherwise. */
  readonly lastActiveDay: number;
  /** Has ordered at least once in the run (counted as a customer). */
  seen: boolean;
  /** Has placed a loyalty order in the run (counted as a member). */
  memberSeen: boolean;
}

function maskedCard(random: Random): string {
  return `************${String(random.int(0, 9999)).padStart(4, '0')}`;
}

/**
 * Returning customers of every location and their next order days. New returning customers
 * arrive every day to replace churners; one-time customers are never stored.
 */
export class Population {
  /** Run day → customers due that day. */
  private readonly schedule = new Map<number, Customer[]>();
  private readonly classes: readonly ReturningClass[];
  /** Expected new returning customers per location-day, by kind. */
  private readonly arrivalsPerDay: readonly (readonly number[])[];

  constructor(
    private readonly random: Random,
    private readonly locations: readonly Location[],
    private readonly days: number,
    private readonly profile: GeneratorProfile,
    /** Demand factor of each run day (weekday × season × holiday), about 1 on average. */
    private readonly demand: Float64Array,
  ) {
    const { loyal, regular, occasional } = profile.returning;
    this.classes = [loyal, regular, occasional];
    this.arrivalsPerDay = locations.map((location) =>
      this.classes.map(
        (returningClass) =>
          (profile.churnShare *
            returningClass.orderShare *
            location.baseOrdersPerDay *
            returningClass.meanGapDays) /
          DAYS_PER_YEAR,
      ),
    );
    // The customers who already order when the run starts, each at a random phase of their rhythm.
    locations.forEach((location, home) => {
      this.classes.forEach((returningClass, kind) => {
        const count = random.roundStochastic(
          returningClass.orderShare * location.baseOrdersPerDay * returningClass.meanGapDays,
        );
        for (let index = 0; index < count; index++) {
          const customer = this.createReturning(home, kind as ReturningKind, 0, true);
          // A uniform phase over the mean gap: no burst of first orders at the start of the run.
          this.scheduleAt(customer, Math.floor(random.float() * returningClass.meanGapDays));
        }
      });
    });
  }

  private createReturning(home: number, kind: ReturningKind, fromDay: number, existing: boolean): Customer {
    const returningClass = this.classes[kind] as ReturningClass;
    const { random, profile, days } = this;
    const member = random.chance(returningClass.memberShare);
    const lateJoin = member && random.chance(profile.lateJoinShare);
    const churns = random.chance(profile.churnShare);
    return {
      userId: random.hex16(6),
      cardNumber: maskedCard(random),
      memberFromDay: !member
        ? Number.POSITIVE_INFINITY
        : lateJoin
          ? random.int(fromDay, days)
          : existing
            ? 0
            : fromDay,
      home,
      kind,
      lastActiveDay: churns ? fromDay + random.int(0, DAYS_PER_YEAR - 1) : Number.POSITIVE_INFINITY,
      seen: false,
      memberSeen: false,
    };
  }

  private gapDays(kind: ReturningKind): number {
    const { meanGapDays, gapSpread } = this.classes[kind] as ReturningClass;
    // A mix of a fixed rhythm and a memoryless gap keeps the mean at meanGapDays.
    const gap = (1 - gapSpread) * meanGapDays + gapSpread * this.random.exponential(meanGapDays);
    return Math.max(1, Math.round(gap));
  }

  /** `day + gap`, moved by a day towards the busier neighbour: regulars come more on busy weekdays too. */
  private nextOrderDay(day: number, gap: number): number {
    const target = day + gap;
    const earlier = gap > 1 ? this.demandOn(target - 1) ** 2 : 0;
    const same = this.demandOn(target) ** 2;
    const later = this.demandOn(target + 1) ** 2;
    const draw = this.random.float() * (earlier + same + later);
    return draw < earlier ? target - 1 : draw < earlier + same ? target : target + 1;
  }

  private demandOn(day: number): number {
    return this.demand[day] ?? 1;
  }

  private scheduleAt(customer: Customer, day: number): void {
    if (day > customer.lastActiveDay || day >= this.days) return;
    const due = this.schedule.get(day);
    if (due === undefined) this.schedule.set(day, [customer]);
    else due.push(customer);
  }

  /**
   * The returning customers ordering on `day`, by location (their home, sometimes another), each
   * rescheduled for their next order. New arrivals of the day are among them. On a quiet day
   * (`demandFactor` < 1: early week, a closing holiday) some postpone to the next day instead.
   */
  dueOn(day: number, demandFactor: number): Customer[][] {
    const byLocation: Customer[][] = this.locations.map(() => []);
    this.locations.forEach((_, home) => {
      const arrivals = this.arrivalsPerDay[home] ?? [];
      arrivals.forEach((expected, kind) => {
        const count = this.random.roundStochastic(expected);
        for (let index = 0; index < count; index++) {
          this.scheduleAt(this.createReturning(home, kind as ReturningKind, day, false), day);
        }
      });
    });
    const due = this.schedule.get(day) ?? [];
    this.schedule.delete(day);
    const keepShare = Math.min(1, demandFactor);
    for (const customer of due) {
      if (keepShare < 1 && !this.random.chance(keepShare)) {
        this.scheduleAt(customer, day + 1);
        continue;
      }
      const elsewhere = this.locations.length > 1 && this.random.chance(this.profile.otherLocationShare);
      const location = elsewhere ? this.random.int(0, this.locations.length - 1) : customer.home;
      byLocation[location]?.push(customer);
      this.scheduleAt(customer, this.nextOrderDay(day, this.gapDays(customer.kind)));
    }
    return byLocation;
  }

  /** A customer who orders once and never again (not kept). */
  oneTimeCustomer(day: number): Customer {
    const { random } = this;
    const member = random.chance(this.profile.oneTimeMemberShare);
    return {
      userId: random.hex16(6),
      cardNumber: maskedCard(random),
      memberFromDay: member ? day : Number.POSITIVE_INFINITY,
      home: -1,
      kind: ReturningKind.Occasional,
      lastActiveDay: day,
      seen: false,
      memberSeen: false,
    };
  }

  /** A masked card for a guest order flagged loyalty. */
  guestCard(): string {
    return maskedCard(this.random);
  }
}
