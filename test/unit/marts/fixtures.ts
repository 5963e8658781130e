/** Small builders of mart inputs for hand-computed cases. */
import type {
  BreakdownFigures,
  CustomerDay,
  CustomerHistory,
  LocationDay,
} from '../../../aggregates/marts/input.js';

export function customerDay(
  date: string,
  netCents: number,
  options: { orders?: number; locationId?: string; loyaltyOrders?: number } = {},
): CustomerDay {
  return {
    date,
    locationId: options.locationId ?? 'loc-a',
    orders: options.orders ?? 1,
    netCents,
    loyaltyOrders: options.loyaltyOrders ?? 0,
  };
}

export function history(customerId: string, days: readonly CustomerDay[]): CustomerHistory {
  return { customerId, rollup: null, days };
}

export function figures(orders: number, items: number, netCents: number): BreakdownFigures {
  return { orders, items, netCents };
}

/** A location day; by default one category (`Food`) and hour `12` carry all of it. */
export function locationDay(
  locationId: string,
  date: string,
  netCents: number,
  overrides: Partial<LocationDay> = {},
): LocationDay {
  const orders = overrides.orders ?? 1;
  const items = overrides.items ?? orders;
  return {
    locationId,
    date,
    orders,
    items,
    netCents,
    grossCents: netCents,
    discountCents: 0,
    discountedOrders: 0,
    discountedItems: 0,
    discountedNetCents: 0,
    discountedGrossCents: 0,
    guestOrders: 0,
    guestNetCents: 0,
    byCategory: { Food: figures(orders, items, netCents) },
    byHour: { '12': figures(orders, items, netCents) },
    ...overrides,
  };
}
