/**
 * Puts stream records on Kinesis with PutRecords: batches of at most 500 records and 5 MiB, several
 * requests in flight, and only the entries that failed are retried, with exponential backoff and
 * jitter. Records of one key may land out of order (batches race, retries reorder): consumers must
 * not depend on per-key order (DESIGN.md, hard part 7), and ours do not.
 */
import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { PutRecordsError } from './errors.js';
import { type BackoffOptions, backoffDelayMs, mapLimit, sleepMs } from './retry.js';

/** One record for the stream. */
export interface StreamRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
}

export const PUT_RECORDS_MAX_ENTRIES = 500;
/** PutRecords requests in flight at once. */
export const PUT_RECORDS_CONCURRENCY = 4;
/** Data plus partition key of every entry in one request. */
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

function entryBytes(record: StreamRecord): number {
  return record.data.byteLength + Buffer.byteLength(record.partitionKey, 'utf8');
}

/** Splits records into PutRecords batches, keeping their order. */
export function batchRecords(
  records: readonly StreamRecord[],
  maxEntries = PUT_RECORDS_MAX_ENTRIES,
  maxBytes = PUT_RECORDS_MAX_BYTES,
): StreamRecord[][] {
  const batches: StreamRecord[][] = [];
  let current: StreamRecord[] = [];
  let currentBytes = 0;
  for (const record of records) {
    const size = entryBytes(record);
    if (current.length > 0 && (current.length >= maxEntries || currentBytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(record);
    currentBytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Bounds the rate of records put (`tillstream backfill`); see `ingest/backfill/rate-limiter.ts`. */
export interface RecordRateLimiter {
  /** Resolves when `records` more records may be put. */
  acquire(records: number): Promise<void>;
}

/** What a put cost: useful for the ingest report and the benchmark. */
export interface PutOutcome {
  readonly recordsPut: number;
  readonly requests: number;
  /** Entries that failed at least once and were put again. */
  readonly entriesRetried: number;
}

/**
 * Puts every record, retrying throttled or failed entries (and whole requests that fail with a
 * retryable error) up to `maxAttempts` times each.
 *
 * @example
 * await putRecords(kinesis, 'tillstream-orders', [{ partitionKey: 'order-1', data: bytes }]);
 */
export async function putRecords(
  kinesis: KinesisClient,
  streamName: string,
  records: readonly StreamRecord[],
  backoff: BackoffOptions = {},
  concurrency = PUT_RECORDS_CONCURRENCY,
  rateLimiter?: RecordRateLimiter,
): Promise<PutOutcome> {
  const maxAttempts = backoff.maxAttempts ?? 8;
  const sleep = backoff.sleep ?? sleepMs;
  let requests = 0;
  let entriesRetried = 0;
  await mapLimit(batchRecords(records), concurrency, async (batch) => {
    // Retries re-send records already paid for: only a batch's first attempt takes from the budget.
    await rateLimiter?.acquire(batch.length);
    let pending: StreamRecord[] = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const entries: PutRecordsRequestEntry[] = pending.map((record) => ({
        PartitionKey: record.partitionKey,
        Data: record.data,
      }));
      requests++;
      let failed: StreamRecord[];
      let lastErrorCode: string | undefined;
      try {
        const response = await kinesis.send(
          new PutRecordsCommand({ StreamName: streamName, Records: entries }),
        );
        const results = response.Records ?? [];
        if (results.length !== pending.length) {
          throw new PutRecordsError(
            `PutRecords answered ${results.length} results for ${pending.length} entries`,
            pending.length,
            undefined,
          );
        }
        failed = pending.filter((_, index) => results[index]?.ErrorCode !== undefined);
        lastErrorCode = results.find((result) => result.ErrorCode !== undefined)?.ErrorCode;
      } catch (error) {
        if (!isRetryableRequestError(error) || attempt >= maxAttempts) throw error;
        failed = pending;
        lastErrorCode = (error as Error).name;
      }
      if (failed.length === 0) break;
      if (attempt >= maxAttempts) {
        throw new PutRecordsError(
          `${failed.length} of ${records.length} records were not accepted by ${streamName} after ${attempt} attempts (${lastErrorCode})`,
          failed.length,
          lastErrorCode,
        );
      }
      entriesRetried += failed.length;
      pending = failed;
      await sleep(backoffDelayMs(attempt, backoff));
    }
  });
  return { recordsPut: records.length, requests, entriesRetried };
}

const RETRYABLE_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'InternalFailure',
  'ServiceUnavailable',
  'KMSThrottlingException',
]);

function isRetryableRequestError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (RETRYABLE_ERRORS.has(error.name)) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  const code = (error as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE' || code === 'ETIMEDOUT';
}
