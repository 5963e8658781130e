/** Exponential backoff with full jitter, for the Drive API and Kinesis PutRecords. */
import { settleAll } from '../shared/settle.js';

/** How to wait and how to draw jitter; injected so tests neither sleep nor depend on chance. */
export interface BackoffOptions {
  /** Attempts in all, the first included. @default 6 */
  readonly maxAttempts?: number;
  /** Delay cap of the first retry in ms; doubles per retry. @default 100 */
  readonly baseDelayMs?: number;
  /** Upper bound of one delay in ms. @default 5000 */
  readonly maxDelayMs?: number;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1). @default Math.random */
  readonly random?: () => number;
}

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The delay before retry number `retry` (1-based): uniform in [0, min(max, base·2^(retry−1))]. */
export function backoffDelayMs(retry: number, options: BackoffOptions = {}): number {
  const base = options.baseDelayMs ?? 100;
  const cap = Math.min(options.maxDelayMs ?? 5000, base * 2 ** (retry - 1));
  return Math.floor((options.random ?? Math.random)() * cap);
}

/**
 * Runs `operation` until it succeeds, retrying while `isRetryable(error)` holds, at most
 * `maxAttempts` times in all; the last error is rethrown.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  options: BackoffOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 6;
  const sleep = options.sleep ?? sleepMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !isRetryable(error)) throw error;
      await sleep(backoffDelayMs(attempt, options));
    }
  }
}

/**
 * Runs `task` over `items` with at most `limit` at once; results in input order. After a failure no
 * new item starts, and the first error is thrown only once every started task has settled: a
 * request still in flight could otherwise land after the caller's retry and overwrite it.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await settleAll(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
