/**
 * The compaction job: read the aggregates (a parallel Scan, the only Scan of the product), compute
 * every mart for an `as_of` date and publish it as an S3 snapshot whose manifest is written last.
 * The same code runs from the CLI, from `tillstream run` and from the nightly Lambda.
 */
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { customerProfileKey, KeyPrefix } from '../../aggregates/keys.js';
import { type AggregateItem, itemsToMartInput } from '../../aggregates/mart-input.js';
import {
  computeMarts,
  defaultMartSettings,
  type Holiday,
  type MartSettings,
  type Marts,
} from '../../aggregates/marts/index.js';
import { addDays, toLocalTime } from '../../aggregates/time.js';
import { PollerState } from '../../ingest/state.js';
import type { ResourceNames } from '../../shared/resources.js';
import { DynamoShardStore } from '../shard/dynamo-store.js';
import { WriteBackMode, type WriteBackOptions, writeBackProfiles } from './profiles.js';
import {
  type CompactionHook,
  readManifest,
  type SnapshotCheckpoint,
  type SnapshotManifest,
  writeSnapshot,
} from './snapshot.js';

export interface CompactionClients {
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
}

export interface CompactionOptions {
  /** The snapshot date `YYYY-MM-DD`: only orders whose local date is on or before it count. */
  readonly asOf: string;
  /** Parallel Scan segments. @default 4 */
  readonly scanSegments?: number;
  readonly martSettings?: MartSettings;
  /** Written into the manifest. */
  readonly codeVersion: string;
  /** @default a time-ordered unique id */
  readonly runId?: string;
  readonly log?: (message: string) => void;
  /** Write tiers, segments and churn flags back to customer profile items. @default true */
  readonly writeBackProfiles?: boolean;
  /** How profiles are written back: the lease's duration and wait, requests in flight. */
  readonly profiles?: Omit<WriteBackOptions, 'onStep'>;
  /** Called with the number of items read so far during the scan. */
  readonly onScanProgress?: (itemsRead: number) => void;
  /** Fault-injection seam: called after each step of the snapshot write and profile write-back. */
  readonly onStep?: CompactionHook;
}

export interface CompactionResult {
  readonly manifest: SnapshotManifest;
  readonly marts: Marts;
  readonly itemsScanned: number;
  readonly customers: number;
  /** Scan, mart computation, snapshot write (profiles written back after it are not included). */
  readonly timingsMs: { readonly scan: number; readonly compute: number; readonly write: number };
}

/** `as_of` by default: yesterday in the chain's zone (CONTRACT.md §2). */
export function defaultAsOf(nowMs: number, chainTimeZone: string): string {
  return addDays(toLocalTime(nowMs, chainTimeZone).localDate, -1);
}

