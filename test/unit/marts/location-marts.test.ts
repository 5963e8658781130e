import { describe, expect, it } from 'vitest';
import { martRows } from '../../../aggregates/marts/columns.js';
import { discountBeforeAfter } from '../../../aggregates/marts/discount-before-after.js';
import { discountEffectiveness } from '../../../aggregates/marts/discount-effectiveness.js';
import { locationPerformance } from '../../../aggregates/marts/location-performance.js';
import { loyaltyImpact } from '../../../aggregates/marts/loyalty-impact.js';
import { customerPopulation } from '../../../aggregates/marts/population.js';
import { defaultMartSettings } from '../../../aggregates/marts/settings.js';
import { customerDay, history, locationDay } from './fixtures.js';

const AS_OF = '2023-08-31';

describe('location_performance', () => {
  it('ranks by net revenue with ties by id bytes, and counts span, 30 days and customers', () => {
    // Prepare: b and a tie at $10.00; c earns more; a's first date is 2023-08-22 (span 10)
    const days = [
      locationDay('b', '2023-08-31', 1000),
      locationDay('a', '2023-08-22', 400, { orders: 2 }),
      locationDay('a', '2023-08-01', 0, { orders: 0 }),
      locationDay('a', '2023-08-30', 600, { orders: 1 }),
      locationDay('c', '2023-07-01', 3000, { orders: 3 }),
      locationDay('c', '2023-09-01', 99999, { orders: 9 }),
    ];
    const population = customerPopulation(
      [
        history('x', [
          customerDay('2023-08-22', 200, { locationId: 'a' }),
          customerDay('2023-08-30', 600, { locationId: 'a' }),
        ]),
        history('y', [
          customerDay('2023-08-22', 200, { locationId: 'a' }),
          customerDay('2023-07-01', 1000, { locationId: 'c' }),
        ]),
      ],
      AS_OF,
      defaultMartSettings,
    );

    // Act
    const rows = martRows(locationPerformance(days, population, AS_OF, defaultMartSettings));

    // Assess
    expect(rows.map((row) => [row.locationId, row.rank])).toEqual([
      ['a', 2],
      ['b', 3],
      ['c', 1],
    ]);
    const a = rows[0]!;
    expect(a.revenueCents).toBe(1000);
    expect(a.orders).toBe(3);
    expect(a.avgOrderValueCents).toEqual({ num: 1000, den: 3 });
    expect(a.activeDays).toBe(2);
    expect(a.ordersPerDay).toEqual({ num: 3, den: 10 });
    expect(a.ordersPerWeek).toEqual({ num: 21, den: 10 });
    expect(a.customers).toBe(2);
    expect(a.repeatCustomerRate).toEqual({ num: 1, den: 2 });
    const c = rows[2]!;
    // 2023-07-01 is before as_of − 29 = 2023-08-02; the 2023-09-01 day is after as_of
    expect([c.revenueCents, c.orders, c.revenue30dCents, c.orders30d]).toEqual([3000, 3, 0, 0]);
    expect(c.ordersPerDay).toEqual({ num: 3, den: 62 });
    expect(rows[1]!.customers).toBe(0);
    expect(rows[1]!.repeatCustomerRate).toBeNull();
  });
});

describe('discount_effectiveness', () => {
  it('has both discounted rows for every location and ALL, even without discounts', () => {
    // Prepare: loc-a: 3 orders, one discounted (gross 12.00, discount 2.00); loc-b: no discounts
    const days = [
      locationDay('loc-a', '2023-08-01', 2500, {
        orders: 3,
        grossCents: 2700,
        discountCents: 200,
        discountedOrders: 1,
        discountedNetCents: 1000,
        discountedGrossCents: 1200,
      }),
      locationDay('loc-b', '2023-08-02', 700),
    ];

    // Act
    const rows = martRows(discountEffectiveness(days, AS_OF));

    // Assess
    expect(
      rows.map((row) => [
        row.locationId,
        row.discounted,
        row.orders,
        row.grossRevenueCents,
        row.discountCents,
        row.netRevenueCents,
      ]),
    ).toEqual([
      ['ALL', false, 3, 2200, 0, 2200],
      ['ALL', true, 1, 1200, 200, 1000],
      ['loc-a', false, 2, 1500, 0, 1500],
      ['loc-a', true, 1, 1200, 200, 1000],
      ['loc-b', false, 1, 700, 0, 700],
      ['loc-b', true, 0, 0, 0, 0],
    ]);
    expect(rows[2]!.avgOrderValueCents).toEqual({ num: 1500, den: 2 });
    expect(rows[5]!.avgOrderValueCents).toBeNull();
  });
});

