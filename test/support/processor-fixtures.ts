/**
 * Helpers of the shard processor's integration tests: records for the emulated stream, the stored
 * aggregates as the independent reference lays them out, resharding on kinesalite, and clients
 * that throttle a share of their requests.
 */
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { StreamRecord } from '../../ingest/producer.js';
import type { AwsClients } from '../../shared/aws/clients.js';
import { encodeOrderEvent, type OrderEvent } from '../../shared/schemas/order-event.js';
import { type ItemTable, normaliseTable } from '../unit/aggregates/reference.js';

/** Every item of a table, through all scan pages. */
export async function scanAll(clients: AwsClients, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await clients.doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

/** The aggregates table in the reference's layout (`pk|sk` → counters and labels). */
export async function storedTable(clients: AwsClients, table: string): Promise<ItemTable> {
  const items = await scanAll(clients, table);
  return normaliseTable(
    items.map((item): [string, Record<string, unknown>] => [`${item['pk']}|${item['sk']}`, item]),
  );
}

/** Stream records of events, keyed by order as the producer keys them. */
export function orderRecords(events: readonly OrderEvent[]): StreamRecord[] {
  return events.map((event) => ({ partitionKey: event.orderId, data: encodeOrderEvent(event) }));
}

/** Every 10th record (from the 4th): the 10% a producer retry delivers twice. */
export function everyTenth<T>(records: readonly T[]): T[] {
  return records.filter((_, index) => index % 10 === 3);
}

/** Every shard of the stream, open and closed. */
export async function listAllShards(kinesis: KinesisClient, streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kinesis.send(
      new ListShardsCommand(nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken }),
    );
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

const isOpen = (shard: Shard): boolean => shard.SequenceNumberRange?.EndingSequenceNumber === undefined;

async function waitUntilActive(
  kinesis: KinesisClient,
  streamName: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`stream ${streamName} not ACTIVE after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Splits every open shard at the midpoint of its hash key range, one split at a time (a stream
 * takes one reshard while ACTIVE), and returns the shard ids of the parents that were split.
 */
export async function splitEveryOpenShard(kinesis: KinesisClient, streamName: string): Promise<string[]> {
  const parents = (await listAllShards(kinesis, streamName)).filter(isOpen);
  for (const parent of parents) {
    await waitUntilActive(kinesis, streamName);
    const start = BigInt(parent.HashKeyRange?.StartingHashKey ?? '0');
    const end = BigInt(parent.HashKeyRange?.EndingHashKey ?? '0');
    await kinesis.send(
      new SplitShardCommand({
        StreamName: streamName,
        ShardToSplit: parent.ShardId,
        NewStartingHashKey: ((start + end + 1n) / 2n).toString(),
      }),
    );
  }
  await waitUntilActive(kinesis, streamName);
  return parents.map((parent) => parent.ShardId ?? '');
}

/** The sequence number of the last record of each shard that holds any (read from TRIM_HORIZON). */
export async function lastSequences(
  kinesis: KinesisClient,
  streamName: string,
): Promise<Map<string, bigint>> {
  const last = new Map<string, bigint>();
  for (const shard of await listAllShards(kinesis, streamName)) {
    const shardId = shard.ShardId ?? '';
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator !== undefined) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) last.set(shardId, BigInt(record.SequenceNumber ?? '0'));
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return last;
}

/** A reproducible source of numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Requests and injected throttles per operation (`DynamoDB.UpdateItem`, `Kinesis.GetRecords`…). */
export interface ThrottleCounts {
  readonly attempts: Map<string, number>;
  readonly throttled: Map<string, number>;
}

/** The throttling error each service answers with, by operation. */
function throttlingName(service: 'DynamoDB' | 'Kinesis', operation: string, random: () => number): string {
  if (service === 'Kinesis')
    return operation === 'ListShards' ? 'LimitExceededException' : 'ProvisionedThroughputExceededException';
  return random() < 0.5 ? 'ProvisionedThroughputExceededException' : 'ThrottlingException';
}

/**
 * Makes `share` of the requests (a seeded draw per request) of the DynamoDB and Kinesis clients fail with the services'
 * throttling errors before they are sent. The middleware sits in the `initialize` step, ahead of
 * the SDK's retry, so every injected throttle reaches the caller.
 */
export function injectThrottling(clients: AwsClients, share: number, seed: number): ThrottleCounts {
  // One stream of draws per operation: which of its requests are throttled does not depend on
  // how the shards' requests interleave.
  const randoms = new Map<string, () => number>();
  const randomOf = (key: string) => {
    let random = randoms.get(key);
    if (random === undefined) {
      random = seededRandom(
        seed + [...key].reduce((hash, char) => Math.imul(hash, 31) + char.charCodeAt(0), 0),
      );
      randoms.set(key, random);
    }
    return random;
  };
  const counts: ThrottleCounts = { attempts: new Map(), throttled: new Map() };
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const wrap = (client: AwsClients['dynamo'] | AwsClients['kinesis'], service: 'DynamoDB' | 'Kinesis') =>
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        const key = `${service}.${operation}`;
        const random = randomOf(key);
        bump(counts.attempts, key);
        if (random() < share) {
          bump(counts.throttled, key);
          throw Object.assign(new Error(`injected throttle of ${key}`), {
            name: throttlingName(service, operation, random),
            $retryable: { throttling: true },
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectThrottling' },
    );
  wrap(clients.dynamo, 'DynamoDB');
  wrap(clients.kinesis, 'Kinesis');
  return counts;
}
