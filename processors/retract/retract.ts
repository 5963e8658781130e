/**
 * `tillstream retract FILE` (issue #8): withdraw an upload. Every landed version of the file (or
 * the one named by its content hash) stops counting anywhere, exactly once, through the same
 * stream path as its rows:
 *
 * 1. a retraction event per order the version has rows of, keyed by ORDER_ID (so it lands on that
 *    order's shard): the order state drops the version's rows whenever they arrive (before or
 *    after the retraction), and the processors subtract what they contributed by the usual
 *    contribution deltas under the high-water marks;
 * 2. its ledger claims and waiting options are released, so a corrected re-export claims those
 *    identities afresh instead of being a `conflicting_duplicate`;
 * 3. its ingest report says `retracted` and a `<raw key>.retracted.json` marker sits beside the raw
 *    copy (the bytes stay, byte for byte);
 * 4. later files that held one of the released identities (as a `duplicate` or a
 *    `conflicting_duplicate` of the withdrawn rows) are read again from the raw layer by the
 *    poller's own resume path, in arrival order, so they count as if the withdrawn upload had never
 *    arrived;
 * 5. once the processors caught up, every published snapshot whose date is on or after the earliest
 *    local date the withdrawn rows touched is rebuilt.
 *
 * Crash safety: every step is idempotent (stable event ids, claims released only while the version
 * holds them, reports rewritten whole), and the state table's `ingest#retraction` item of a version
 * says `done` only after the last step. A rerun after a crash repeats the steps; a rerun after
 * `done` does nothing. The operation is a ledger writer: like `requeue`, it runs under the
 * poller's lock (locally, the state directory's lock that every command's stack takes).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { orderContribution } from '../../aggregates/contribution.js';
import { toLocalTime } from '../../aggregates/time.js';
import { type IdentityKey, keyString, type LedgerClaim, lineKey, optionKey } from '../../ingest/identity.js';
import { ensureLedgerLayout, readClaims, releaseClaim } from '../../ingest/ledger.js';
import { runPollCycle } from '../../ingest/poll.js';
import { putRecords, type StreamRecord } from '../../ingest/producer.js';
import { getObjectBytes, getReport, listObjectKeys, putReport } from '../../ingest/raw-layer.js';
import { FileStatus, type IngestReport } from '../../ingest/report.js';
import { type BackoffOptions, mapLimit } from '../../ingest/retry.js';
import type { FileSource } from '../../ingest/source.js';
import { type LandedVersion, PollerState } from '../../ingest/state.js';
import type { Settings } from '../../shared/config.js';
import { parseExport } from '../../shared/input/parse.js';
import { EntryKind, validationSettings } from '../../shared/input/types.js';
import type { ResourceNames } from '../../shared/resources.js';
import { encodeBinaryOrderEvent } from '../../shared/schemas/order-event-binary.js';
import { runCompaction } from '../compaction/job.js';
import { manifestKey } from '../compaction/snapshot.js';
import { DynamoShardStore } from '../shard/dynamo-store.js';
import { AmbiguousFileError, UnknownFileError } from './errors.js';

/** The points between the steps of one version's retraction, where the fault hook may simulate a crash. */
export const RetractStep = {
  /** The version is marked as being retracted; nothing else is done. */
  Started: 'started',
  /** Its retraction events are on the stream; its claims are still held. */
  Streamed: 'streamed',
  /** Its claims and waiting options are released; its report does not say so yet. */
  Released: 'released',
  /** Its report and raw-layer marker say `retracted`. */
  Reported: 'reported',
  /** Later files holding released identities are read again. */
  Reingested: 'reingested',
  /** The affected snapshots are rebuilt; the versions are not marked done yet. */
  Restated: 'restated',
} as const;
export type RetractStep = (typeof RetractStep)[keyof typeof RetractStep];

export interface RetractDependencies {
  readonly clients: {
    readonly doc: DynamoDBDocumentClient;
    readonly kinesis: KinesisClient;
    readonly s3: S3Client;
  };
  readonly names: ResourceNames;
  readonly settings: Settings;
  /** Epoch ms now. */
  readonly clock: () => number;
  /** Written into rebuilt snapshots' manifests. */
  readonly codeVersion: string;
  /**
   * Applies everything on the stream (locally: the shard processors until caught up). Without it
   * (on AWS, where the processors run on their own) no snapshot is rebuilt: the result lists them.
   */
  readonly processUntilCaughtUp?: () => Promise<void>;
  readonly backoff?: BackoffOptions;
  /** Called after each step; a throw there is a crash at that point (fault-injection tests). */
  readonly onStep?: (step: RetractStep, detail: string) => void | Promise<void>;
  readonly log?: (message: string) => void;
}

