/**
 * The dashboard's read model: every read it makes, each a DynamoDB Query or GetItem on the keys of
 * aggregates/keys.ts (never a Scan: a page view costs a few small Queries whatever the table's
 * size), or an S3 read of the nightly snapshot and the ingest reports.
 *
 * | figure | read |
 * |---|---|
 * | chain days of a range | Query `ALL`, sk BETWEEN `D#from` AND `D#to` |
 * | a location's days | Query `L#<id>`, same range |
 * | a location's first date | Query `L#<id>`, Limit 1 |
 * | the locations | Query `LOC` (aggregates), Query `ref#locations` (state: names) |
 * | holidays | Query `ref#calendar` (state) |
 * | shard lag, checkpoints | Query `shard#<stream>` (state) |
 * | poison records | Query `poison#<stream>`, Select COUNT (state) |
 * | nightly figures | S3: the newest manifest, then its run's CSV files |
 * | quarantine per file | S3: the ingest reports beside the raw files |
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import Papa from 'papaparse';
import { Attr, chainDayKey, KeyPrefix, locationTotalsKey } from '../../aggregates/keys.js';
import { type AggregateItem, dayFigures } from '../../aggregates/mart-input.js';
import type { LocationDay } from '../../aggregates/marts/input.js';
import type { IngestReport } from '../../ingest/report.js';
import { StateKey } from '../../ingest/state.js';
import type { ResourceNames } from '../../shared/resources.js';
import type { CalendarDay, LocationConfig } from '../../shared/schemas/input.js';
import { readManifest, readSnapshotFile, type SnapshotManifest } from '../compaction/snapshot.js';
import { DynamoShardStore, type ShardStateItem } from '../shard/dynamo-store.js';
import { ReadModelError, ReadSource } from './errors.js';

/** One day of a location (or of the chain): the totals and breakdowns of its day item. */
export type DayFigures = Omit<LocationDay, 'locationId'>;

/** A location's all-time totals (the `LOC` item) and its display name. */
export interface LocationTotals {
  readonly locationId: string;
  readonly name: string;
  readonly orders: number;
  readonly netCents: number;
}

/** The newest snapshot's manifest and its marts as CSV records (header → cell text). */
export interface SnapshotTables {
  readonly manifest: SnapshotManifest;
  readonly customerMetrics: readonly Readonly<Record<string, string>>[];
  readonly loyaltyImpact: readonly Readonly<Record<string, string>>[];
  readonly discountBeforeAfter: readonly Readonly<Record<string, string>>[];
}

/** What the read model needs: the clients, created once at the edge, and the resource names. */
export interface ReadModelDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly names: ResourceNames;
}

type Item = Record<string, unknown>;

const MANIFEST_PREFIX = 'marts/_manifests/snapshot_date=';
const MANIFEST_KEY = /^marts\/_manifests\/snapshot_date=(\d{4}-\d{2}-\d{2})\.json$/;
const REPORT_SUFFIX = '.ingest-report.json';
/** Reports read per ops view at most: the newest files matter to ops, and the read stays bounded. */
const MAX_REPORTS = 500;

function numberAt(item: Item, name: string): number {
  const value = item[name];
  return typeof value === 'number' ? value : 0;
}

/** A location-day or chain-day item as figures (the attribute layout of aggregates/keys.ts). */
export function decodeDayItem(item: Item): DayFigures {
  return dayFigures(item as AggregateItem);
}

/** Parses CSV text with a header into records; a formula-guarded text cell loses its `'`. */
export function parseCsvRecords(text: string): Record<string, string>[] {
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true });
  return parsed.data.map((record) => {
    const clean: Record<string, string> = {};
    for (const [name, value] of Object.entries(record)) {
      clean[name] = /^'[=+\-@]/.test(value) ? value.slice(1) : value;
    }
    return clean;
  });
}

/**
 * Reads the aggregates, pipeline state and snapshots for the dashboard. Holds small caches of what
 * changes only nightly or per file (snapshot marts by run, ingest reports by ETag).
 */
export class ReadModel {
  private readonly snapshotCache = new Map<string, SnapshotTables>();
  private readonly reportCache = new Map<string, IngestReport>();

