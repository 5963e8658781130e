/**
 * The local stack for ingest tests: emulators in a temporary directory, resources bootstrapped
 * under a unique prefix, and readers for what the poller wrote (stream records, S3 objects).
 */
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { createFolderSource } from '../../ingest/folder/source.js';
import { type PollDependencies, type PollResult, runPollCycle } from '../../ingest/poll.js';
import type { IngestReport } from '../../ingest/report.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import { defaults, type Settings } from '../../shared/config.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { type ResourceNames, resourceNames } from '../../shared/resources.js';
import { decodeOrderEvent, type OrderEvent } from '../../shared/schemas/order-event.js';

/** The contract's headers of the two order exports. */
export const ITEMS_HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
export const OPTIONS_HEADER =
  'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';

/** A fresh input folder, and `write` to drop a file into it with a given modified time. */
export async function inputFolder(): Promise<{
  readonly dir: string;
  write(name: string, content: string, modifiedMs: number): Promise<void>;
}> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-input-'));
  return {
    dir,
    async write(name, content, modifiedMs) {
      await writeFile(path.join(dir, name), content);
      await utimes(path.join(dir, name), new Date(modifiedMs), new Date(modifiedMs));
    },
  };
}

export interface IngestTestStack {
  readonly stack: LocalStack;
  readonly clients: AwsClients;
  readonly stateDir: string;
  /** A fresh set of resources (tables, stream, buckets) per call. */
  resources(settings?: Partial<Settings>): Promise<{ names: ResourceNames; settings: Settings }>;
  /**
   * One poll cycle over the folder `dir` with the clock stopped at `nowMs` and retries that do not
   * sleep; `clients` replaces the stack's own (a wrapped DocumentClient, say).
   */
  pollFolder(dir: string, cycle: FolderPoll): Promise<PollResult>;
  stop(): Promise<void>;
}

/** What `pollFolder` needs besides the folder. */
export interface FolderPoll extends Pick<PollDependencies, 'names' | 'settings' | 'onStep'> {
  readonly nowMs: number;
  readonly clients?: PollDependencies['clients'];
}

let counter = 0;

export async function startIngestStack(): Promise<IngestTestStack> {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'tillstream-ingest-'));
  const stack = await startLocalStack({ stateDir, fresh: true });
  const clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  return {
    stack,
    clients,
    stateDir,
    async resources(overrides: Partial<Settings> = {}) {
      const settings: Settings = {
        ...defaults,
        shardCount: 2,
        ...overrides,
        resourcePrefix: `t${process.pid}x${++counter}`,
      };
      const names = resourceNames(settings);
      await bootstrapLocalResources(stack.endpoints, names, { shardCount: settings.shardCount });
      return { names, settings };
    },
    pollFolder(dir, { nowMs, clients: replaced, ...cycle }) {
      return runPollCycle({
        ...cycle,
        clients: replaced ?? clients,
        source: createFolderSource(dir),
        clock: () => nowMs,
        backoff: { sleep: async () => {}, random: () => 0 },
      });
    },
    async stop() {
      clients.destroy();
      await stack.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * The stack of a `describe` block: started before its tests and stopped after them. Use it inside
 * the block; its members are read when a test runs.
 */
export function useIngestStack(): IngestTestStack {
  let started: IngestTestStack | undefined;
  beforeAll(async () => {
    started = await startIngestStack();
  });
  afterAll(async () => {
    await started?.stop();
  });
  const current = (): IngestTestStack => {
    if (started === undefined) throw new Error('the ingest stack is not started yet');
    return started;
  };
  return {
    get stack() {
      return current().stack;
    },
    get clients() {
      return current().clients;
    },
    get stateDir() {
      return current().stateDir;
    },
    resources: (settings) => current().resources(settings),
    pollFolder: (dir, cycle) => current().pollFolder(dir, cycle),
    stop: () => current().stop(),
  };
}

/** Every record on the stream, decoded, from every shard's start. */
export async function readStream(clients: AwsClients, streamName: string): Promise<OrderEvent[]> {
  const events: OrderEvent[] = [];
  const shards = await clients.kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  for (const shard of shards.Shards ?? []) {
    const iterator = await clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    let next = iterator.ShardIterator;
    while (next) {
      const page = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator: next, Limit: 10_000 }));
      for (const record of page.Records ?? [])
        events.push(decodeOrderEvent(record.Data!, record.SequenceNumber));
      if ((page.Records ?? []).length === 0) break;
      next = page.NextShardIterator;
    }
  }
  return events;
}

export async function listKeys(clients: AwsClients, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await clients.s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

export async function readObject(clients: AwsClients, bucket: string, key: string): Promise<Buffer> {
  const response = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

/** Every ingest report stored beside the raw files in `bucket`, in key order. */
export async function readReports(clients: AwsClients, bucket: string): Promise<IngestReport[]> {
  const keys = (await listKeys(clients, bucket)).filter((key) => key.endsWith('.ingest-report.json'));
  return Promise.all(
    keys.map(async (key) => JSON.parse((await readObject(clients, bucket, key)).toString()) as IngestReport),
  );
}

/** Accepted rows on the stream as `kind|order|line|…|file row` strings, one per row (replays collapse). */
export function streamRows(events: readonly OrderEvent[]): Set<string> {
  const rows = new Set<string>();
  for (const event of events) {
    for (const line of event.lines) {
      rows.add(`line|${event.orderId}|${line.lineItemId}|${line.unitPriceCents}x${line.quantity}`);
    }
    for (const option of event.options) {
      rows.add(
        `option|${event.orderId}|${option.lineItemId}|${option.groupName}|${option.optionName}|${option.priceCents}x${option.quantity}`,
      );
    }
  }
  return rows;
}
