/**
 * `tillstream reconcile`: the proof that the stream's numbers are right. Every landed file is read
 * back from the raw layer, recomputed with DuckDB (no aggregation code shared with the stream
 * path), and compared with every DynamoDB aggregates item (all orders, as of now) and with every
 * mart of a published snapshot (orders up to its as_of), field by field and cell by cell.
 *
 * The file list and arrival order come from the poller state (`ingest#file#…` / `v#<sha256>`
 * items): it is what the poller itself ingests from, it holds the arrival sequence and arrival
 * instant that "first arrival wins", `future_timestamp` and the orphan grace period are measured
 * by, and it leaves out raw objects that were never ingested (a `file_too_large` file; a second
 * copy of content already ingested, whose report says `duplicate_content`). The raw objects
 * themselves are the bytes read.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { getReport } from '../../ingest/raw-layer.js';
import { FileStatus } from '../../ingest/report.js';
import { mapLimit } from '../../ingest/retry.js';
import type { LandedVersion } from '../../ingest/state.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import { manifestKey, readManifest, type SnapshotManifest } from '../compaction/snapshot.js';
import type { PipelineClients } from '../pipeline/run.js';
import { RETRACTION_PARTITION } from '../retract/retract.js';
import {
  checkedItemsSql,
  expectedAggregatesSql,
  fieldDifferencesSql,
  fieldTablesSql,
  sumActualPartsSql,
} from './aggregates-sql.js';
import { compareMart, type MartDifference, parseMartCsv } from './compare.js';
import { type MartTable, type RecomputeSummary, StagedInput } from './engine.js';
import { ReconcileError } from './errors.js';
import type { InputFile } from './files.js';
import { decodeStoredItem } from './item-layout.js';
import { type MartWindows, ReconcileMart } from './marts-sql.js';
import type { StagingSettings } from './staging-sql.js';

/** One disagreement between the recomputation (expected) and what the pipeline stored (actual). */
export interface Difference {
  readonly scope: 'aggregate' | 'mart';
  /** `L#loc-03 / D#2023-03-08`, or `customer_metrics / customer_id=c-0042`. */
  readonly item: string;
  /** A business field (`netCents`, `hour[17].orders`), a mart column, or `(item)` / `(row)` for a whole one. */
  readonly field: string;
  /** Null when only the pipeline has it. */
  readonly expected: string | null;
  /** Null when the pipeline lacks it. */
  readonly actual: string | null;
}

export interface ReconcileReport {
  /** The snapshot date whose marts were compared. */
  readonly asOf: string;
  /** The run the snapshot's manifest names; null when no snapshot of `asOf` is published. */
  readonly snapshotRunId: string | null;
  /** Aggregates items compared (either side has it). */
  readonly checkedItems: number;
  /** Mart rows compared: the recomputation's rows of every mart the snapshot has. */
  readonly checkedMartRows: number;
  readonly differences: readonly Difference[];
  /** Landed file versions read back from the raw layer. */
  readonly rawFiles: number;
  /**
   * Landed versions the poller has not finished: their rows may not all be on the stream yet, so
   * differences are expected until the next poll finishes them.
   */
  readonly unfinishedFiles: number;
  /** Landed versions left out because `tillstream retract` withdrew them. */
  readonly retractedFiles: number;
  /**
   * Retractions started and not finished: their subtraction may be partly applied, so differences
   * are expected until `tillstream retract` is run again.
   */
  readonly retractionsInProgress: number;
  /** Stored items not compared: customer profiles, written back by compaction. */
  readonly ignoredItems: number;
  /** What the recomputation read (row outcomes, orders, skipped files). */
  readonly recomputation: RecomputeSummary;
  readonly timingsMs: {
    readonly rawRead: number;
    readonly recompute: number;
    readonly aggregates: number;
    readonly marts: number;
  };
}

export interface ReconcileOptions {
  readonly clients: PipelineClients;
  readonly names: ResourceNames;
  readonly settings: Settings;
  /** The snapshot date to compare. @default the newest published snapshot's date */
  readonly asOf?: string;
  /** Where the raw files are copied to (a temporary folder inside it, removed at the end). @default the OS temp dir */
  readonly workDir?: string;
  /** Parallel Scan segments of the aggregates table. @default 4 */
  readonly scanSegments?: number;
  /** Mart windows and thresholds. @default the contract's */
  readonly windows?: Partial<MartWindows>;
  /** Progress lines for the long steps. */
  readonly log?: (message: string) => void;
}

