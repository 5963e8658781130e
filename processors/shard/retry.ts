/**
 * Throttling, retried with exponential backoff and full jitter (on top of the SDK's own attempts).
 * Retries are bounded; what still fails throws, and the caller replays the batch from its
 * checkpoint, so a throttled record is delayed, never dropped.
 */
import { type BackoffOptions, withRetry } from '../../ingest/retry.js';

/** Error names of throttling by Kinesis and DynamoDB. */
export const THROTTLING_ERRORS: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
]);

export type RetryPolicy = BackoffOptions;

/** True for a throttling error of either service. */
export function isThrottling(error: unknown): boolean {
  return error instanceof Error && THROTTLING_ERRORS.has(error.name);
}

/** The processors' defaults for a throttled request. */
export const THROTTLING_BACKOFF = { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 5_000 } as const;

/** Runs `operation`, retrying throttling up to `policy.maxAttempts` (default 10) times in all. */
export function retryThrottled<T>(operation: () => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  return withRetry(operation, isThrottling, { ...THROTTLING_BACKOFF, ...policy });
}
