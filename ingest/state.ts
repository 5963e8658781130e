/**
 * The poller's state in the DynamoDB `state` table (keys `pk`/`sk`, every poller item under an
 * `ingest#` partition, reference data under `ref#`): the arrival sequence, each file's last seen
 * version, each landed version and whether it is finished, content hashes already ingested, options
 * waiting for their line item, the Drive changes token, and the locations and calendar seen so far.
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CalendarDay, LineOption, LocationConfig } from '../shared/schemas/input.js';
import { boundedKey, type IdentityKey, MAX_SORT_KEY_BYTES, type RowClaimant } from './identity.js';
import type { RequeueOutcome } from './report.js';
import { sleepMs } from './retry.js';

export const StateKey = {
  Sequence: { pk: 'ingest#sequence', sk: 'arrival' },
  Unfinished: 'ingest#unfinished',
  Pending: 'ingest#pending',
  Locations: 'ref#locations',
  Calendar: 'ref#calendar',
  /** One item per location × local date a file brought accepted orders for: sk `<date>#<location>`. */
  Arrivals: 'ingest#arrivals',
  /** One item per location that ever uploaded, with its first local date: sk `<location>`. */
  ArrivalLocations: 'ingest#arrival-locations',
  /** The last poll cycle: when it ended and what it did. */
  LastPoll: { pk: 'ingest#poll', sk: 'last' },
  /** Days a location (or `ALL`, every location) is closed, so no upload is expected: sk `<location>#<from>`. */
  Closures: 'ref#closures',
} as const;

const filePartition = (fileKey: string): string => `ingest#file#${fileKey}`;
const contentPartition = (contentHash: string): string => `ingest#content#${contentHash}`;

/** The last version of a file the poller finished (or skipped): a listing with the same tag is not read. */
export interface FileHead {
  readonly versionTag: string;
  readonly contentHash: string | null;
}

/** A landed file version: its place in the arrival order and where its raw copy and report are. */
export interface LandedVersion {
  readonly sourceName: 'folder' | 'drive';
  /** `<source>:<file id>` */
  readonly fileKey: string;
  readonly fileId: string;
  readonly path: string;
  readonly name: string;
  readonly contentHash: string;
  readonly sizeBytes: number;
  readonly modifiedMs: number;
  readonly arrivalSeq: number;
  readonly arrivedAtMs: number;
  readonly rawKey: string;
  readonly reportKey: string;
  /** The kind its header suggests: reference files (locations, calendar) are taken first in a poll. */
  readonly kindHint: string | null;
  /** The source's version tag when landed: the file's head once the version is finished. */
  readonly versionTag?: string;
  /**
   * Put back on the unfinished list by `retract` after it was finished: the next read replaces
   * its report and quarantine (ingest/reread.ts). Not kept once the version is finished again.
   */
  readonly reread?: boolean;
}

/** An option waiting for its line item. */
export interface PendingOption {
  readonly key: IdentityKey;
  readonly option: LineOption;
  readonly claimant: RowClaimant;
  readonly file: string;
  readonly path: string;
  readonly arrivalSeq: number;
  /** The option's file arrival: the grace period runs from here. */
  readonly arrivedAtMs: number;
  readonly reportKey: string;
  readonly quarantinePrefix: string;
  /** The options file's header, for the quarantine record. */
  readonly headerLine: string;
  readonly raw: string;
}

/** The end of a poll cycle, for `tillstream status`. */
export interface PollRecord {
  readonly endedAtMs: number;
  readonly files: number;
  readonly recordsPut: number;
  /** Files the source could not be read this time (retried next cycle). */
  readonly errors: readonly { readonly path: string; readonly message: string }[];
}

/** A location (or `ALL`, every location) closed from `from` to `to` (local dates, both included). */
export interface ClosureRecord {
  readonly locationId: string;
  readonly from: string;
  readonly to: string;
  readonly note?: string;
  readonly createdAt: string;
}