const MANIFEST_PREFIX = 'marts/_manifests/snapshot_date=';
const MANIFEST_DATE = /^marts\/_manifests\/snapshot_date=(\d{4}-\d{2}-\d{2})\.json$/;
const DOWNLOAD_CONCURRENCY = 8;

/** The settings the recomputation's validation reads. */
function stagingSettings(settings: Settings): StagingSettings {
  return {
    currency: settings.currency,
    testAppPattern: settings.testAppPattern,
    defaultTimeZone: settings.defaultTimeZone,
    futureToleranceMs: settings.futureToleranceMs,
    orphanGraceDays: settings.orphanGraceDays,
  };
}

/** The newest snapshot date with a published manifest, or null. */
export async function newestSnapshotDate(s3: PipelineClients['s3'], bucket: string): Promise<string | null> {
  let newest: string | null = null;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: MANIFEST_PREFIX, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const date = MANIFEST_DATE.exec(object.Key ?? '')?.[1];
      if (date !== undefined && (newest === null || date > newest)) newest = date;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return newest;
}

/** A landed file version, whether the poller finished it, and whether it is withdrawn. */
export interface LandedFile {
  readonly version: LandedVersion;
  readonly done: boolean;
  /** `tillstream retract` withdrew it (`done`) or is withdrawing it (`started`); null otherwise. */
  readonly retraction: string | null;
}

/** Every landed file version in the poller state, in arrival order. */
export async function landedVersions(doc: PipelineClients['doc'], stateTable: string): Promise<LandedFile[]> {
  const versions: { version: LandedVersion; done: boolean }[] = [];
  const retractions = new Map<string, string>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: stateTable,
        FilterExpression: '(begins_with(pk, :file) AND begins_with(sk, :version)) OR pk = :retraction',
        ExpressionAttributeValues: {
          ':file': 'ingest#file#',
          ':version': 'v#',
          ':retraction': RETRACTION_PARTITION,
        },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      if (item['pk'] === RETRACTION_PARTITION) retractions.set(String(item['sk']), String(item['status']));
      else versions.push({ version: item['version'] as LandedVersion, done: item['status'] === 'done' });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return versions
    .map((entry) => ({
      ...entry,
      retraction: retractions.get(`${entry.version.fileKey}|${entry.version.contentHash}`) ?? null,
    }))
    .sort((left, right) => left.version.arrivalSeq - right.version.arrivalSeq);
}

/** Copies the landed versions' raw objects into `dir`, as the recomputation's input files. */
async function copyRawFiles(
  clients: PipelineClients,
  bucket: string,
  versions: readonly LandedVersion[],
  dir: string,
): Promise<InputFile[]> {
  const files: InputFile[] = versions.map((version, arrival) => ({
    path: version.path,
    absolutePath: path.join(
      dir,
      `${String(version.arrivalSeq).padStart(12, '0')}-${encodeURIComponent(version.name)}`,
    ),
    // The instant the poller landed it: what its rows' future timestamps and grace period count from.
    modifiedMs: version.arrivedAtMs,
    arrival,
  }));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const index = next++;
      const version = versions[index]!;
      const file = files[index]!;
      const response = await clients.s3
        .send(new GetObjectCommand({ Bucket: bucket, Key: version.rawKey }))
        .catch((error: unknown) => {
          throw new ReconcileError(
            `cannot read the raw copy of ${version.path}: ${(error as Error).message}`,
            version.rawKey,
            { cause: error },
          );
        });
      const body = response.Body;
      if (body === undefined)
        throw new ReconcileError(`empty raw object for ${version.path}`, version.rawKey);
      await pipeline(body as Readable, createWriteStream(file.absolutePath));
    }
  };
  await Promise.all(Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, files.length) }, worker));
  return files;
}