  constructor(private readonly deps: ReadModelDeps) {}

  private async dynamo<T>(operation: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      throw new ReadModelError(ReadSource.DynamoDb, operation, { cause: error });
    }
  }

  private async s3<T>(operation: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      throw new ReadModelError(ReadSource.S3, operation, { cause: error });
    }
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.deps.doc.send(
        new QueryCommand({ ...input, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /** Days of `ALL` (locationId null) or of one location, from `from` to `to` inclusive. */
  async days(locationId: string | null, from: string, to: string): Promise<DayFigures[]> {
    const pk = locationId === null ? chainDayKey(from).pk : `${KeyPrefix.Location}${locationId}`;
    const items = await this.dynamo(`Query ${pk} ${from}…${to}`, () =>
      this.queryAll({
        TableName: this.deps.names.aggregatesTable,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':from': `${KeyPrefix.Day}${from}`,
          ':to': `${KeyPrefix.Day}${to}`,
        },
      }),
    );
    return items.map(decodeDayItem).filter((day) => day.orders !== 0);
  }

  /** The first (or last) local date with a day item of `ALL` or of a location; null when none. */
  async edgeDate(locationId: string | null, edge: 'first' | 'last'): Promise<string | null> {
    const pk = locationId === null ? chainDayKey('').pk : `${KeyPrefix.Location}${locationId}`;
    const response = await this.dynamo(`Query ${pk} ${edge} day`, () =>
      this.deps.doc.send(
        new QueryCommand({
          TableName: this.deps.names.aggregatesTable,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :day)',
          ExpressionAttributeValues: { ':pk': pk, ':day': KeyPrefix.Day },
          ScanIndexForward: edge === 'first',
          Limit: 1,
        }),
      ),
    );
    const sk = response.Items?.[0]?.['sk'];
    return typeof sk === 'string' ? sk.slice(KeyPrefix.Day.length) : null;
  }

  /** Every location with orders, named from the locations file when it named them. */
  async locations(): Promise<LocationTotals[]> {
    const [totals, configs] = await Promise.all([
      this.dynamo('Query LOC', () =>
        this.queryAll({
          TableName: this.deps.names.aggregatesTable,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': locationTotalsKey('').pk },
        }),
      ),
      this.locationConfigs(),
    ]);
    return totals
      .map((item) => {
        const locationId = String(item['sk']);
        return {
          locationId,
          name: configs.get(locationId)?.name ?? locationId,
          orders: numberAt(item, Attr.orders),
          netCents: numberAt(item, Attr.netCents),
        };
      })
      .filter((location) => location.orders !== 0);
  }

  /** The locations file's rows seen by the poller, by RESTAURANT_ID. */
  async locationConfigs(): Promise<Map<string, LocationConfig>> {
    const items = await this.dynamo(`Query ${StateKey.Locations}`, () =>
      this.queryAll({
        TableName: this.deps.names.stateTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': StateKey.Locations },
      }),
    );
    return new Map(items.map((item) => [String(item['sk']), item['location'] as LocationConfig]));
  }

  /** Holidays of the calendar (date_dim) between two dates. */
  async holidays(from: string, to: string): Promise<{ date: string; name: string }[]> {
    const items = await this.dynamo(`Query ${StateKey.Calendar}`, () =>
      this.queryAll({
        TableName: this.deps.names.stateTable,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': StateKey.Calendar, ':from': from, ':to': to },
      }),
    );
    return items
      .map((item) => item['day'] as CalendarDay)
      .filter((day) => day.isHoliday)
      .map((day) => ({ date: day.date, name: day.holidayName ?? 'Holiday' }))
      .sort((a, b) => (a.date < b.date ? -1 : 1));
  }

  /** Every shard's checkpoint and status item. */
  async shardStates(): Promise<ShardStateItem[]> {
    const store = new DynamoShardStore(this.deps.doc, this.deps.names, {
      streamName: this.deps.names.ordersStream,
    });
    const states = await this.dynamo(`Query shard#${this.deps.names.ordersStream}`, () =>
      store.listShardStates(),
    );
    return states.sort((a, b) => (a.shardId < b.shardId ? -1 : 1));
  }

  /** Records the processors could not decode and set aside. */
  async poisonRecordCount(): Promise<number> {
    const pk = `poison#${this.deps.names.ordersStream}`;
    return this.dynamo(`Query ${pk}`, async () => {
      let count = 0;
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.deps.doc.send(
          new QueryCommand({
            TableName: this.deps.names.stateTable,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            Select: 'COUNT',
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
        count += page.Count ?? 0;
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      return count;
    });
  }

  /** The snapshot dates whose manifest exists, oldest first. */
  async snapshotDates(): Promise<string[]> {
    const dates: string[] = [];
    await this.s3('ListObjectsV2 marts/_manifests/', async () => {
      let token: string | undefined;
      do {
        const page = await this.deps.s3.send(
          new ListObjectsV2Command({
            Bucket: this.deps.names.martsBucket,
            Prefix: MANIFEST_PREFIX,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        for (const object of page.Contents ?? []) {
          const date = MANIFEST_KEY.exec(object.Key ?? '')?.[1];
          if (date !== undefined) dates.push(date);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    });
    return dates.sort();
  }

  /**
   * The newest snapshot on or before `onOrBefore` (any date when null), with the marts the
   * nightly views read; null when there is none.
   */
  async snapshot(onOrBefore: string | null): Promise<SnapshotTables | null> {
    const dates = await this.snapshotDates();
    const date = [...dates].reverse().find((candidate) => onOrBefore === null || candidate <= onOrBefore);
    if (date === undefined) return null;
    const location = { s3: this.deps.s3, bucket: this.deps.names.martsBucket, asOf: date };
    const manifest = await this.s3(`manifest ${date}`, () => readManifest(location));
    if (manifest === null) return null;
    const cacheKey = `${date}/${manifest.runId}`;
    const cached = this.snapshotCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const table = async (mart: 'customer_metrics' | 'loyalty_impact' | 'discount_before_after') =>
      parseCsvRecords(
        Buffer.from(
          await this.s3(`${mart} of ${date}`, () => readSnapshotFile(location, mart, 'csv')),
        ).toString('utf8'),
      );
    const [customerMetrics, loyaltyImpact, discountBeforeAfter] = await Promise.all([
      table('customer_metrics'),
      table('loyalty_impact'),
      table('discount_before_after'),
    ]);
    const tables = { manifest, customerMetrics, loyaltyImpact, discountBeforeAfter };
    // One run per date is current; older runs are not read again.
    for (const key of this.snapshotCache.keys())
      if (key.startsWith(`${date}/`)) this.snapshotCache.delete(key);
    if (this.snapshotCache.size > 8) this.snapshotCache.clear();
    this.snapshotCache.set(cacheKey, tables);
    return tables;
  }

  /** The newest ingest reports (by arrival), read from beside the raw files; unchanged ones from cache. */
  async ingestReports(): Promise<IngestReport[]> {
    const objects: { key: string; etag: string }[] = [];
    await this.s3('ListObjectsV2 raw/', async () => {
      let token: string | undefined;
      do {
        const page = await this.deps.s3.send(
          new ListObjectsV2Command({
            Bucket: this.deps.names.rawBucket,
            Prefix: 'raw/',
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key?.endsWith(REPORT_SUFFIX)) objects.push({ key: object.Key, etag: object.ETag ?? '' });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    });
    const reports: IngestReport[] = [];
    const queue = [...objects];
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const cacheKey = `${next.key}\u0000${next.etag}`;
        let report = this.reportCache.get(cacheKey);
        if (report === undefined) {
          const key = next.key;
          const response = await this.s3(`GetObject ${key}`, () =>
            this.deps.s3.send(new GetObjectCommand({ Bucket: this.deps.names.rawBucket, Key: key })),
          );
          report = JSON.parse((await response.Body?.transformToString('utf-8')) ?? '{}') as IngestReport;
          if (this.reportCache.size > 10 * MAX_REPORTS) this.reportCache.clear();
          this.reportCache.set(cacheKey, report);
        }
        reports.push(report);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return reports
      .sort((a, b) => (b.arrivalSeq ?? 0) - (a.arrivalSeq ?? 0) || (a.path < b.path ? -1 : 1))
      .slice(0, MAX_REPORTS);
  }
}
