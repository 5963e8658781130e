import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { martRows } from '../../../aggregates/marts/columns.js';
import {
  type CustomerMetricsRow,
  clvTier,
  customerMetrics,
} from '../../../aggregates/marts/customer-metrics.js';
import { AsOfBeforeHorizonError } from '../../../aggregates/marts/errors.js';
import type { CustomerHistory } from '../../../aggregates/marts/input.js';
import { customerPopulation } from '../../../aggregates/marts/population.js';
import { defaultMartSettings } from '../../../aggregates/marts/settings.js';
import { customerDay, history } from './fixtures.js';

const AS_OF = '2023-08-31';

function metrics(histories: readonly CustomerHistory[], asOf = AS_OF): Map<string, CustomerMetricsRow> {
  const mart = customerMetrics(customerPopulation(histories, asOf, defaultMartSettings), defaultMartSettings);
  return new Map(martRows(mart).map((row) => [row.customerId, row]));
}

describe('customer_metrics: CLV tiers', () => {
  it('ties share the lowest rank at the 20% and 80% cut-offs', () => {
    // Prepare: CLVs 1, 2, 2, 3, 4, 5 dollars: ranks 1, 2, 2, 4, 5, 6 of n = 6, p = 0, .2, .2, .6, .8, 1
    const clvs = [100, 200, 200, 300, 400, 500];
    const histories = clvs.map((cents, index) => history(`c${index}`, [customerDay('2023-08-01', cents)]));

    // Act
    const rows = metrics(histories);

    // Assess
    const tiers = clvs.map((_, index) => rows.get(`c${index}`)!.clvTier);
    expect(tiers).toEqual(['Low', 'Medium', 'Medium', 'Medium', 'High', 'High']);
    expect(rows.get('c1')!.clvPercentile).toEqual({ num: 1, den: 5 });
    expect(rows.get('c2')!.clvPercentile).toEqual({ num: 1, den: 5 });
    expect(rows.get('c4')!.clvPercentile).toEqual({ num: 4, den: 5 });
  });

  it('gives a single customer p = 0 (Low) and RFM scores of 1', () => {
    // Act
    const row = metrics([history('solo', [customerDay('2023-08-30', 1000)])]).get('solo')!;

    // Assess
    expect(row.clvPercentile).toEqual({ num: 0, den: 1 });
    expect(row.clvTier).toBe('Low');
    expect([row.rScore, row.fScore, row.mScore]).toEqual([1, 1, 1]);
    expect(row.rfmSegment).toBe('Churn Risk');
  });

  it('equals a reference percent_rank computed by counting, for any population', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 40 }), { minLength: 1, maxLength: 60 }), (clvs) => {
        // Prepare
        const histories = clvs.map((cents, index) =>
          history(`c${String(index).padStart(3, '0')}`, [customerDay('2023-08-01', cents)]),
        );
        // Act
        const rows = metrics(histories);
        // Assess: rank = 1 + number strictly below; p = (rank − 1) / (n − 1) as a double
        clvs.forEach((cents, index) => {
          const n = clvs.length;
          const below = clvs.filter((other) => other < cents).length;
          const p = n === 1 ? 0 : below / (n - 1);
          const expected = p >= 0.8 - 1e-12 ? 'High' : p < 0.2 - 1e-12 ? 'Low' : 'Medium';
          expect(rows.get(`c${String(index).padStart(3, '0')}`)!.clvTier).toBe(expected);
        });
      }),
    );
  });

  it('decides the 80% cut-off in integers where doubles would err', () => {
    // (rank − 1) / (n − 1) = 4/5 exactly; 0.8 is not exact in binary.
    expect(clvTier(8, 11, defaultMartSettings)).toBe('High');
    expect(clvTier(7, 11, defaultMartSettings)).toBe('Medium');
    expect(clvTier(2, 11, defaultMartSettings)).toBe('Medium');
    expect(clvTier(1, 11, defaultMartSettings)).toBe('Low');
  });
});

