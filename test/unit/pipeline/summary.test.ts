import { describe, expect, it } from 'vitest';
import { computeMarts } from '../../../aggregates/marts/index.js';
import { summariseMarts } from '../../../processors/pipeline/summary.js';
import { customerDay, history, locationDay } from '../marts/fixtures.js';

describe('the closing summary', () => {
  it('states the headline figures of the marts, in dollars, with location names', () => {
    // Prepare
    const marts = computeMarts({
      asOf: '2023-08-31',
      customers: [
        history('c1', [customerDay('2023-08-01', 123_456_78, { loyaltyOrders: 1 })]),
        history('c2', [customerDay('2023-08-02', 500), customerDay('2023-08-03', 250)]),
      ],
      locationDays: [
        locationDay('loc-a', '2023-08-01', 123_456_78),
        locationDay('loc-a', '2023-08-02', 500),
        locationDay('loc-b', '2023-08-03', 250),
      ],
      holidays: [],
    });

    // Act
    const text = summariseMarts(marts, new Map([['loc-a', 'Downtown']]));

    // Assess
    expect(text).toMatch(/net revenue\s+\$123,464\.28/);
    expect(text).toMatch(/orders\s+3\n/);
    expect(text).toMatch(/customers\s+2\n/);
    expect(text).toMatch(/1\s+Downtown\s+\$123,461\.78\s+2/);
    expect(text).toMatch(/2\s+loc-b\s+\$2\.50\s+1/);
    expect(text).toMatch(/High\s+1 \(50\.0%\)/);
  });
});