/** Every stored aggregates item (a parallel Scan, as compaction reads them), decoded into `actual_fields`. */
async function loadStoredItems(
  staged: StagedInput,
  clients: PipelineClients,
  table: string,
  segments: number,
  log: (message: string) => void,
): Promise<{ items: number; ignored: number }> {
  if (!Number.isInteger(segments) || segments < 1 || segments > 1000) {
    throw new ReconcileError(
      `scan segments must be an integer in 1…1000 (given ${segments})`,
      'scanSegments',
    );
  }
  const appender = await staged.connection.createAppender('actual_fields');
  let items = 0;
  let ignored = 0;
  let reported = 0;
  const scanSegment = async (segment: number): Promise<void> => {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await clients.doc.send(
        new ScanCommand({
          TableName: table,
          Segment: segment,
          TotalSegments: segments,
          ExclusiveStartKey: startKey,
        }),
      );
      // Appends of one page run without an await between them, so segments never interleave a row.
      for (const item of page.Items ?? []) {
        const fields = decodeStoredItem(item);
        if (fields === null) {
          ignored++;
          continue;
        }
        items++;
        for (const field of fields) {
          appender.appendVarchar(field.pk);
          appender.appendVarchar(field.sk);
          appender.appendVarchar(field.field);
          appender.appendVarchar(field.value);
          appender.endRow();
        }
      }
      if (items - reported >= 50_000) {
        reported = items;
        log(`reconcile: read ${items.toLocaleString('en-US')} aggregates items`);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  };
  try {
    await Promise.all(Array.from({ length: segments }, (_, segment) => scanSegment(segment)));
  } finally {
    appender.closeSync();
  }
  return { items, ignored };
}

function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** The aggregates differences, once both sides are loaded. */
async function aggregateDifferences(
  staged: StagedInput,
): Promise<{ checked: number; differences: Difference[] }> {
  const rows = (await staged.read(fieldDifferencesSql, 'aggregates comparison')).getRowsJS();
  const differences = rows.map(
    ([pk, sk, field, expected, actual]): Difference => ({
      scope: 'aggregate',
      item: `${String(pk)} / ${String(sk)}`,
      field: String(field),
      expected: textOrNull(expected),
      actual: textOrNull(actual),
    }),
  );
  const checked = Number((await staged.read(checkedItemsSql, 'aggregates comparison')).getRowsJS()[0]?.[0]);
  return { checked, differences };
}

function martItem(difference: MartDifference): string {
  const cells = Object.entries(difference.keyCells);
  if (cells.length === 0) return `${difference.mart} / ${difference.key}`;
  return `${difference.mart} / ${cells.map(([column, value]) => `${column}=${value}`).join(', ')}`;
}

function fromMartDifference(difference: MartDifference): Difference {
  const side = (value: string): string | null => (value === '(missing)' ? null : value);
  return {
    scope: 'mart',
    item: martItem(difference),
    field: difference.column,
    expected: side(difference.expected),
    actual: side(difference.actual),
  };
}

/**
 * The snapshot's CSV marts through its manifest. A file whose bytes do not match the manifest's
 * checksum is still compared (its cells say where it differs) and its checksum reported; a mart
 * the manifest does not list is reported and not compared.
 */
async function readSnapshotMarts(
  clients: PipelineClients,
  bucket: string,
  manifest: SnapshotManifest,
): Promise<{ marts: Partial<Record<ReconcileMart, MartTable>>; differences: Difference[] }> {
  const marts: Partial<Record<ReconcileMart, MartTable>> = {};
  const differences: Difference[] = [];
  for (const name of Object.values(ReconcileMart)) {
    const file = manifest.files.find((entry) => entry.mart === name && entry.format === 'csv');
    if (file === undefined) {
      differences.push({
        scope: 'mart',
        item: `${name} / (file)`,
        field: 'csv',
        expected: `listed in ${manifestKey(manifest.snapshotDate)}`,
        actual: null,
      });
      continue;
    }
    const response = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: file.key }));
    const bytes = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
    const checksum = createHash('sha256').update(bytes).digest('hex');
    if (checksum !== file.sha256) {
      differences.push({
        scope: 'mart',
        item: `${name} / (file)`,
        field: 'sha256',
        expected: file.sha256,
        actual: checksum,
      });
    }
    marts[name] = parseMartCsv(name, bytes.toString('utf8'));
  }
  return { marts, differences };
}

