/**
 * The shard processor as an AWS Lambda on a Kinesis event source mapping: the same flush as the
 * local runner, with the mapping keeping the checkpoint (the state table records the applied
 * position and the iterator age too, for `tillstream lag`). Partial batch responses
 * (`ReportBatchItemFailures`): on any failure the lowest sequence number of the batch is reported,
 * so the mapping retries from there (a replay the flush absorbs exactly); a failed batch is never
 * reported as a success. Poison records are kept in the state table and skipped. A failed
 * invocation records its error in the shard's status item (`FAILING` in `tillstream lag`) until
 * an invocation succeeds. Each invocation publishes its metrics, and each shard's with a `shard`
 * dimension (`publishInvocationMetrics`).
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { BatchRecord } from '../../aggregates/batch.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import {
  createObservability,
  MetricDimension,
  MetricName,
  MetricUnit,
  ServiceName,
} from '../../shared/aws/powertools.js';
import { loadSettings } from '../../shared/config.js';
import { type LiveGeneration, liveGenerationResolver } from '../../shared/generation.js';
import { resourceNames } from '../../shared/resources.js';
import { decodeOrderEvent, PoisonRecordError } from '../../shared/schemas/order-event.js';
import { DynamoShardStore } from './dynamo-store.js';
import { flushBatch } from './flush.js';

/** The parts of a Kinesis event record the handler reads (aws-lambda's `KinesisStreamRecord`). */
export interface KinesisEventRecord {
  /** `shardId-000000000000:<sequence number>` */
  readonly eventID: string;
  readonly eventSourceARN: string;
  readonly kinesis: {
    readonly sequenceNumber: string;
    readonly data: string;
    readonly partitionKey: string;
    /** When Kinesis took the record, in epoch seconds (fractional). */
    readonly approximateArrivalTimestamp?: number;
  };
}

export interface KinesisStreamEvent {
  readonly Records: readonly KinesisEventRecord[];
}

export interface BatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/** What an invocation did on one shard: the figures of its metrics. */
export interface ShardOutcome {
  readonly shardId: string;
  /** The shard's records in the invocation, poison records included. */
  readonly records: number;
  /** Orders whose state the records changed (0 when the invocation failed). */
  readonly ordersChanged: number;
  /** The age of the shard's newest record when the invocation finished, as its status item records it. */
  readonly iteratorAgeMs?: number;
  readonly failed: boolean;
}

/** An invocation's response, with what it did on each shard and how long it took. */
export interface KinesisEventOutcome {
  readonly response: BatchResponse;
  readonly shards: readonly ShardOutcome[];
  /** From the start of the processing to its last write (the status writes excluded). */
  readonly seconds: number;
}

/** Processes one invocation's records (one shard's, in order) against `store`. */
export async function processKinesisEvent(
  event: KinesisStreamEvent,
  store: DynamoShardStore,
  log: (message: string) => void = console.error,
): Promise<BatchResponse> {
  return (await applyKinesisEvent(event, store, log)).response;
}