export interface RetractRequest {
  /** A Drive file id, or a path relative to the input folder (a folder source's file id). */
  readonly file: string;
  /** Only the version whose SHA-256 starts with this (hex); every landed version when absent. */
  readonly contentHash?: string;
}

/** One withdrawn file version. */
export interface RetractedVersion {
  readonly fileId: string;
  readonly path: string;
  readonly contentHash: string;
  readonly arrivalSeq: number;
  /** Retracted by an earlier run: nothing was done to it now. */
  readonly alreadyRetracted: boolean;
}

export interface RetractResult {
  readonly versions: readonly RetractedVersion[];
  /** Every version was retracted before: the run changed nothing. */
  readonly alreadyRetracted: boolean;
  /** Retraction events put (one per order of each withdrawn version). */
  readonly ordersRetracted: number;
  readonly claimsReleased: number;
  readonly pendingOptionsDropped: number;
  /** Later files read again because they held a released identity, in arrival order. */
  readonly reingested: readonly string[];
  /** The earliest local date the withdrawn rows touched, `null` when they held no order rows. */
  readonly earliestDate: string | null;
  readonly snapshotsRebuilt: readonly string[];
  /** Published snapshots on or after `earliestDate` left to rebuild (no `processUntilCaughtUp`). */
  readonly snapshotsToRebuild: readonly string[];
}

/** Partition of the retraction items in the state table: sk `<file key>|<sha256>`, `status`. */
export const RETRACTION_PARTITION = 'ingest#retraction';
const FILE_PARTITION = 'ingest#file#';
const RetractionStatus = { Started: 'started', Done: 'done' } as const;
type RetractionStatus = (typeof RetractionStatus)[keyof typeof RetractionStatus];

const versionKey = (version: Pick<LandedVersion, 'fileKey' | 'contentHash'>): string =>
  `${version.fileKey}|${version.contentHash}`;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The key of the marker object beside a withdrawn version's raw copy. */
export function retractedMarkerKey(rawObjectKey: string): string {
  return `${rawObjectKey}.retracted.json`;
}

/**
 * The versions withdrawn so far, as `<fileKey>|<contentHash>`: a replay of the raw layer (`rebuild`,
 * `reconcile`) must leave them out, as the poller never reads them again.
 */
export async function retractedVersionKeys(state: PollerState): Promise<Set<string>> {
  const items = await state.queryAll(RETRACTION_PARTITION);
  return new Set(items.map((item) => String(item['sk'])));
}

/** The rows of one landed version, read again from its raw copy. */
interface VersionRows {
  readonly orderIds: ReadonlySet<string>;
  readonly identities: readonly IdentityKey[];
  /** Local dates of its line rows. */
  readonly lineDates: readonly string[];
}

/**
 * Withdraws an upload: see the module comment for the steps and their crash safety.
 *
 * @example
 * const result = await retractFile(
 *   { clients, names, settings, clock: Date.now, codeVersion: '0.1.0', processUntilCaughtUp },
 *   { file: 'exports/2023-08-14.csv' },
 * );
 */