describe('customer_metrics: RFM', () => {
  it('scores recency descending so ties share the lower score, and applies the segment rules in order', () => {
    // Prepare: recency 100, 30, 10, 10, 0 days; frequency 1, 2, 3, 3, 6; monetary rising
    const histories = [
      history('r100', [customerDay('2023-05-23', 100)]),
      history('r30', [
        customerDay('2023-08-01', 100),
        customerDay('2023-08-01', 100, { locationId: 'loc-b' }),
      ]),
      history('r10a', [customerDay('2023-08-21', 300, { orders: 3 })]),
      history('r10b', [customerDay('2023-08-21', 300, { orders: 3 })]),
      history('r0', [customerDay('2023-08-31', 900, { orders: 6 })]),
    ];

    // Act
    const rows = metrics(histories);

    // Assess: n = 5; recency ranks (desc) 1, 2, 3, 3, 5 → scores 1, 2, 3, 3, 5
    expect(['r100', 'r30', 'r10a', 'r10b', 'r0'].map((id) => rows.get(id)!.rScore)).toEqual([1, 2, 3, 3, 5]);
    // frequency 1, 2, 3, 3, 6 → ranks 1, 2, 3, 3, 5
    expect(['r100', 'r30', 'r10a', 'r10b', 'r0'].map((id) => rows.get(id)!.fScore)).toEqual([1, 2, 3, 3, 5]);
    // monetary 1.00, 2.00, 3.00, 3.00, 9.00
    expect(['r100', 'r30', 'r10a', 'r10b', 'r0'].map((id) => rows.get(id)!.mScore)).toEqual([1, 2, 3, 3, 5]);
    expect(rows.get('r0')!.rfmSegment).toBe('VIP');
    expect(rows.get('r100')!.rfmSegment).toBe('Churn Risk');
    expect(rows.get('r10a')!.rfmSegment).toBe('Regular');
    expect(rows.get('r100')!.recencyDays).toBe(100);
  });

  it('leaves customers without an order in the 180-day window unscored and Inactive', () => {
    // Prepare: 2023-03-04 is as_of − 180, just outside the window; 2023-03-05 is its first day
    const histories = [
      history('outside', [customerDay('2023-03-04', 5000)]),
      history('inside', [customerDay('2023-03-05', 700)]),
    ];

    // Act
    const rows = metrics(histories);

    // Assess
    const outside = rows.get('outside')!;
    expect([outside.rScore, outside.fScore, outside.mScore]).toEqual([null, null, null]);
    expect(outside.frequency180d).toBe(0);
    expect(outside.monetary180dCents).toBe(0);
    expect(outside.rfmSegment).toBe('Inactive');
    expect(outside.clvTier).toBe('High');
    const inside = rows.get('inside')!;
    expect(inside.frequency180d).toBe(1);
    expect(inside.rScore).toBe(1);
  });

  it('applies New Customer, Loyal, Lapsing and Regular in their order', () => {
    // Prepare: 6 scored customers, so every score is min(5, rank)
    const histories = [
      history('a', [customerDay('2023-03-10', 100, { orders: 3 })]),
      history('b', [customerDay('2023-04-10', 100, { orders: 9 })]),
      history('c', [customerDay('2023-05-10', 100, { orders: 2 })]),
      history('d', [customerDay('2023-06-10', 100, { orders: 3 })]),
      history('new', [customerDay('2023-08-30', 100)]),
      history('loyal', [customerDay('2023-07-10', 100, { orders: 8 })]),
    ];

    // Act
    const rows = metrics(histories);

    // Assess: recency 174, 143, 113, 82, 1, 52 days → R a1 b2 c3 d4 loyal5 new5;
    // frequency 3, 9, 2, 3, 1, 8 → F new1 c2 a3 d3 loyal5 b5; monetary all equal → M 1
    const scores = (id: string) => {
      const row = rows.get(id)!;
      return [row.rScore, row.fScore, row.mScore, row.rfmSegment];
    };
    expect(scores('new')).toEqual([5, 1, 1, 'New Customer']);
    expect(scores('loyal')).toEqual([5, 5, 1, 'Loyal']);
    expect(scores('b')).toEqual([2, 5, 1, 'Loyal']);
    expect(scores('a')).toEqual([1, 3, 1, 'Lapsing']);
    expect(scores('c')).toEqual([3, 2, 1, 'Regular']);
    expect(scores('d')).toEqual([4, 3, 1, 'Regular']);
  });
});

