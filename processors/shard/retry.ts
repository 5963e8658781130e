/**
 * Throttling, retried with exponential backoff and full jitter (on top of the SDK's own attempts).
 * Retries are bounded; what still fails throws, and the caller replays the batch from its
 * checkpoint, so a throttled record is delayed, never dropped.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type BackoffOptions, backoffDelayMs, sleepMs, withRetry } from '../../ingest/retry.js';

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

/** DynamoDB's limit of puts in one BatchWriteItem. */
export const BATCH_WRITE_LIMIT = 25;

/** The error a batch request gives up with when DynamoDB keeps leaving part of it unprocessed. */
export function unprocessedError(operation: 'BatchGetItem' | 'BatchWriteItem', rounds: number): Error {
  const error = new Error(`${operation} left part of its request unprocessed after ${rounds} rounds`);
  // Unprocessed keys or items are DynamoDB's throttling of a batch.
  error.name = 'ProvisionedThroughputExceededException';
  return error;
}

/**
 * Puts `items` (at most `BATCH_WRITE_LIMIT`) into `tableName` with one `BatchWriteItem`, asking again for what it
 * leaves unprocessed after a backoff, for at most `policy.maxAttempts` rounds; each request is
 * also retried on throttling. `beforeRound` runs before every request (a lease renewal, say).
 *
 * @throws the `unprocessedError` when items are still unprocessed after the last round.
 */
export async function putBatch(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
  policy: RetryPolicy = {},
  beforeRound?: () => Promise<void>,
): Promise<void> {
  const backoff = { ...THROTTLING_BACKOFF, ...policy };
  let requests = items.map((item) => ({ PutRequest: { Item: item } }));
  for (let round = 1; requests.length > 0; round++) {
    await beforeRound?.();
    const pending = requests;
    const response = await retryThrottled(
      () => doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } })),
      backoff,
    );
    requests = (response.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    if (requests.length === 0) return;
    if (round >= backoff.maxAttempts) throw unprocessedError('BatchWriteItem', round);
    await (backoff.sleep ?? sleepMs)(backoffDelayMs(round, backoff));
  }
}