/**
 * Recomputes every aggregates item and every mart of a snapshot from the raw layer, and reports
 * each difference with what the stream stored.
 *
 * @example
 * const report = await reconcile({ clients, names, settings });
 * if (report.differences.length > 0) console.log(report.differences[0]);
 * // { scope: 'aggregate', item: 'L#loc-03 / D#2023-03-08', field: 'netCents', expected: '125050', actual: '125051' }
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const { clients, names } = options;
  const log = options.log ?? (() => {});
  const asOf = options.asOf ?? (await newestSnapshotDate(clients.s3, names.martsBucket));
  if (asOf === null) {
    throw new ReconcileError('no snapshot is published yet: give an as_of date', names.martsBucket);
  }
  const manifest = await readManifest({ s3: clients.s3, bucket: names.martsBucket, asOf }).catch(
    (error: unknown) => {
      throw new ReconcileError((error as Error).message, manifestKey(asOf), { cause: error });
    },
  );

  const started = performance.now();
  const landed = await landedVersions(clients.doc, names.stateTable);
  const parent = options.workDir ?? tmpdir();
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(path.join(parent, 'reconcile-'));
  try {
    // A withdrawn upload counts nowhere: later copies of its rows arrive first in its place. A
    // byte-identical copy of content already ingested was never streamed (until a retraction of
    // the first reads it again, which rewrites its report).
    const reports = await mapLimit(landed, DOWNLOAD_CONCURRENCY, (entry) =>
      entry.retraction === null
        ? getReport(clients.s3, names.rawBucket, entry.version.reportKey)
        : Promise.resolve(undefined),
    );
    const counted = landed.filter(
      (entry, index) => entry.retraction === null && reports[index]?.status !== FileStatus.DuplicateContent,
    );
    log(`reconcile: copying ${counted.length} raw file(s) from s3://${names.rawBucket}`);
    const files = await copyRawFiles(
      clients,
      names.rawBucket,
      counted.map((entry) => entry.version),
      dir,
    );
    const copied = performance.now();

    log('reconcile: recomputing with DuckDB');
    const staged = await StagedInput.open({ files }, stagingSettings(options.settings));
    try {
      await staged.run(fieldTablesSql + expectedAggregatesSql, 'aggregates recomputation');
      const recomputation = await staged.summary();
      const recomputed = performance.now();

      log(`reconcile: comparing the aggregates table ${names.aggregatesTable}`);
      const stored = await loadStoredItems(
        staged,
        clients,
        names.aggregatesTable,
        options.scanSegments ?? 4,
        log,
      );
      await staged.run(sumActualPartsSql, 'aggregates comparison');
      const aggregates = await aggregateDifferences(staged);
      const comparedAggregates = performance.now();

      log(`reconcile: comparing the marts of ${asOf}`);
      const expectedMarts = await staged.marts(asOf, options.windows);
      let checkedMartRows = 0;
      const martDifferences: Difference[] = [];
      if (manifest === null) {
        martDifferences.push({
          scope: 'mart',
          item: '(snapshot)',
          field: 'manifest',
          expected: manifestKey(asOf),
          actual: null,
        });
      } else {
        const snapshot = await readSnapshotMarts(clients, names.martsBucket, manifest);
        martDifferences.push(...snapshot.differences);
        for (const name of Object.values(ReconcileMart)) {
          const actual = snapshot.marts[name];
          if (actual === undefined) continue;
          checkedMartRows += expectedMarts[name].rows.length;
          martDifferences.push(...compareMart(expectedMarts[name], actual).map(fromMartDifference));
        }
      }
      const comparedMarts = performance.now();

      return {
        asOf,
        snapshotRunId: manifest?.runId ?? null,
        checkedItems: aggregates.checked,
        checkedMartRows,
        differences: [...aggregates.differences, ...martDifferences],
        rawFiles: files.length,
        unfinishedFiles: counted.filter((entry) => !entry.done).length,
        retractedFiles: landed.length - counted.length,
        retractionsInProgress: landed.filter(
          (entry) => entry.retraction !== null && entry.retraction !== 'done',
        ).length,
        ignoredItems: stored.ignored,
        recomputation,
        timingsMs: {
          rawRead: copied - started,
          recompute: recomputed - copied,
          aggregates: comparedAggregates - recomputed,
          marts: comparedMarts - comparedAggregates,
        },
      };
    } finally {
      staged.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
