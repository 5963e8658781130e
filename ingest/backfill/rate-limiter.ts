/**
 * The backfill's rate limiter: a token bucket (GCRA form) over records put on the stream. The
 * bucket holds `burstRecords` and refills at `ratePerSecond`; a batch waits until its records are
 * earned. In any window of `w` ms the records let through are at most
 * `burstRecords + ratePerSecond × w / 1000`, provided no batch is larger than the bucket (the
 * producer's batches are at most 500 records, the default bucket's floor).
 */
import { sleep } from '../../shared/sleep.js';
import type { RecordRateLimiter } from '../producer.js';
import { PUT_RECORDS_MAX_ENTRIES } from '../producer.js';

/** The limiter's arithmetic, pure: the clock is passed in. */
export class RecordBudget {
  private readonly msPerRecord: number;
  private readonly burstMs: number;
  /** When the bucket would be full again ("theoretical arrival time"); full whenever it is past. */
  private fullAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly ratePerSecond: number,
    readonly burstRecords: number = Math.max(ratePerSecond, PUT_RECORDS_MAX_ENTRIES),
  ) {
    if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
      throw new RangeError(`a rate must be a positive number of records per second (given ${ratePerSecond})`);
    }
    if (!Number.isInteger(burstRecords) || burstRecords < 1) {
      throw new RangeError(`a burst must be a positive whole number of records (given ${burstRecords})`);
    }
    this.msPerRecord = 1000 / ratePerSecond;
    this.burstMs = burstRecords * this.msPerRecord;
  }

  /**
   * Reserves `records` at `nowMs`: resolves to the milliseconds to wait before putting them
   * (0 when the bucket holds enough). Reservations are served in call order.
   */
  reserve(records: number, nowMs: number): number {
    const cost = records * this.msPerRecord;
    // A bucket full in the past is full now; a batch larger than the bucket waits for the excess.
    const fullAtMs = Math.max(this.fullAtMs, nowMs);
    const startMs = Math.max(nowMs, fullAtMs - this.burstMs + cost);
    this.fullAtMs = Math.max(startMs, fullAtMs) + cost;
    return startMs - nowMs;
  }
}

/** Thrown by an acquire whose wait was cut short by the abort signal. */
export class RateLimitAbortedError extends Error {
  override name = 'RateLimitAbortedError';
  constructor(readonly records: number) {
    super(`interrupted while waiting to put ${records} record(s)`);
  }
}

/**
 * A `RecordRateLimiter` for the producer.
 *
 * @example
 * const limiter = createRateLimiter({ ratePerSecond: 200 });
 * await runPollCycle({ ...deps, rateLimiter: limiter });
 */
export function createRateLimiter(options: {
  readonly ratePerSecond: number;
  readonly burstRecords?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly signal?: AbortSignal;
  /** Told of every batch let through, for progress. */
  readonly onAcquired?: (records: number) => void;
}): RecordRateLimiter {
  const budget = new RecordBudget(options.ratePerSecond, options.burstRecords);
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  return {
    async acquire(records) {
      if (options.signal?.aborted) throw new RateLimitAbortedError(records);
      const waitMs = budget.reserve(records, now());
      if (waitMs > 0) await wait(waitMs, options.signal);
      if (options.signal?.aborted) throw new RateLimitAbortedError(records);
      options.onAcquired?.(records);
    },
  };
}
