/**
 * The shard processor as an AWS Lambda on a Kinesis event source mapping: the same flush as the
 * local runner, with the mapping keeping the checkpoint (the state table records the applied
 * position and the iterator age too, for `tillstream lag`). Partial batch responses
 * (`ReportBatchItemFailures`): on any failure the lowest sequence number of the batch is reported,
 * so the mapping retries from there (a replay the flush absorbs exactly); a failed batch is never
 * reported as a success. Poison records are kept in the state table and skipped. A failed
 * invocation records its error in the shard's status item (`FAILING` in `tillstream lag`) until
 * an invocation succeeds.
 */
import type { BatchRecord } from '../../aggregates/batch.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import { createObservability, MetricName, MetricUnit, ServiceName } from '../../shared/aws/powertools.js';
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

/** Processes one invocation's records (one shard's, in order) against `store`. */
export async function processKinesisEvent(
  event: KinesisStreamEvent,
  store: DynamoShardStore,
  log: (message: string) => void = console.error,
): Promise<BatchResponse> {
  if (event.Records.length === 0) return { batchItemFailures: [] };
  const lowest = event.Records.reduce((low, record) =>
    BigInt(record.kinesis.sequenceNumber) < BigInt(low.kinesis.sequenceNumber) ? record : low,
  ).kinesis.sequenceNumber;
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
    const ordersChanged = new Map<string, number>();
    for (const [shardId, records] of byShard) {
      const result = await flushBatch(store, shardId, records, { skipCheckpoint: true });
      ordersChanged.set(shardId, result.ordersChanged);
    }
    await recordProgress(event, ordersChanged, store, log);
    return { batchItemFailures: [] };
  } catch (error) {
    log(
      `batch from ${lowest} failed, to be retried: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    await recordFailure(event, error, store, log);
    return { batchItemFailures: [{ itemIdentifier: lowest }] };
  }
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
  event: KinesisStreamEvent,
  error: unknown,
  store: DynamoShardStore,
  log: (message: string) => void,
): Promise<void> {
  const errorAt = Date.now();
  for (const shardId of shardsOf(event)) {
    const age = iteratorAgeMs(recordsOf(event, shardId), errorAt);
    try {
      await store.saveShardStatus(shardId, {
        error: String(error),
        errorAt,
        ...(age === undefined ? {} : { iteratorAgeMs: age }),
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
  ordersChangedByShard: ReadonlyMap<string, number>,
  store: DynamoShardStore,
  log: (message: string) => void,
): Promise<void> {
  const now = Date.now();
  // Every shard of the invocation, up to its last record: poison records (kept aside) included.
  // A status without an error clears the one a failed invocation recorded.
  for (const shardId of shardsOf(event)) {
    const records = recordsOf(event, shardId);
    // BigInt: Math.max takes no sequence number.
    let last = 0n;
    for (const record of records) {
      const sequence = BigInt(record.kinesis.sequenceNumber);
      if (sequence > last) last = sequence;
    }
    const lastSequence = last.toString();
    const ordersChanged = ordersChangedByShard.get(shardId) ?? 0;
    const age = iteratorAgeMs(records, now);
    const since = lastProgress.get(shardId);
    const seconds = since === undefined ? undefined : Math.max(now - since, 1_000) / 1000;
    lastProgress.set(shardId, now);
    try {
      await store.saveProgress(shardId, lastSequence, {
        ...(age === undefined ? {} : { iteratorAgeMs: age }),
        ...(seconds === undefined
          ? {}
          : {
              recordsPerSecond: Math.round(records.length / seconds),
              ordersPerSecond: Math.round(ordersChanged / seconds),
            }),
      });
    } catch (error) {
      log(`shard ${shardId}: progress not recorded: ${String(error)}`);
    }
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
  const response = await processKinesisEvent(event, store, (message) => logger.error(message));
  metrics.addMetric(MetricName.RecordsProcessed, MetricUnit.Count, event.Records.length);
  metrics.addMetric(
    MetricName.BatchesFailed,
    MetricUnit.Count,
    response.batchItemFailures.length > 0 ? 1 : 0,
  );
  metrics.publishStoredMetrics();
  return response;
}
