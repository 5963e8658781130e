/**
 * Mart snapshots in S3 (CONTRACT.md §3): each run writes its files under its own prefix,
 * `marts/<mart>/snapshot_date=YYYY-MM-DD/run_id=R/<mart>.{csv,parquet}`, and then, last, the
 * manifest `marts/_manifests/snapshot_date=YYYY-MM-DD.json` that names the run, its files, row
 * counts, sha256 checksums, the code version and the stream checkpoints read before compaction.
 * Readers find a snapshot only through its manifest, so it appears complete or not at all; a rerun
 * writes a new run's files and replaces the snapshot by overwriting the manifest (a single PUT,
 * atomic for readers). Files of replaced runs stay until a lifecycle rule removes them.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Mart, MartName } from '../../aggregates/marts/columns.js';
import type { Marts } from '../../aggregates/marts/index.js';
import { martToCsv } from './csv.js';
import {
  ManifestFormatError,
  SnapshotChecksumError,
  SnapshotError,
  SnapshotNotFoundError,
} from './errors.js';
import { martToParquet } from './parquet.js';

export const SnapshotFormat = { Csv: 'csv', Parquet: 'parquet' } as const;
export type SnapshotFormat = (typeof SnapshotFormat)[keyof typeof SnapshotFormat];

/** Where a shard's consumer stood when compaction began. */
export interface SnapshotCheckpoint {
  readonly shardId: string;
  /** The last sequence number processed (a decimal string), null before the first record. */
  readonly sequenceNumber: string | null;
}

export interface ManifestFile {
  readonly mart: MartName;
  readonly format: SnapshotFormat;
  readonly key: string;
  readonly bytes: number;
  readonly rows: number;
  readonly sha256: string;
}

export interface SnapshotManifest {
  readonly manifestVersion: 1;
  readonly snapshotDate: string;
  readonly runId: string;
  readonly codeVersion: string;
  readonly checkpoints: readonly SnapshotCheckpoint[];
  readonly rowCounts: Readonly<Partial<Record<MartName, number>>>;
  readonly files: readonly ManifestFile[];
}

const MANIFEST_PREFIX = 'marts/_manifests';
const RUN_ID = /^[A-Za-z0-9._-]{1,128}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const CONTENT_TYPES: Record<SnapshotFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

/** The manifest key of a snapshot date. */
export function manifestKey(snapshotDate: string): string {
  return `${MANIFEST_PREFIX}/snapshot_date=${snapshotDate}.json`;
}

/** The key of one mart file of one run. */
export function martFileKey(
  mart: MartName,
  snapshotDate: string,
  runId: string,
  format: SnapshotFormat,
): string {
  return `marts/${mart}/snapshot_date=${snapshotDate}/run_id=${runId}/${mart}.${format}`;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkDate(snapshotDate: string): void {
  if (!DATE.test(snapshotDate)) {
    throw new SnapshotError(`snapshot date must be YYYY-MM-DD (given ${JSON.stringify(snapshotDate)})`);
  }
}

/**
 * The points of a compaction's write where the fault hook may simulate a crash (the compaction's
 * crash windows, as `PollStep` is the poller's and `CrashWindow` the shard processor's).
 */
export const CompactionStep = {
  /** A mart's CSV file is written; its Parquet file may not be. */
  CsvWritten: 'csv_written',
  /** A mart's Parquet file is written; its CSV file may not be. */
  ParquetWritten: 'parquet_written',
  /** Every mart file is written; the manifest is not, so the run is invisible. */
  BeforeManifest: 'before_manifest',
  /** The manifest is written: the run is the snapshot; no profile is written back yet. */
  ManifestWritten: 'manifest_written',
  /** One customer profile is written back; others of the snapshot may not be. */
  ProfileWritten: 'profile_written',
} as const;
export type CompactionStep = (typeof CompactionStep)[keyof typeof CompactionStep];

/** Called after each step with its detail (a key, a customer id); a throw there is a crash. Absent in production. */
export type CompactionHook = (step: CompactionStep, detail: string) => void | Promise<void>;

export interface WriteSnapshotOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** The snapshot date `YYYY-MM-DD`. */
  readonly asOf: string;
  /** Unique per run (letters, digits, `.`, `_`, `-`); a rerun must use a new one. */
  readonly runId: string;
  readonly marts: Marts;
  /** The stream checkpoints read before compaction began. */
  readonly checkpoints: readonly SnapshotCheckpoint[];
  readonly codeVersion: string;
  /** Fault-injection seam for tests. */
  readonly onStep?: CompactionHook;
}

/**
 * Writes every mart as CSV and Parquet, then the manifest that makes the snapshot visible.
 *
 * @returns the manifest written.
 * @example
 * await writeSnapshot({ s3, bucket: names.martsBucket, asOf: '2023-08-31', runId, marts,
 *   checkpoints, codeVersion: '0.1.0+abc123' });
 */