describe('discount_before_after', () => {
  it('divides by calendar days of each window and leaves empty what has no days', () => {
    // Prepare: loc-a opens 2023-08-01, first discount 2023-08-11 (before window 10 days),
    // after window 2023-08-11 … 2023-08-31 (21 days, cut by as_of); loc-b discounts on its first day;
    // loc-c never discounts
    const days = [
      locationDay('loc-a', '2023-08-01', 1000, { orders: 4 }),
      locationDay('loc-a', '2023-08-05', 1001, { orders: 1 }),
      locationDay('loc-a', '2023-08-11', 2000, { orders: 2, discountedOrders: 1 }),
      locationDay('loc-a', '2023-08-20', 100, { orders: 1 }),
      locationDay('loc-a', '2023-09-02', 5000, { orders: 5 }),
      locationDay('loc-b', '2023-06-01', 300, { orders: 3, discountedOrders: 1 }),
      locationDay('loc-b', '2023-07-01', 300, { orders: 3 }),
      locationDay('loc-c', '2023-08-01', 100),
    ];

    // Act
    const rows = martRows(discountBeforeAfter(days, AS_OF, defaultMartSettings));

    // Assess
    expect(rows[0]).toEqual({
      locationId: 'loc-a',
      firstDiscountDate: '2023-08-11',
      ordersPerDayBefore: { num: 5, den: 10 },
      ordersPerDayAfter: { num: 3, den: 21 },
      revenuePerDayBeforeCents: { num: 2001, den: 10 },
      revenuePerDayAfterCents: { num: 2100, den: 21 },
    });
    // loc-b: d = first date → no day before; after = 2023-06-01 … 2023-06-30
    expect(rows[1]).toEqual({
      locationId: 'loc-b',
      firstDiscountDate: '2023-06-01',
      ordersPerDayBefore: null,
      ordersPerDayAfter: { num: 3, den: 30 },
      revenuePerDayBeforeCents: null,
      revenuePerDayAfterCents: { num: 300, den: 30 },
    });
    expect(rows[2]).toEqual({
      locationId: 'loc-c',
      firstDiscountDate: null,
      ordersPerDayBefore: null,
      ordersPerDayAfter: null,
      revenuePerDayBeforeCents: null,
      revenuePerDayAfterCents: null,
    });
  });

  it('ignores a discount after as_of', () => {
    const rows = martRows(
      discountBeforeAfter(
        [
          locationDay('loc-a', '2023-08-01', 100),
          locationDay('loc-a', '2023-09-01', 100, { discountedOrders: 1 }),
        ],
        AS_OF,
        defaultMartSettings,
      ),
    );
    expect(rows[0]!.firstDiscountDate).toBeNull();
  });
});

describe('loyalty_impact', () => {
  it('has member, non-member and guest rows with medians over even counts', () => {
    // Prepare: members m1 (2 orders, $30) and m2 (1 order, $11.01); non-member n1; guests on location days
    const population = customerPopulation(
      [
        history('m1', [
          customerDay('2023-08-01', 1000, { loyaltyOrders: 1 }),
          customerDay('2023-08-02', 2000),
        ]),
        history('m2', [customerDay('2023-08-03', 1101, { loyaltyOrders: 1 })]),
        history('n1', [customerDay('2023-08-03', 500)]),
        history('late', [customerDay('2023-09-03', 500, { loyaltyOrders: 1 })]),
      ],
      AS_OF,
      defaultMartSettings,
    );
    const days = [
      locationDay('loc-a', '2023-08-01', 5000, { orders: 5, guestOrders: 2, guestNetCents: 999 }),
      locationDay('loc-a', '2023-09-01', 5000, { orders: 5, guestOrders: 2, guestNetCents: 999 }),
    ];

    // Act
    const rows = martRows(loyaltyImpact(population, days, AS_OF));

    // Assess
    expect(rows.map((row) => row.group)).toEqual(['guest', 'member', 'non_member']);
    expect(rows[1]).toEqual({
      group: 'member',
      customers: 2,
      orders: 3,
      revenueCents: 4101,
      avgOrderValueCents: { num: 4101, den: 3 },
      ordersPerCustomer: { num: 3, den: 2 },
      repeatRate: { num: 1, den: 2 },
      avgClvCents: { num: 4101, den: 2 },
      medianClvCents: { num: 4101, den: 2 },
    });
    expect(rows[2]!.medianClvCents).toBe(500);
    expect(rows[0]).toEqual({
      group: 'guest',
      customers: null,
      orders: 2,
      revenueCents: 999,
      avgOrderValueCents: { num: 999, den: 2 },
      ordersPerCustomer: null,
      repeatRate: null,
      avgClvCents: null,
      medianClvCents: null,
    });
  });

  it('shows an empty group with zero counts and empty averages', () => {
    const population = customerPopulation(
      [history('n1', [customerDay('2023-08-03', 500)])],
      AS_OF,
      defaultMartSettings,
    );
    const rows = martRows(loyaltyImpact(population, [], AS_OF));
    expect(rows[1]).toEqual({
      group: 'member',
      customers: 0,
      orders: 0,
      revenueCents: 0,
      avgOrderValueCents: null,
      ordersPerCustomer: null,
      repeatRate: null,
      avgClvCents: null,
      medianClvCents: null,
    });
    expect(rows[0]!.orders).toBe(0);
    expect(rows[0]!.avgOrderValueCents).toBeNull();
  });
});