export async function retractFile(
  deps: RetractDependencies,
  request: RetractRequest,
): Promise<RetractResult> {
  const { clients, names, settings } = deps;
  const log = deps.log ?? (() => {});
  const step = async (name: RetractStep, detail: string) => deps.onStep?.(name, detail);
  const state = new PollerState(clients.doc, names.stateTable);
  await ensureLedgerLayout(clients.doc, names.ledgerTable);
  const store = new DynamoShardStore(clients.doc, names, { streamName: names.ordersStream });

  const versions = await resolveVersions(clients.doc, names.stateTable, state, request);
  const statuses = await Promise.all(versions.map((version) => readRetraction(deps, version)));
  const todo = versions.filter((_, index) => statuses[index] !== RetractionStatus.Done);
  const described = versions.map(
    (version, index): RetractedVersion => ({
      fileId: version.fileId,
      path: version.path,
      contentHash: version.contentHash,
      arrivalSeq: version.arrivalSeq,
      alreadyRetracted: statuses[index] === RetractionStatus.Done,
    }),
  );
  const result = {
    versions: described,
    alreadyRetracted: todo.length === 0,
    ordersRetracted: 0,
    claimsReleased: 0,
    pendingOptionsDropped: 0,
    reingested: [] as string[],
    earliestDate: null as string | null,
    snapshotsRebuilt: [] as string[],
    snapshotsToRebuild: [] as string[],
  };
  if (todo.length === 0) return result;

  const locations = await state.locations();
  const zoneOf = (restaurantId: string): string =>
    locations.get(restaurantId)?.timeZone ?? settings.defaultTimeZone;
  const earlier = (date: string) => {
    if (result.earliestDate === null || date < result.earliestDate) result.earliestDate = date;
  };
  /** `keyString`s of the identities the withdrawn versions no longer hold. */
  const released = new Set<string>();

  for (const version of todo) {
    const rows = await readVersionRows(deps, version, zoneOf);
    // The orders' dates now (before or after an earlier attempt's retraction) and the version's
    // own line dates bound every date the retraction moves: removing lines only moves an order later.
    for (const date of rows.lineDates) earlier(date);
    const states = await store.loadStates([...rows.orderIds]);
    for (const { state: orderState } of states.values()) {
      const contribution = orderContribution(orderState);
      if (contribution !== null) earlier(contribution.localDate);
    }

    await writeRetraction(deps, version, RetractionStatus.Started);
    await step(RetractStep.Started, version.path);
    // An unfinished version (its poll crashed) must never be resumed: finishing it takes it off the list.
    if ((await state.unfinished()).some((other) => versionKey(other) === versionKey(version))) {
      await state.finish(version, version.versionTag ?? null);
    }

    const records: StreamRecord[] = [...rows.orderIds].sort().map((orderId) => ({
      partitionKey: orderId,
      data: encodeBinaryOrderEvent({
        eventId: sha256(`${version.contentHash}|${orderId}|retract`).slice(0, 40),
        orderId,
        lines: [],
        options: [],
        retractedSources: [{ file: version.fileId, contentHash: version.contentHash }],
      }),
    }));
    await putRecords(clients.kinesis, names.ordersStream, records, deps.backoff);
    result.ordersRetracted += records.length;
    await step(RetractStep.Streamed, version.path);

    const heldByVersion = (claim: LedgerClaim): boolean =>
      claim.fileKey === version.fileKey && claim.contentHash === version.contentHash;
    const waiting = (await state.pendingOptions()).filter(
      (pending) =>
        pending.claimant.fileKey === version.fileKey && pending.claimant.contentHash === version.contentHash,
    );
    await state.deletePendingMany(waiting.map((pending) => pending.key));
    result.pendingOptionsDropped += waiting.length;
    const claims = await readClaims(clients.doc, names.ledgerTable, rows.identities);
    const toRelease: LedgerClaim[] = [];
    for (const identity of rows.identities) {
      const key = keyString(identity);
      const claim = claims.get(key);
      if (claim === undefined) {
        released.add(key);
      } else if (heldByVersion(claim) && !released.has(key)) {
        released.add(key);
        toRelease.push(claim);
      }
    }
    await mapLimit(toRelease, 8, (claim) => releaseClaim(clients.doc, names.ledgerTable, claim, claim));
    result.claimsReleased += toRelease.length;
    await step(RetractStep.Released, version.path);

    await markReported(deps, version, records.length, toRelease.length);
    await step(RetractStep.Reported, version.path);
    log(
      `retracted ${version.path} (sha256 ${version.contentHash.slice(0, 12)}…): ${records.length} order(s), ${toRelease.length} claim(s) released`,
    );
  }

  result.reingested.push(...(await reingestLaterFiles(deps, state, todo, released, zoneOf)));
  await step(RetractStep.Reingested, String(result.reingested.length));

  if (result.earliestDate !== null) {
    const affected = (await publishedSnapshotDates(clients.s3, names.martsBucket)).filter(
      (date) => date >= result.earliestDate!,
    );
    if (deps.processUntilCaughtUp === undefined) {
      result.snapshotsToRebuild.push(...affected);
    } else {
      await deps.processUntilCaughtUp();
      for (const asOf of affected) {
        await runCompaction(clients, names, { asOf, codeVersion: deps.codeVersion, log });
        result.snapshotsRebuilt.push(asOf);
      }
    }
  } else {
    await deps.processUntilCaughtUp?.();
  }
  await step(RetractStep.Restated, String(result.snapshotsRebuilt.length));

  for (const version of todo) await writeRetraction(deps, version, RetractionStatus.Done);
  return result;
}