/** The state table, bound to one client and table. */
export class PollerState {
  /** Each uploading location's first local date, loaded on the first `recordArrivals`. */
  private firstDates: Map<string, string> | undefined;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const response = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }),
    );
    return response.Item;
  }

  private async put(item: Record<string, unknown>): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  private async delete(pk: string, sk: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk } }));
  }

  async queryAll(pk: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const page of this.queryPages(pk)) items.push(...page);
    return items;
  }

  /**
   * The items of `pk` a page at a time (consistent reads; `pageSize` items at most, or DynamoDB's
   * 1 MB). Paging resumes after the previous page's last key, so the caller may delete a page's
   * items before asking for the next.
   */
  private async *queryPages(pk: string, pageSize?: number): AsyncGenerator<Record<string, unknown>[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ...(pageSize === undefined ? {} : { Limit: pageSize }),
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      const items = response.Items ?? [];
      if (items.length > 0) yield items;
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** The next arrival sequence number (1, 2, …); a crash may leave gaps, never repeats. */
  async nextArrivalSeq(): Promise<number> {
    const response = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: StateKey.Sequence,
        UpdateExpression: 'ADD #next :one',
        ExpressionAttributeNames: { '#next': 'next' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(response.Attributes?.['next']);
  }

  async fileHead(fileKey: string): Promise<FileHead | undefined> {
    const item = await this.get(filePartition(fileKey), 'head');
    if (item === undefined) return undefined;
    return {
      versionTag: String(item['versionTag']),
      contentHash: (item['contentHash'] as string | null) ?? null,
    };
  }

  async setFileHead(fileKey: string, head: FileHead, path: string): Promise<void> {
    await this.put({ pk: filePartition(fileKey), sk: 'head', ...head, path });
  }

  /** The landed version of a file with this content, and whether it is finished. */
  async version(
    fileKey: string,
    contentHash: string,
  ): Promise<{ done: boolean; version: LandedVersion } | undefined> {
    const item = await this.get(filePartition(fileKey), `v#${contentHash}`);
    if (item === undefined) return undefined;
    return { done: item['status'] === 'done', version: item['version'] as LandedVersion };
  }

  /** Records a landed version as unfinished: the next poll resumes it from its raw copy. */
  async registerLanded(version: LandedVersion): Promise<void> {
    await this.put({
      pk: filePartition(version.fileKey),
      sk: `v#${version.contentHash}`,
      status: 'landed',
      version,
    });
    await this.put({ pk: StateKey.Unfinished, sk: sequenceKey(version.arrivalSeq), version });
  }

  async unfinished(): Promise<LandedVersion[]> {
    const items = await this.queryAll(StateKey.Unfinished);
    return items.map((item) => item['version'] as LandedVersion).sort((a, b) => a.arrivalSeq - b.arrivalSeq);
  }

  /** Marks a version finished: content known, head advanced, no longer unfinished. */
  async finish(read: LandedVersion, versionTag: string | null): Promise<void> {
    const { reread: _reread, ...version } = read;
    await this.put({
      pk: filePartition(version.fileKey),
      sk: `v#${version.contentHash}`,
      status: 'done',
      version,
    });
    await this.markContent(version);
    if (versionTag !== null) {
      await this.setFileHead(version.fileKey, { versionTag, contentHash: version.contentHash }, version.path);
    }
    await this.delete(StateKey.Unfinished, sequenceKey(version.arrivalSeq));
  }

  async markContent(version: LandedVersion): Promise<void> {
    await this.doc
      .send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: contentPartition(version.contentHash), sk: 'content', version },
          // The first file with this content stays the one later copies point to.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((error: unknown) => {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      });
  }

  /** The first finished version that had this content. */
  async contentSeen(contentHash: string): Promise<LandedVersion | undefined> {
    const item = await this.get(contentPartition(contentHash), 'content');
    return item === undefined ? undefined : (item['version'] as LandedVersion);
  }

  async putPending(pending: PendingOption): Promise<void> {
    await this.doc
      .send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: StateKey.Pending, sk: pendingSortKey(pending.key), pending },
          // A re-run after a crash must not restart the grace period.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((error: unknown) => {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      });
  }

  /**
   * Records many waiting options; one already waiting keeps its entry (and so its grace period).
   * Relies on the poller being the single writer of its state (see `ledger.ts`): a consistent
   * read, then unconditional batch writes of the absent keys.
   */
  async putPendingMany(pending: readonly PendingOption[]): Promise<void> {
    if (pending.length === 0) return;
    const keys = [...new Set(pending.map((entry) => pendingSortKey(entry.key)))];
    const existing = await this.existingSortKeys(StateKey.Pending, keys);
    await this.batchPut(
      pending
        .filter((entry) => !existing.has(pendingSortKey(entry.key)))
        .map((entry) => ({ pk: StateKey.Pending, sk: pendingSortKey(entry.key), pending: entry })),
    );
  }

  /** Deletes many waiting options (absent ones are ignored). */
  async deletePendingMany(keys: readonly IdentityKey[]): Promise<void> {
    const unique = [...new Set(keys.map(pendingSortKey))];
    for (let start = 0; start < unique.length; start += 25) {
      let requests: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string] =
        unique
          .slice(start, start + 25)
          .map((sk) => ({ DeleteRequest: { Key: { pk: StateKey.Pending, sk } } }));
      for (let attempt = 1; requests.length > 0; attempt++) {
        const response = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = response.UnprocessedItems?.[this.tableName] ?? [];
        if (requests.length > 0) await sleepMs(Math.min(2000, 25 * 2 ** attempt));
      }
    }
  }

  /**
   * The waiting options a page at a time (consistent reads). The caller may delete the entries of
   * a page before asking for the next: paging resumes after the page's last key.
   */
  async *pendingOptionPages(pageSize: number): AsyncGenerator<PendingOption[]> {
    for await (const page of this.queryPages(StateKey.Pending, pageSize)) {
      yield page.map((item) => item['pending'] as PendingOption);
    }
  }

  async pendingOptions(): Promise<PendingOption[]> {
    const items = await this.queryAll(StateKey.Pending);
    return items.map((item) => item['pending'] as PendingOption);
  }

  async deletePending(key: IdentityKey): Promise<void> {
    await this.delete(StateKey.Pending, pendingSortKey(key));
  }

  async changeToken(location: string): Promise<string | null> {
    const item = await this.get(`ingest#drive#${location}`, 'changes');
    return (item?.['token'] as string | undefined) ?? null;
  }

  async saveChangeToken(location: string, token: string): Promise<void> {
    await this.put({ pk: `ingest#drive#${location}`, sk: 'changes', token });
  }

  /** The locations seen so far, by RESTAURANT_ID. */
  async locations(): Promise<Map<string, LocationConfig>> {
    const items = await this.queryAll(StateKey.Locations);
    return new Map(items.map((item) => [String(item['sk']), item['location'] as LocationConfig]));
  }

  async putLocations(locations: readonly LocationConfig[]): Promise<void> {
    await this.batchPut(
      locations.map((location) => ({ pk: StateKey.Locations, sk: location.restaurantId, location })),
    );
  }

  /** The calendar (date_dim) days seen so far, for the marts. */
  async calendar(): Promise<CalendarDay[]> {
    const items = await this.queryAll(StateKey.Calendar);
    return items.map((item) => item['day'] as CalendarDay);
  }

  async putCalendar(days: readonly CalendarDay[]): Promise<void> {
    await this.batchPut(days.map((day) => ({ pk: StateKey.Calendar, sk: day.date, day })));
  }

  /**
   * Records the local dates a file version brought accepted orders for, each location × date once
   * (a consistent read first; the poller is the single writer of its state), and each location's
   * first such date.
   */
  async recordArrivals(
    arrivals: readonly { readonly locationId: string; readonly localDate: string }[],
    file: { readonly fileKey: string; readonly arrivedAtMs: number },
  ): Promise<void> {
    if (arrivals.length === 0) return;
    const keyOf = (arrival: { locationId: string; localDate: string }) =>
      `${arrival.localDate}#${arrival.locationId}`;
    const unique = [...new Map(arrivals.map((arrival) => [keyOf(arrival), arrival])).values()];
    const existing = await this.existingSortKeys(StateKey.Arrivals, unique.map(keyOf));
    await this.batchPut(
      unique
        .filter((arrival) => !existing.has(keyOf(arrival)))
        .map((arrival) => ({
          pk: StateKey.Arrivals,
          sk: keyOf(arrival),
          locationId: arrival.locationId,
          localDate: arrival.localDate,
          fileKey: file.fileKey,
          arrivedAtMs: file.arrivedAtMs,
        })),
    );
    this.firstDates ??= new Map(
      (await this.arrivalLocations()).map((location) => [location.locationId, location.firstLocalDate]),
    );
    const earlier = new Map<string, string>();
    for (const arrival of unique) {
      const known = earlier.get(arrival.locationId) ?? this.firstDates.get(arrival.locationId);
      if (known === undefined || arrival.localDate < known)
        earlier.set(arrival.locationId, arrival.localDate);
    }
    await this.batchPut(
      [...earlier].map(([locationId, firstLocalDate]) => ({
        pk: StateKey.ArrivalLocations,
        sk: locationId,
        firstLocalDate,
      })),
    );
    for (const [locationId, firstLocalDate] of earlier) this.firstDates.set(locationId, firstLocalDate);
  }

  /** Every location that ever uploaded, with its first local date. */
  async arrivalLocations(): Promise<{ locationId: string; firstLocalDate: string }[]> {
    const items = await this.queryAll(StateKey.ArrivalLocations);
    return items.map((item) => ({
      locationId: String(item['sk']),
      firstLocalDate: String(item['firstLocalDate']),
    }));
  }

  /** The location × date arrivals with dates from `from` to `to`, as `<date>#<location>` keys. */
  async arrivalKeys(from: string, to: string): Promise<Set<string>> {
    const keys = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          // `$` sorts right after `#`: the bound is above every `<to>#<location>`.
          ExpressionAttributeValues: { ':pk': StateKey.Arrivals, ':from': from, ':to': `${to}$` },
          ProjectionExpression: 'sk',
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of response.Items ?? []) keys.add(String(item['sk']));
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
    return keys;
  }

  /** `requeue`'s outcome of each of `rows` it marked as taken in (consistent reads), by row. */
  async requeueOutcomes(rows: readonly RowClaimant[]): Promise<Map<number, RequeueOutcome>> {
    const outcomes = new Map<number, RequeueOutcome>();
    for (const row of rows) {
      const item = await this.get(REQUEUED_PARTITION, requeueMarker(row));
      if (item !== undefined) outcomes.set(row.row, item['outcome'] as RequeueOutcome);
    }
    return outcomes;
  }

  /** Lets `requeue` take a quarantined row again: removes the marker it wrote when it took the row. */
  async forgetRequeued(row: RowClaimant): Promise<void> {
    await this.delete(REQUEUED_PARTITION, requeueMarker(row));
  }

  /** Records the end of a poll cycle. */
  async recordPoll(poll: PollRecord): Promise<void> {
    await this.put({ ...StateKey.LastPoll, poll });
  }

  /** The last poll cycle, or undefined before the first. */
  async lastPoll(): Promise<PollRecord | undefined> {
    const item = await this.get(StateKey.LastPoll.pk, StateKey.LastPoll.sk);
    return item?.['poll'] as PollRecord | undefined;
  }

  /** Every closure. */
  async closures(): Promise<ClosureRecord[]> {
    const items = await this.queryAll(StateKey.Closures);
    return items.map((item) => item['closure'] as ClosureRecord);
  }

  async putClosure(closure: ClosureRecord): Promise<void> {
    await this.put({ pk: StateKey.Closures, sk: `${closure.locationId}#${closure.from}`, closure });
  }

  /** Deletes the closure of a location starting on `from`; false when there was none. */
  async deleteClosure(locationId: string, from: string): Promise<boolean> {
    const response = await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: StateKey.Closures, sk: `${locationId}#${from}` },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return response.Attributes !== undefined;
  }

  /** The sort keys of `pk` among `sortKeys` that exist (consistent reads). */
  private async existingSortKeys(pk: string, sortKeys: readonly string[]): Promise<Set<string>> {
    const existing = new Set<string>();
    for (let start = 0; start < sortKeys.length; start += 100) {
      let requested: Record<string, unknown>[] = sortKeys.slice(start, start + 100).map((sk) => ({ pk, sk }));
      for (let attempt = 1; requested.length > 0; attempt++) {
        const response = await this.doc.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: { Keys: requested, ConsistentRead: true, ProjectionExpression: 'sk' },
            },
          }),
        );
        for (const item of response.Responses?.[this.tableName] ?? []) existing.add(String(item['sk']));
        requested = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (requested.length > 0) await sleepMs(Math.min(2000, 25 * 2 ** attempt));
      }
    }
    return existing;
  }

  private async batchPut(items: readonly Record<string, unknown>[]): Promise<void> {
    // Later rows of one key win, and one BatchWrite may not hold a key twice.
    const unique = [...new Map(items.map((item) => [`${item['pk']}\u0000${item['sk']}`, item])).values()];
    for (let start = 0; start < unique.length; start += 25) {
      let requests: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string] =
        unique.slice(start, start + 25).map((item) => ({ PutRequest: { Item: item } }));
      for (let attempt = 1; requests.length > 0; attempt++) {
        const response = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = response.UnprocessedItems?.[this.tableName] ?? [];
        if (requests.length > 0) await sleepMs(Math.min(2000, 25 * 2 ** attempt));
      }
    }
  }
}

/** Partition of `requeue`'s markers: one per quarantined row it has taken, so it takes each once. */
export const REQUEUED_PARTITION = 'ingest#requeued';

/** A quarantined row's requeue marker: its file, content and row. */
export function requeueMarker(row: RowClaimant): string {
  return `${row.fileKey}|${row.contentHash}|${row.row}`;
}

function sequenceKey(arrivalSeq: number): string {
  return String(arrivalSeq).padStart(12, '0');
}

/**
 * The identity as the sort key (as every key written so far), hashed when longer than DynamoDB's
 * 1,024 bytes: an option's names may be 1,000 characters each.
 */
function pendingSortKey(key: IdentityKey): string {
  return boundedKey('', `${key.pk}|${key.sk}`, MAX_SORT_KEY_BYTES);
}