export async function writeSnapshot(options: WriteSnapshotOptions): Promise<SnapshotManifest> {
  const { s3, bucket, asOf, runId } = options;
  checkDate(asOf);
  if (!RUN_ID.test(runId)) {
    throw new SnapshotError(`run id must match ${RUN_ID} (given ${JSON.stringify(runId)})`);
  }
  const files: ManifestFile[] = [];
  const rowCounts: Partial<Record<MartName, number>> = {};
  const marts: readonly Mart<unknown>[] = Object.values(options.marts);
  for (const mart of marts) {
    rowCounts[mart.name] = mart.rowCount;
    // One mart at a time, so only one mart's encoded bytes are held at once.
    const encoded: readonly [SnapshotFormat, Uint8Array][] = [
      [SnapshotFormat.Csv, martToCsv(mart)],
      [SnapshotFormat.Parquet, martToParquet(mart)],
    ];
    await Promise.all(
      encoded.map(async ([format, body]) => {
        const key = martFileKey(mart.name, asOf, runId, format);
        const checksum = sha256(body);
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: CONTENT_TYPES[format],
            ContentLength: body.byteLength,
            Metadata: { sha256: checksum },
          }),
        );
        files.push({
          mart: mart.name,
          format,
          key,
          bytes: body.byteLength,
          rows: mart.rowCount,
          sha256: checksum,
        });
        await options.onStep?.(
          format === SnapshotFormat.Csv ? CompactionStep.CsvWritten : CompactionStep.ParquetWritten,
          key,
        );
      }),
    );
  }
  files.sort((left, right) => (left.key < right.key ? -1 : left.key > right.key ? 1 : 0));
  const manifest: SnapshotManifest = {
    manifestVersion: 1,
    snapshotDate: asOf,
    runId,
    codeVersion: options.codeVersion,
    checkpoints: options.checkpoints,
    rowCounts,
    files,
  };
  await options.onStep?.(CompactionStep.BeforeManifest, manifestKey(asOf));
  // Last: until this PUT the new run is invisible, and after it the whole run is.
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: manifestKey(asOf),
      Body: `${JSON.stringify(manifest, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
  await options.onStep?.(CompactionStep.ManifestWritten, manifestKey(asOf));
  return manifest;
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || status === 404;
}

async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array | null> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (response.Body === undefined) return new Uint8Array();
    return await response.Body.transformToByteArray();
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

function parseManifest(key: string, bytes: Uint8Array): SnapshotManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ManifestFormatError(key, error instanceof Error ? error.message : String(error));
  }
  if (typeof parsed !== 'object' || parsed === null) throw new ManifestFormatError(key, 'not an object');
  const manifest = parsed as Partial<SnapshotManifest>;
  if (manifest.manifestVersion !== 1) throw new ManifestFormatError(key, 'unknown manifestVersion');
  if (typeof manifest.runId !== 'string' || typeof manifest.snapshotDate !== 'string') {
    throw new ManifestFormatError(key, 'runId and snapshotDate must be strings');
  }
  if (!Array.isArray(manifest.files)) throw new ManifestFormatError(key, 'files must be an array');
  return manifest as SnapshotManifest;
}

export interface SnapshotLocation {
  readonly s3: S3Client;
  readonly bucket: string;
  /** The snapshot date `YYYY-MM-DD`. */
  readonly asOf: string;
}

/**
 * The manifest of a snapshot date, or null when no snapshot is visible for it.
 *
 * @example
 * const manifest = await readManifest({ s3, bucket, asOf: '2023-08-31' });
 */
export async function readManifest(location: SnapshotLocation): Promise<SnapshotManifest | null> {
  checkDate(location.asOf);
  const key = manifestKey(location.asOf);
  const bytes = await getBytes(location.s3, location.bucket, key);
  return bytes === null ? null : parseManifest(key, bytes);
}

/**
 * Reads one file of the current snapshot through its manifest, checking its checksum.
 *
 * @throws SnapshotNotFoundError when the date has no snapshot or the manifest lacks the file.
 */
export async function readSnapshotFile(
  location: SnapshotLocation,
  mart: MartName,
  format: SnapshotFormat,
): Promise<Uint8Array> {
  const manifest = await readManifest(location);
  if (manifest === null) throw new SnapshotNotFoundError(location.bucket, location.asOf);
  const file = manifest.files.find((entry) => entry.mart === mart && entry.format === format);
  if (file === undefined) throw new SnapshotNotFoundError(location.bucket, location.asOf);
  return fetchChecked(location, file);
}

async function fetchChecked(location: SnapshotLocation, file: ManifestFile): Promise<Uint8Array> {
  const bytes = await getBytes(location.s3, location.bucket, file.key);
  if (bytes === null) throw new SnapshotChecksumError(file.key, file.sha256, 'missing');
  const actual = sha256(bytes);
  if (actual !== file.sha256) throw new SnapshotChecksumError(file.key, file.sha256, actual);
  return bytes;
}

export interface ExportSnapshotOptions extends SnapshotLocation {
  /** The folder to write `<mart>.csv`, `<mart>.parquet` and `manifest.json` into (created). */
  readonly toDir: string;
}

/**
 * Copies the current snapshot of a date to a folder: `<DIR>/<mart>.csv` + `.parquet` and
 * `manifest.json`, each file checked against the manifest's checksum.
 *
 * @throws SnapshotNotFoundError when the date has no snapshot.
 * @example
 * await exportSnapshot({ s3, bucket, asOf: '2023-08-31', toDir: './tillstream-out' });
 */
export async function exportSnapshot(options: ExportSnapshotOptions): Promise<SnapshotManifest> {
  const manifest = await readManifest(options);
  if (manifest === null) throw new SnapshotNotFoundError(options.bucket, options.asOf);
  await mkdir(options.toDir, { recursive: true });
  for (const file of manifest.files) {
    const bytes = await fetchChecked(options, file);
    await writeFile(join(options.toDir, `${file.mart}.${file.format}`), bytes);
  }
  await writeFile(join(options.toDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
