/**
 * The customer population of a snapshot: every customer with an order on or before as_of, folded
 * from their histories in one pass into typed columns (a few dozen bytes a customer, no object per
 * customer). Customer metrics, loyalty impact and location performance all read it.
 */
import { dateFromDayNumber, dayNumber } from '../time.js';
import { AsOfBeforeHorizonError } from './errors.js';
import type { CustomerHistory } from './input.js';
import type { MartSettings } from './settings.js';

/** Customers of one location, counting their orders at that location only. */
export interface LocationCustomers {
  customers: number;
  /** Customers with at least 2 orders at the location. */
  repeatCustomers: number;
}

/** Column-wise figures of the customers with orders on or before as_of, in input order. */
export interface CustomerPopulation {
  readonly asOfDay: number;
  readonly size: number;
  readonly customerIds: readonly string[];
  /** 1 when any order on or before as_of is flagged loyalty. */
  readonly member: Uint8Array;
  /** Day numbers (days since 1970-01-01) of the first and last local dates with orders. */
  readonly firstDay: Int32Array;
  readonly lastDay: Int32Array;
  readonly orders: Float64Array;
  /** Lifetime net revenue up to as_of: the CLV. */
  readonly clvCents: Float64Array;
  /** Orders and net revenue in the RFM window. */
  readonly windowOrders: Float64Array;
  readonly windowNetCents: Float64Array;
  /** Spend in the recent periods ending on as_of, and in as many periods before them. */
  readonly recentSpendCents: Float64Array;
  readonly priorSpendCents: Float64Array;
  readonly byLocation: ReadonlyMap<string, LocationCustomers>;
}

/** The first local dates of the RFM window and the spend periods for an as_of. */
export interface CustomerWindows {
  readonly windowStartDay: number;
  readonly recentStartDay: number;
  readonly priorStartDay: number;
}

export function customerWindows(asOfDay: number, settings: MartSettings): CustomerWindows {
  const spendDays = settings.spendPeriodDays * settings.spendPeriodCount;
  return {
    windowStartDay: asOfDay - settings.rfmWindowDays + 1,
    recentStartDay: asOfDay - spendDays + 1,
    priorStartDay: asOfDay - 2 * spendDays + 1,
  };
}

class GrowableColumns {
  capacity = 1024;
  size = 0;
  readonly customerIds: string[] = [];
  member = new Uint8Array(this.capacity);
  firstDay = new Int32Array(this.capacity);
  lastDay = new Int32Array(this.capacity);
  orders = new Float64Array(this.capacity);
  clvCents = new Float64Array(this.capacity);
  windowOrders = new Float64Array(this.capacity);
  windowNetCents = new Float64Array(this.capacity);
  recentSpendCents = new Float64Array(this.capacity);
  priorSpendCents = new Float64Array(this.capacity);

  /** Makes room for one more customer; returns its index. */
  append(customerId: string): number {
    if (this.size === this.capacity) {
      this.capacity *= 2;
      this.member = grow(this.member, new Uint8Array(this.capacity));
      this.firstDay = grow(this.firstDay, new Int32Array(this.capacity));
      this.lastDay = grow(this.lastDay, new Int32Array(this.capacity));
      this.orders = grow(this.orders, new Float64Array(this.capacity));
      this.clvCents = grow(this.clvCents, new Float64Array(this.capacity));
      this.windowOrders = grow(this.windowOrders, new Float64Array(this.capacity));
      this.windowNetCents = grow(this.windowNetCents, new Float64Array(this.capacity));
      this.recentSpendCents = grow(this.recentSpendCents, new Float64Array(this.capacity));
      this.priorSpendCents = grow(this.priorSpendCents, new Float64Array(this.capacity));
    }
    this.customerIds.push(customerId);
    return this.size++;
  }
}

function grow<T extends Uint8Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function trimmed<T extends Uint8Array | Int32Array | Float64Array>(array: T, size: number): T {
  return array.subarray(0, size) as T;
}

/**
 * Folds customer histories into the population of `asOf`: orders on later local dates are left
 * out, so a past as_of equals a recomputation from its rows alone.
 *
 * @throws AsOfBeforeHorizonError when as_of or its windows reach into a customer's rollup.
 * @example
 * const population = customerPopulation(histories, '2023-08-31', defaultMartSettings);
 */