/** `processKinesisEvent`, with the figures of the invocation's metrics. */
export async function applyKinesisEvent(
  event: KinesisStreamEvent,
  store: DynamoShardStore,
  log: (message: string) => void = console.error,
): Promise<KinesisEventOutcome> {
  if (event.Records.length === 0) return { response: { batchItemFailures: [] }, shards: [], seconds: 0 };
  const startedAt = Date.now();
  const lowest = event.Records.reduce((low, record) =>
    BigInt(record.kinesis.sequenceNumber) < BigInt(low.kinesis.sequenceNumber) ? record : low,
  ).kinesis.sequenceNumber;
  const ordersChanged = new Map<string, number>();
  let failure: { readonly error: unknown } | undefined;
  try {
    const byShard = new Map<string, BatchRecord[]>();
    for (const record of event.Records) {
      const shardId = record.eventID.slice(0, record.eventID.indexOf(':'));
      const sequence = record.kinesis.sequenceNumber;
      const data = Buffer.from(record.kinesis.data, 'base64');
      try {
        const records = byShard.get(shardId) ?? [];
        records.push({ sequence: BigInt(sequence), event: decodeOrderEvent(data, sequence) });
        byShard.set(shardId, records);
      } catch (error) {
        if (!(error instanceof PoisonRecordError)) throw error;
        log(`shard ${shardId}: ${error.message}`);
        await store.reportPoison(shardId, sequence, data, error.message);
      }
    }
    for (const [shardId, records] of byShard) {
      const result = await flushBatch(store, shardId, records, { skipCheckpoint: true });
      ordersChanged.set(shardId, result.ordersChanged);
    }
  } catch (error) {
    failure = { error };
  }
  const finishedAt = Date.now();
  const shards = [...shardsOf(event)].map((shardId): ShardOutcome => {
    const records = recordsOf(event, shardId);
    const age = iteratorAgeMs(records, finishedAt);
    return {
      shardId,
      records: records.length,
      ordersChanged: failure === undefined ? (ordersChanged.get(shardId) ?? 0) : 0,
      ...(age === undefined ? {} : { iteratorAgeMs: age }),
      failed: failure !== undefined,
    };
  });
  const seconds = (finishedAt - startedAt) / 1000;
  if (failure === undefined) {
    await recordProgress(event, shards, finishedAt, store, log);
    return { response: { batchItemFailures: [] }, shards, seconds };
  }
  const { error } = failure;
  log(
    `batch from ${lowest} failed, to be retried: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  await recordFailure(shards, error, finishedAt, store, log);
  return { response: { batchItemFailures: [{ itemIdentifier: lowest }] }, shards, seconds };
}

/** The shards of an invocation's records (the event source mapping sends one shard's only). */
function shardsOf(event: KinesisStreamEvent): Set<string> {
  return new Set(event.Records.map((record) => record.eventID.slice(0, record.eventID.indexOf(':'))));
}

/** A shard's records in the invocation. */
function recordsOf(event: KinesisStreamEvent, shardId: string): KinesisEventRecord[] {
  return event.Records.filter((record) => record.eventID.startsWith(`${shardId}:`));
}

/** The age of the newest of `records` at `now` (epoch ms), when Kinesis gave their arrival times. */
function iteratorAgeMs(records: readonly KinesisEventRecord[], now: number): number | undefined {
  const newest = records.reduce(
    (max, record) => Math.max(max, (record.kinesis.approximateArrivalTimestamp ?? 0) * 1000),
    0,
  );
  return newest > 0 ? Math.max(0, Math.round(now - newest)) : undefined;
}

/**
 * Records the error of a failed invocation in its shard's status item, as the local runner does,
 * so `tillstream lag` and `tillstream status` show the shard `FAILING` until an invocation
 * succeeds (its progress write clears the error). Best effort: a failed write is logged, and the
 * batch is reported failed all the same.
 */
async function recordFailure(
  shards: readonly ShardOutcome[],
  error: unknown,
  errorAt: number,
  store: DynamoShardStore,
  log: (message: string) => void,
): Promise<void> {
  for (const { shardId, iteratorAgeMs } of shards) {
    try {
      await store.saveShardStatus(shardId, {
        error: String(error),
        errorAt,
        ...(iteratorAgeMs === undefined ? {} : { iteratorAgeMs }),
      });
    } catch (statusError) {
      log(`shard ${shardId}: status not saved: ${String(statusError)}`);
    }
  }
}

/** Per shard, when this container last recorded its progress (for the rates). */
const lastProgress = new Map<string, number>();

/**
 * Records each shard's applied position and status after a successful invocation, for
 * `tillstream lag`: the iterator age (the age of the invocation's newest record) and, from the
 * second invocation of the shard in this container, records and orders per second since the
 * last. Not part of exactly-once: a failed write is logged, and the next invocation writes again.
 */
async function recordProgress(
  event: KinesisStreamEvent,
  shards: readonly ShardOutcome[],
  now: number,
  store: DynamoShardStore,
  log: (message: string) => void,
): Promise<void> {
  // Every shard of the invocation, up to its last record: poison records (kept aside) included.
  // A status without an error clears the one a failed invocation recorded.
  for (const { shardId, records, ordersChanged, iteratorAgeMs } of shards) {
    // BigInt: Math.max takes no sequence number.
    let last = 0n;
    for (const record of recordsOf(event, shardId)) {
      const sequence = BigInt(record.kinesis.sequenceNumber);
      if (sequence > last) last = sequence;
    }
    const lastSequence = last.toString();
    const since = lastProgress.get(shardId);
    const seconds = since === undefined ? undefined : Math.max(now - since, 1_000) / 1000;
    lastProgress.set(shardId, now);
    try {
      await store.saveProgress(shardId, lastSequence, {
        ...(iteratorAgeMs === undefined ? {} : { iteratorAgeMs }),
        ...(seconds === undefined
          ? {}
          : {
              recordsPerSecond: Math.round(records / seconds),
              ordersPerSecond: Math.round(ordersChanged / seconds),
            }),
      });
    } catch (error) {
      log(`shard ${shardId}: progress not recorded: ${String(error)}`);
    }
  }
}

/**
 * Publishes an invocation's metrics (EMF on stdout): `RecordsProcessed` and `BatchesFailed` of the
 * invocation with the `service` dimension only, then per shard, with the `shard` dimension too,
 * `IteratorAge` (ms; absent when Kinesis gave no arrival time), `RecordsProcessed`,
 * `BatchesFailed` and, when the batch was applied, `RecordsPerSecond` and `OrdersPerSecond` over
 * the invocation's processing time. EMF gives every metric of a document the same dimensions, so
 * each shard's are published as a document of their own, after the invocation's.
 */
export function publishInvocationMetrics(
  metrics: Metrics,
  event: KinesisStreamEvent,
  outcome: KinesisEventOutcome,
): void {
  const failed = outcome.response.batchItemFailures.length > 0 ? 1 : 0;
  metrics.addMetric(MetricName.RecordsProcessed, MetricUnit.Count, event.Records.length);
  metrics.addMetric(MetricName.BatchesFailed, MetricUnit.Count, failed);
  metrics.publishStoredMetrics();
  // A batch of a few records can take under a millisecond.
  const seconds = Math.max(outcome.seconds, 0.001);
  for (const shard of outcome.shards) {
    metrics.addDimension(MetricDimension.Shard, shard.shardId);
    if (shard.iteratorAgeMs !== undefined) {
      metrics.addMetric(MetricName.IteratorAge, MetricUnit.Milliseconds, shard.iteratorAgeMs);
    }
    metrics.addMetric(MetricName.RecordsProcessed, MetricUnit.Count, shard.records);
    metrics.addMetric(MetricName.BatchesFailed, MetricUnit.Count, shard.failed ? 1 : 0);
    if (!shard.failed) {
      metrics.addMetric(
        MetricName.RecordsPerSecond,
        MetricUnit.CountPerSecond,
        Math.round(shard.records / seconds),
      );
      metrics.addMetric(
        MetricName.OrdersPerSecond,
        MetricUnit.CountPerSecond,
        Math.round(shard.ordersChanged / seconds),
      );
    }
    metrics.publishStoredMetrics();
  }
}

const { logger, metrics } = createObservability(ServiceName.ShardProcessor);

let shared: { clients: AwsClients; liveGeneration: () => Promise<LiveGeneration> } | undefined;

/**
 * The Lambda entry point; clients are created once per container. The live table generation is
 * read at every invocation (one consistent GetItem): after a rebuild's switch, no invocation that
 * starts later writes the replaced generation.
 */
export async function handler(event: KinesisStreamEvent): Promise<BatchResponse> {
  if (shared === undefined) {
    const settings = loadSettings(process.env);
    const clients = createClients({ kind: 'aws', region: settings.region });
    shared = {
      clients,
      liveGeneration: liveGenerationResolver(clients.doc, resourceNames(settings, process.env)),
    };
  }
  const { names } = await shared.liveGeneration();
  const store = new DynamoShardStore(shared.clients.doc, names, { streamName: names.ordersStream });
  const outcome = await applyKinesisEvent(event, store, (message) => logger.error(message));
  publishInvocationMetrics(metrics, event, outcome);
  return outcome.response;
}