describe('customer_metrics: churn indicators', () => {
  it('is at risk after more than 45 days: 45 is not, 46 is', () => {
    const rows = metrics([
      history('d45', [customerDay('2023-07-17', 100)]),
      history('d46', [customerDay('2023-07-16', 100)]),
    ]);
    expect(rows.get('d45')!.recencyDays).toBe(45);
    expect(rows.get('d45')!.atRisk).toBe(false);
    expect(rows.get('d46')!.recencyDays).toBe(46);
    expect(rows.get('d46')!.atRisk).toBe(true);
  });

  it('has no average gap with one order, and counts calendar days across DST changes', () => {
    // Prepare: 2023-03-12 and 2023-11-05 are DST changes in New York; dates are already local
    const rows = metrics([
      history('one', [customerDay('2023-08-01', 100)]),
      history('dst', [
        customerDay('2023-03-11', 100),
        customerDay('2023-03-12', 100),
        customerDay('2023-03-13', 100, { orders: 2 }),
      ]),
    ]);
    expect(rows.get('one')!.avgGapDays).toBeNull();
    // (2023-03-13 − 2023-03-11) / (4 − 1) = 2/3
    expect(rows.get('dst')!.avgGapDays).toEqual({ num: 2, den: 3 });
  });

  it('counts orders either side of local midnight on their own local dates', () => {
    // 23:59 and 00:01 local are two dates even when both are the same UTC date.
    const row = metrics([
      history('midnight', [customerDay('2023-08-30', 1000), customerDay('2023-08-31', 1000)]),
    ]).get('midnight')!;
    expect(row.firstOrderDate).toBe('2023-08-30');
    expect(row.lastOrderDate).toBe('2023-08-31');
    expect(row.avgGapDays).toEqual({ num: 1, den: 1 });
    expect(row.recencyDays).toBe(0);
  });

  it('compares the 90 days ending on as_of with the 90 before, empty when the prior spend is 0', () => {
    // Prepare: recent = 2023-06-03 … 2023-08-31, prior = 2023-03-05 … 2023-06-02
    const rows = metrics([
      history('down', [customerDay('2023-06-02', 800), customerDay('2023-06-03', 799)]),
      history('up', [customerDay('2023-03-05', 800), customerDay('2023-08-31', 801)]),
      history('noPrior', [customerDay('2023-03-04', 800), customerDay('2023-08-31', 500)]),
    ]);
    const down = rows.get('down')!;
    expect([down.spendPriorCents, down.spendRecentCents]).toEqual([800, 799]);
    // −1/800 × 100 = −0.125 %: the CSV writes −0.13
    expect(down.spendChangePct).toEqual({ num: -100, den: 800 });
    expect(rows.get('up')!.spendChangePct).toEqual({ num: 100, den: 800 });
    expect(rows.get('noPrior')!.spendPriorCents).toBe(0);
    expect(rows.get('noPrior')!.spendChangePct).toBeNull();
  });
});

describe('customer_metrics: as_of', () => {
  it('leaves later days out of everything: membership, CLV, first and last orders', () => {
    // Prepare
    const histories = [
      history('later', [customerDay('2023-09-01', 100)]),
      history('mixed', [
        customerDay('2023-08-10', 1000),
        customerDay('2023-09-05', 5000, { loyaltyOrders: 1 }),
        customerDay('2023-07-01', 500),
      ]),
    ];

    // Act
    const rows = metrics(histories);

    // Assess
    expect(rows.has('later')).toBe(false);
    const mixed = rows.get('mixed')!;
    expect(mixed.loyaltyMember).toBe(false);
    expect(mixed.clvCents).toBe(1500);
    expect(mixed.orders).toBe(2);
    expect(mixed.firstOrderDate).toBe('2023-07-01');
    expect(mixed.lastOrderDate).toBe('2023-08-10');
    expect(metrics(histories, '2023-09-05').get('mixed')!.loyaltyMember).toBe(true);
  });

  it('refuses an as_of whose windows reach into a rollup', () => {
    const rolledUp: CustomerHistory = {
      customerId: 'old',
      rollup: {
        throughDate: '2023-03-31',
        firstDate: '2022-01-01',
        lastDate: '2023-03-20',
        orders: 4,
        netCents: 4000,
        loyaltyOrders: 0,
        ordersByLocation: { 'loc-a': 4 },
      },
      days: [customerDay('2023-08-01', 100)],
    };
    expect(() => metrics([rolledUp])).toThrow(AsOfBeforeHorizonError);
    const row = metrics([rolledUp], '2023-12-31').get('old')!;
    expect(row.orders).toBe(5);
    expect(row.clvCents).toBe(4100);
    expect(row.firstOrderDate).toBe('2022-01-01');
  });

  it('sorts rows by customer id as UTF-8 bytes', () => {
    const ids = ['b', 'B', 'a', '\u{1F600}', '\uFF21'];
    const mart = customerMetrics(
      customerPopulation(
        ids.map((id) => history(id, [customerDay('2023-08-01', 100)])),
        AS_OF,
        defaultMartSettings,
      ),
      defaultMartSettings,
    );
    expect(martRows(mart).map((row) => row.customerId)).toEqual(['B', 'a', 'b', '\uFF21', '\u{1F600}']);
  });
});