/** The landed versions FILE names: by file id in either source, else by path. */
async function resolveVersions(
  doc: DynamoDBDocumentClient,
  stateTable: string,
  state: PollerState,
  request: RetractRequest,
): Promise<LandedVersion[]> {
  const landed = (items: readonly Record<string, unknown>[]): LandedVersion[] =>
    items
      .filter((item) => String(item['sk']).startsWith('v#') && item['version'] !== undefined)
      .map((item) => item['version'] as LandedVersion);
  let versions: LandedVersion[] = [];
  for (const sourceName of ['folder', 'drive'] as const) {
    versions.push(...landed(await state.queryAll(`${FILE_PARTITION}${sourceName}:${request.file}`)));
  }
  if (versions.length === 0) {
    versions = (await scanLandedVersions(doc, stateTable)).filter((version) => version.path === request.file);
  }
  const fileKeys = [...new Set(versions.map((version) => version.fileKey))].sort();
  if (fileKeys.length > 1) throw new AmbiguousFileError(request.file, fileKeys);
  if (request.contentHash !== undefined) {
    const prefix = request.contentHash.toLowerCase();
    const matching = versions.filter((version) => version.contentHash.startsWith(prefix));
    if (matching.length === 0) {
      throw new UnknownFileError(
        request.file,
        versions.length === 0
          ? ''
          : ` with sha256 ${prefix}… (its versions: ${versions.map((version) => version.contentHash.slice(0, 12)).join(', ')})`,
      );
    }
    versions = matching;
  }
  if (versions.length === 0) {
    throw new UnknownFileError(request.file, ' (a Drive file id or a path relative to the input folder)');
  }
  return versions.sort((a, b) => a.arrivalSeq - b.arrivalSeq);
}

/** Every landed version in the state table, with whether it is finished (a Scan: retractions are rare). */
async function scanLandedVersions(
  doc: DynamoDBDocumentClient,
  stateTable: string,
): Promise<(LandedVersion & { readonly done?: boolean })[]> {
  const versions: (LandedVersion & { readonly done?: boolean })[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: stateTable,
        FilterExpression: 'begins_with(pk, :file) AND begins_with(sk, :version)',
        ExpressionAttributeValues: { ':file': FILE_PARTITION, ':version': 'v#' },
        ConsistentRead: true,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    for (const item of page.Items ?? []) {
      versions.push({ ...(item['version'] as LandedVersion), done: item['status'] === 'done' });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return versions;
}

async function readRetraction(
  deps: RetractDependencies,
  version: LandedVersion,
): Promise<RetractionStatus | undefined> {
  const response = await deps.clients.doc.send(
    new GetCommand({
      TableName: deps.names.stateTable,
      Key: { pk: RETRACTION_PARTITION, sk: versionKey(version) },
      ConsistentRead: true,
    }),
  );
  return response.Item?.['status'] as RetractionStatus | undefined;
}

async function writeRetraction(
  deps: RetractDependencies,
  version: LandedVersion,
  status: RetractionStatus,
): Promise<void> {
  await deps.clients.doc.send(
    new PutCommand({
      TableName: deps.names.stateTable,
      Item: {
        pk: RETRACTION_PARTITION,
        sk: versionKey(version),
        status,
        version,
        at: new Date(deps.clock()).toISOString(),
      },
    }),
  );
}

async function readVersionRows(
  deps: RetractDependencies,
  version: LandedVersion,
  zoneOf: (restaurantId: string) => string,
): Promise<VersionRows> {
  const { clients, names, settings } = deps;
  const bytes = await getObjectBytes(clients.s3, names.rawBucket, version.rawKey);
  // Validated exactly as the poller did (same settings, same arrival), so the identities are the ones it claimed.
  const parse = parseExport(Readable.from([bytes]), {
    file: version.fileId,
    settings: validationSettings(settings),
    arrivedAtMs: version.arrivedAtMs,
  });
  const orderIds = new Set<string>();
  const identities: IdentityKey[] = [];
  const lineDates = new Set<string>();
  for await (const batch of parse) {
    for (const entry of batch) {
      if (entry.kind === EntryKind.LineItem) {
        orderIds.add(entry.record.orderId);
        identities.push(lineKey(entry.record.orderId, entry.record.lineItemId));
        lineDates.add(toLocalTime(entry.record.createdAtMs, zoneOf(entry.record.restaurantId)).localDate);
      } else if (entry.kind === EntryKind.Option) {
        orderIds.add(entry.record.orderId);
        identities.push(optionKey(entry.record));
      }
    }
  }
  return { orderIds, identities, lineDates: [...lineDates] };
}

/** Marks the version's report and raw copy as retracted (both rewritten whole: idempotent). */
async function markReported(
  deps: RetractDependencies,
  version: LandedVersion,
  orders: number,
  claimsReleased: number,
): Promise<void> {
  const { clients, names } = deps;
  const at = new Date(deps.clock()).toISOString();
  const report = await getReport(clients.s3, names.rawBucket, version.reportKey);
  if (report !== undefined) {
    const retracted: IngestReport = {
      ...report,
      status: FileStatus.Retracted,
      statusBeforeRetraction:
        report.status === FileStatus.Retracted
          ? (report.statusBeforeRetraction ?? FileStatus.Ingested)
          : report.status,
      retractedAt: report.retractedAt ?? at,
      updatedAt: at,
    };
    await putReport(clients.s3, names.rawBucket, version.reportKey, retracted);
  }
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: names.rawBucket,
      Key: retractedMarkerKey(version.rawKey),
      Body: `${JSON.stringify(
        {
          fileId: version.fileId,
          path: version.path,
          contentHash: version.contentHash,
          arrivalSeq: version.arrivalSeq,
          retractedAt: report?.retractedAt ?? at,
          ordersRetracted: orders,
          claimsReleased,
        },
        null,
        2,
      )}\n`,
      ContentType: 'application/json',
    }),
  );
}