/** A run id that sorts by time and never repeats: `20260125T031500Z-1a2b3c4d`. */
export function newRunId(nowMs: number = Date.now()): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomUUID().slice(0, 8)}`;
}

/** Every shard's checkpoint, read before the scan so the manifest says what the snapshot includes. */
export async function readCheckpoints(
  doc: DynamoDBDocumentClient,
  names: ResourceNames,
): Promise<SnapshotCheckpoint[]> {
  const shards = await new DynamoShardStore(doc, names, { streamName: names.ordersStream }).listShardStates();
  return shards
    .map((shard) => ({ shardId: shard.shardId, sequenceNumber: shard.checkpoint ?? null }))
    .sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0));
}

/** The holidays of every calendar (date_dim) file ingested so far. */
export async function readHolidays(doc: DynamoDBDocumentClient, names: ResourceNames): Promise<Holiday[]> {
  const calendar = await new PollerState(doc, names.stateTable).calendar();
  return calendar.filter((day) => day.isHoliday).map((day) => ({ date: day.date, name: day.holidayName }));
}

/** What the compaction reads: the marts' items, and the written-back profiles by customer id. */
export interface ScannedAggregates {
  readonly items: AggregateItem[];
  readonly profiles: Map<string, Readonly<Record<string, unknown>>>;
}

/**
 * Reads every customer-month, location-day and customer-profile item with a parallel Scan.
 * Location totals and chain days are sums of location days, so they are filtered out server-side
 * to save transfer.
 */
export async function scanAggregates(
  doc: DynamoDBDocumentClient,
  names: ResourceNames,
  segments: number,
  onProgress?: (itemsRead: number) => void,
): Promise<ScannedAggregates> {
  if (!Number.isInteger(segments) || segments < 1 || segments > 1000) {
    throw new RangeError(`scanSegments must be an integer in 1…1000 (given ${segments})`);
  }
  const items: AggregateItem[] = [];
  const profiles = new Map<string, Readonly<Record<string, unknown>>>();
  const profileKey = customerProfileKey('');
  const scanSegment = async (segment: number): Promise<void> => {
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await doc.send(
        new ScanCommand({
          TableName: names.aggregatesTable,
          Segment: segment,
          TotalSegments: segments,
          ExclusiveStartKey: startKey,
          FilterExpression:
            '(begins_with(pk, :customer) AND (begins_with(sk, :month) OR sk = :profile)) OR (begins_with(pk, :location) AND begins_with(sk, :day))',
          ExpressionAttributeValues: {
            ':customer': KeyPrefix.Customer,
            ':month': KeyPrefix.CustomerMonth,
            ':location': KeyPrefix.Location,
            ':day': KeyPrefix.Day,
            ':profile': profileKey.sk,
          },
        }),
      );
      for (const item of response.Items ?? []) {
        if (item['sk'] === profileKey.sk) profiles.set(String(item['pk']).slice(profileKey.pk.length), item);
        else items.push(item as AggregateItem);
      }
      onProgress?.(items.length + profiles.size);
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
  };
  await Promise.all(Array.from({ length: segments }, (_, segment) => scanSegment(segment)));
  return { items, profiles };
}

/**
 * Computes and publishes the snapshot of one `as_of` date. A rerun publishes a new run and
 * switches the manifest to it; readers never see a half-written snapshot.
 *
 * @example
 * const { manifest } = await runCompaction(clients, names, { asOf: '2023-08-31', codeVersion: '0.1.0' });
 */
export async function runCompaction(
  clients: CompactionClients,
  names: ResourceNames,
  options: CompactionOptions,
): Promise<CompactionResult> {
  const log = options.log ?? (() => {});
  const checkpoints = await readCheckpoints(clients.doc, names);
  const started = performance.now();
  const { items, profiles } = await scanAggregates(
    clients.doc,
    names,
    options.scanSegments ?? 4,
    options.onScanProgress,
  );
  const holidays = await readHolidays(clients.doc, names);
  const scanned = performance.now();
  log(`scanned ${items.length} aggregate items in ${Math.round(scanned - started)} ms`);

  const { customers, locationDays } = itemsToMartInput(items);
  const marts = computeMarts(
    { asOf: options.asOf, customers, locationDays, holidays },
    options.martSettings ?? defaultMartSettings,
  );
  const computed = performance.now();
  // The customers of the snapshot: those with an order by as_of (the items may hold later ones).
  const inSnapshot = marts.customer_metrics.rowCount;
  const later = customers.length - inSnapshot;
  log(
    `computed the marts of ${options.asOf} for ${inSnapshot} customers` +
      (later > 0 ? ` (${later} more first ordered after ${options.asOf})` : '') +
      ` in ${Math.round(computed - scanned)} ms`,
  );

  const manifest = await writeSnapshot({
    s3: clients.s3,
    bucket: names.martsBucket,
    asOf: options.asOf,
    runId: options.runId ?? newRunId(),
    marts,
    checkpoints,
    codeVersion: options.codeVersion,
    ...(options.onStep ? { onStep: options.onStep } : {}),
  });
  const written = performance.now();
  log(`published snapshot ${options.asOf} run ${manifest.runId} in ${Math.round(written - computed)} ms`);
  if (options.writeBackProfiles ?? true) {
    const profileResult = await writeBackProfiles(
      clients.doc,
      names,
      marts.customer_metrics,
      options.asOf,
      profiles,
      { ...options.profiles, ...(options.onStep ? { onStep: options.onStep } : {}) },
    );
    log(
      `customer profiles: ${profileResult.written} written, ${profileResult.unchanged} unchanged, ` +
        `${profileResult.newer} kept from a newer snapshot` +
        (profileResult.mode === WriteBackMode.None ? '' : ` (${profileResult.mode} puts)`) +
        ` in ${Math.round(performance.now() - written)} ms`,
    );
  }
  return {
    manifest,
    marts,
    itemsScanned: items.length,
    customers: customers.length,
    timingsMs: { scan: scanned - started, compute: computed - scanned, write: written - computed },
  };
}

export interface NightlyOptions extends Omit<CompactionOptions, 'asOf' | 'runId'> {
  /** Epoch ms now; `as_of` is yesterday in the chain's zone. */
  readonly nowMs: number;
  readonly chainTimeZone: string;
  /**
   * How many earlier snapshots a late file may restate: each of the `restateDays` dates before
   * `as_of` that has a snapshot is rebuilt when the stream has moved since it was built.
   * @default 7
   */
  readonly restateDays?: number;
}

export interface NightlyResult {
  readonly asOf: string;
  /** Every snapshot published this night, `as_of` first. */
  readonly published: readonly SnapshotManifest[];
  /** Earlier snapshots left as they were: nothing was processed since they were built. */
  readonly unchanged: readonly string[];
}

const sameCheckpoints = (a: readonly SnapshotCheckpoint[], b: readonly SnapshotCheckpoint[]): boolean =>
  a.length === b.length &&
  a.every((checkpoint, index) => {
    const other = b[index];
    return (
      other !== undefined &&
      other.shardId === checkpoint.shardId &&
      other.sequenceNumber === checkpoint.sequenceNumber
    );
  });

/**
 * The nightly run: the snapshot of yesterday, then the recent snapshots that late data may have
 * restated. A snapshot whose manifest records the current checkpoints saw everything processed
 * since and is left alone; any other within `restateDays` is rebuilt (a rerun switches its
 * manifest), because a late file restates past days and every snapshot on or after them.
 */
export async function runNightly(
  clients: CompactionClients,
  names: ResourceNames,
  options: NightlyOptions,
): Promise<NightlyResult> {
  const asOf = defaultAsOf(options.nowMs, options.chainTimeZone);
  const restateDays = options.restateDays ?? 7;
  const current = await readCheckpoints(clients.doc, names);
  const published: SnapshotManifest[] = [];
  const unchanged: string[] = [];
  published.push((await runCompaction(clients, names, { ...options, asOf })).manifest);
  for (let back = 1; back <= restateDays; back++) {
    const date = addDays(asOf, -back);
    const manifest = await readManifest({ s3: clients.s3, bucket: names.martsBucket, asOf: date });
    if (manifest === null) continue;
    if (sameCheckpoints(manifest.checkpoints, current)) {
      unchanged.push(date);
      continue;
    }
    published.push((await runCompaction(clients, names, { ...options, asOf: date })).manifest);
  }
  return { asOf, published, unchanged };
}