export function customerPopulation(
  histories: Iterable<CustomerHistory>,
  asOf: string,
  settings: MartSettings,
): CustomerPopulation {
  const asOfDay = dayNumber(asOf);
  const { windowStartDay, recentStartDay, priorStartDay } = customerWindows(asOfDay, settings);
  const earliestNeededDay = Math.min(windowStartDay, priorStartDay);
  const columns = new GrowableColumns();
  const byLocation = new Map<string, LocationCustomers>();
  const dayNumbers = new Map<string, number>();
  // A customer visits few locations: parallel arrays searched linearly beat a Map per customer.
  const visitedLocations: string[] = [];
  const ordersAtLocation: number[] = [];
  const addOrdersAt = (locationId: string, orders: number): void => {
    const slot = visitedLocations.indexOf(locationId);
    if (slot === -1) {
      visitedLocations.push(locationId);
      ordersAtLocation.push(orders);
    } else {
      ordersAtLocation[slot]! += orders;
    }
  };
  const dayOf = (date: string): number => {
    let day = dayNumbers.get(date);
    if (day === undefined) {
      day = dayNumber(date);
      dayNumbers.set(date, day);
    }
    return day;
  };

  for (const history of histories) {
    let orders = 0;
    let netCents = 0;
    let loyaltyOrders = 0;
    let firstDay = Number.POSITIVE_INFINITY;
    let lastDay = Number.NEGATIVE_INFINITY;
    let windowOrders = 0;
    let windowNetCents = 0;
    let recentSpendCents = 0;
    let priorSpendCents = 0;
    visitedLocations.length = 0;
    ordersAtLocation.length = 0;

    const rollup = history.rollup;
    if (rollup !== null && rollup.orders > 0 && dayOf(rollup.firstDate) <= asOfDay) {
      const rollupLastDay = dayOf(rollup.lastDate);
      if (rollupLastDay > asOfDay || rollupLastDay >= earliestNeededDay) {
        throw new AsOfBeforeHorizonError(
          history.customerId,
          asOf,
          rollup.throughDate,
          dateFromDayNumber(Math.min(asOfDay, earliestNeededDay)),
        );
      }
      orders += rollup.orders;
      netCents += rollup.netCents;
      loyaltyOrders += rollup.loyaltyOrders;
      firstDay = dayOf(rollup.firstDate);
      lastDay = rollupLastDay;
      for (const [locationId, locationOrders] of Object.entries(rollup.ordersByLocation)) {
        addOrdersAt(locationId, locationOrders);
      }
    }

    for (const customerDay of history.days) {
      const day = dayOf(customerDay.date);
      if (day > asOfDay) continue;
      orders += customerDay.orders;
      netCents += customerDay.netCents;
      loyaltyOrders += customerDay.loyaltyOrders;
      if (customerDay.orders > 0) {
        if (day < firstDay) firstDay = day;
        if (day > lastDay) lastDay = day;
      }
      if (day >= windowStartDay) {
        windowOrders += customerDay.orders;
        windowNetCents += customerDay.netCents;
      }
      if (day >= recentStartDay) recentSpendCents += customerDay.netCents;
      else if (day >= priorStartDay) priorSpendCents += customerDay.netCents;
      addOrdersAt(customerDay.locationId, customerDay.orders);
    }

    if (orders <= 0) continue;
    const index = columns.append(history.customerId);
    columns.member[index] = loyaltyOrders > 0 ? 1 : 0;
    columns.firstDay[index] = firstDay;
    columns.lastDay[index] = lastDay;
    columns.orders[index] = orders;
    columns.clvCents[index] = netCents;
    columns.windowOrders[index] = windowOrders;
    columns.windowNetCents[index] = windowNetCents;
    columns.recentSpendCents[index] = recentSpendCents;
    columns.priorSpendCents[index] = priorSpendCents;
    for (let slot = 0; slot < visitedLocations.length; slot++) {
      const locationId = visitedLocations[slot]!;
      const locationOrders = ordersAtLocation[slot]!;
      if (locationOrders <= 0) continue;
      let location = byLocation.get(locationId);
      if (location === undefined) {
        location = { customers: 0, repeatCustomers: 0 };
        byLocation.set(locationId, location);
      }
      location.customers += 1;
      if (locationOrders >= 2) location.repeatCustomers += 1;
    }
  }

  const size = columns.size;
  return {
    asOfDay,
    size,
    customerIds: columns.customerIds,
    member: trimmed(columns.member, size),
    firstDay: trimmed(columns.firstDay, size),
    lastDay: trimmed(columns.lastDay, size),
    orders: trimmed(columns.orders, size),
    clvCents: trimmed(columns.clvCents, size),
    windowOrders: trimmed(columns.windowOrders, size),
    windowNetCents: trimmed(columns.windowNetCents, size),
    recentSpendCents: trimmed(columns.recentSpendCents, size),
    priorSpendCents: trimmed(columns.priorSpendCents, size),
    byLocation,
  };
}
