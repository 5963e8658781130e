import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRateLimiter,
  RateLimitAbortedError,
  RecordBudget,
} from '../../../ingest/backfill/rate-limiter.js';
import { approximateRows } from '../../../ingest/backfill/run.js';

/** Serves reservations one after the other, as the producer's awaits do: the start times it grants. */
function simulate(
  budget: RecordBudget,
  requests: readonly { gapMs: number; records: number }[],
): { startMs: number; records: number }[] {
  let now = 0;
  const starts: { startMs: number; records: number }[] = [];
  for (const request of requests) {
    now += request.gapMs;
    const waitMs = budget.reserve(request.records, now);
    expect(waitMs).toBeGreaterThanOrEqual(0);
    starts.push({ startMs: now + waitMs, records: request.records });
    now += waitMs;
  }
  return starts;
}

describe('RecordBudget', () => {
  it('lets a burst through at once, then one record per 1/rate seconds', () => {
    // Prepare
    const budget = new RecordBudget(100, 10);

    // Act
    const waits = [budget.reserve(10, 0), budget.reserve(1, 0), budget.reserve(5, 0)];

    // Assess
    expect(waits).toEqual([0, 10, 60]);
  });

  it('waits for a batch larger than the bucket until the excess is earned', () => {
    const budget = new RecordBudget(200, 100);
    // 500 records at 5 ms each, 100 of them in the bucket: 400 × 5 ms to earn.
    expect(budget.reserve(500, 1_000)).toBe(2_000);
    // The bucket refills until 5 500 ms; one record fits once 99 records' credit is back.
    expect(budget.reserve(1, 1_000)).toBe(4_005);
  });

  it('never lets more than burst + rate × window through, for any requests and pauses', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(
          fc.record({ gapMs: fc.integer({ min: 0, max: 300 }), records: fc.integer({ min: 1, max: 500 }) }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        (ratePerSecond, burstFactor, rawRequests) => {
          const burst = 500 * burstFactor;
          const budget = new RecordBudget(ratePerSecond, burst);
          const starts = simulate(budget, rawRequests);
          for (let first = 0; first < starts.length; first++) {
            let records = 0;
            for (let last = first; last < starts.length; last++) {
              records += starts[last]!.records;
              const windowMs = starts[last]!.startMs - starts[first]!.startMs;
              expect(records).toBeLessThanOrEqual(burst + (ratePerSecond * windowMs) / 1000 + 1e-6);
            }
          }
        },
      ),
    );
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RecordBudget(0)).toThrow(RangeError);
    expect(() => new RecordBudget(10, 0)).toThrow(RangeError);
  });
});

describe('createRateLimiter', () => {
  it('sleeps for what the budget says on the injected clock', async () => {
    // Prepare
    let now = 0;
    const sleeps: number[] = [];
    const acquired: number[] = [];
    const limiter = createRateLimiter({
      ratePerSecond: 100,
      burstRecords: 100,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
      onAcquired: (records) => acquired.push(records),
    });

    // Act
    await limiter.acquire(100);
    await limiter.acquire(50);
    await limiter.acquire(50);

    // Assess
    expect(sleeps).toEqual([500, 500]);
    expect(acquired).toEqual([100, 50, 50]);
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    const limiter = createRateLimiter({
      ratePerSecond: 1,
      burstRecords: 1,
      now: () => 0,
      sleep: async () => controller.abort(),
      signal: controller.signal,
    });
    await limiter.acquire(1);
    await expect(limiter.acquire(1)).rejects.toThrow(RateLimitAbortedError);
  });
});

describe('approximateRows', () => {
  it('counts records after the header, with or without a final line break', () => {
    expect(approximateRows(Buffer.from(''))).toBe(0);
    expect(approximateRows(Buffer.from('A,B\n'))).toBe(0);
    expect(approximateRows(Buffer.from('A,B\n1,2\n3,4\n'))).toBe(2);
    expect(approximateRows(Buffer.from('A,B\r\n1,2\r\n3,4'))).toBe(2);
  });
});