/** A source with no files: a poll cycle over it only resumes unfinished versions and settles options. */
const NO_NEW_FILES: FileSource = {
  sourceName: 'folder',
  location: 'tillstream-retract',
  listFiles: async () => [],
  open: async () => {
    throw new Error('the retraction source lists no files');
  },
};

/**
 * Later finished versions that hold a released identity (a `duplicate` or `conflicting_duplicate`
 * of a withdrawn row) go back on the poller's unfinished list and are read again now, in arrival
 * order: their rows claim the released identities as if the withdrawn upload had never arrived.
 */
async function reingestLaterFiles(
  deps: RetractDependencies,
  state: PollerState,
  withdrawn: readonly LandedVersion[],
  released: ReadonlySet<string>,
  zoneOf: (restaurantId: string) => string,
): Promise<string[]> {
  if (released.size === 0) return [];
  const { clients, names } = deps;
  const retracted = new Set((await state.queryAll(RETRACTION_PARTITION)).map((item) => String(item['sk'])));
  for (const version of withdrawn) retracted.add(versionKey(version));
  const firstArrival = Math.min(...withdrawn.map((version) => version.arrivalSeq));
  const candidates = (await scanLandedVersions(clients.doc, names.stateTable))
    .filter(
      (version) =>
        version.done === true && version.arrivalSeq > firstArrival && !retracted.has(versionKey(version)),
    )
    .sort((a, b) => a.arrivalSeq - b.arrivalSeq);
  const again: LandedVersion[] = [];
  for (const candidate of candidates) {
    const report = await getReport(clients.s3, names.rawBucket, candidate.reportKey);
    const mayHold =
      report === undefined ||
      report.status === FileStatus.DuplicateContent ||
      report.rowsDuplicate > 0 ||
      (report.quarantinedByReason.conflicting_duplicate ?? 0) > 0;
    if (!mayHold) continue;
    const rows = await readVersionRows(deps, candidate, zoneOf);
    if (rows.identities.some((identity) => released.has(keyString(identity)))) {
      const { done: _done, ...version } = candidate;
      // Its report and quarantine are replaced by the new read's (ingest/reread.ts).
      again.push({ ...version, reread: true });
    }
  }
  if (again.length === 0) return [];
  for (const version of again) await state.registerLanded(version);
  await runPollCycle({
    clients,
    names,
    settings: deps.settings,
    source: NO_NEW_FILES,
    clock: deps.clock,
    ...(deps.backoff ? { backoff: deps.backoff } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
  return again.map((version) => version.path);
}

/** The dates of every published snapshot (those with a manifest), ascending. */
export async function publishedSnapshotDates(s3: S3Client, bucket: string): Promise<string[]> {
  const prefix = manifestKey('0000-00-00').replace(/0000-00-00\.json$/, '');
  const dates = (await listObjectKeys(s3, bucket, prefix)).map((key) =>
    key.slice(prefix.length).replace(/\.json$/, ''),
  );
  return dates.filter((date) => /^\d{4}-\d{2}-\d{2}$/.test(date)).sort();
}
