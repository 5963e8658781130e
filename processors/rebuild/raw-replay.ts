/**
 * The raw layer as a file source: every file version kept in S3, listed in its original arrival
 * order (the arrival sequence of its ingest report) under its original source name and file id, so
 * that replaying it through the poll cycle gives the same lineage, the same dedupe decisions and
 * the same reports as the first time.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { OriginalArrival } from '../../ingest/poll.js';
import { getReport } from '../../ingest/raw-layer.js';
import { FileStatus, type IngestReport } from '../../ingest/report.js';
import { ContentKind, compareUtf8, type FileSource, type SourceFile } from '../../ingest/source.js';
import { RawKeyError } from './errors.js';

const RAW_KEY = /^raw\/source=(folder|drive)\/file=([^/]+)\/sha256=([0-9a-f]{64})\/([^/]+)$/;
const REPORT_SUFFIX = '.ingest-report.json';

/** One raw object as S3 lists it. */
export interface RawObject {
  readonly key: string;
  readonly sizeBytes: number;
  readonly lastModifiedMs: number;
}

/** A file version to replay, with its original arrival when its report records one. */
export interface ReplayFile {
  readonly sourceName: 'folder' | 'drive';
  readonly file: SourceFile;
  readonly rawKey: string;
  readonly arrival: OriginalArrival | undefined;
}

/** What the replay leaves out, and why (reported on stderr). */
export interface ReplayPlan {
  readonly files: readonly ReplayFile[];
  /** Withdrawn with `tillstream retract`: their rows must not count again. */
  readonly retracted: readonly string[];
  /** Same bytes as a file ingested before: all their rows are duplicates; their reports stay. */
  readonly duplicateContent: readonly string[];
}

/** The parts of a raw key (`raw/source=S/file=ID/sha256=H/NAME`, ID and NAME URI-encoded). */
export function parseRawKey(key: string): {
  sourceName: 'folder' | 'drive';
  fileId: string;
  contentHash: string;
  name: string;
} {
  const match = RAW_KEY.exec(key);
  if (match === null) throw new RawKeyError(key);
  return {
    sourceName: match[1] as 'folder' | 'drive',
    fileId: decodeURIComponent(match[2]!),
    contentHash: match[3]!,
    name: decodeURIComponent(match[4]!),
  };
}

/** Whether a raw-layer key is a file version (not a report beside one). */
export function isRawFileKey(key: string): boolean {
  return !key.endsWith(REPORT_SUFFIX) && RAW_KEY.test(key);
}

/**
 * The replay order: versions with a recorded arrival by arrival sequence; versions without a report
 * (a crash before the first report, or a lost one) after them, by the time S3 stored them, then key.
 * Retracted and duplicate-content versions are left out.
 */
export function planReplay(
  objects: readonly RawObject[],
  reports: ReadonlyMap<string, IngestReport>,
): ReplayPlan {
  const retracted: string[] = [];
  const duplicateContent: string[] = [];
  const entries: { replay: ReplayFile; lastModifiedMs: number }[] = [];
  for (const object of objects) {
    if (!isRawFileKey(object.key)) continue;
    const { sourceName, fileId, contentHash, name } = parseRawKey(object.key);
    const report = reports.get(object.key);
    if (report?.status === FileStatus.Retracted) {
      retracted.push(report.path);
      continue;
    }
    if (report?.status === FileStatus.DuplicateContent) {
      duplicateContent.push(report.path);
      continue;
    }
    const arrival =
      report?.arrivalSeq === null || report?.arrivalSeq === undefined
        ? undefined
        : { arrivalSeq: report.arrivalSeq, arrivedAtMs: Date.parse(report.arrivedAt) };
    const modifiedMs = report === undefined ? object.lastModifiedMs : Date.parse(report.modifiedAt);
    entries.push({
      lastModifiedMs: object.lastModifiedMs,
      replay: {
        sourceName,
        rawKey: object.key,
        arrival,
        file: {
          id: fileId,
          path: report?.path ?? fileId,
          name,
          modifiedMs,
          sizeBytes: object.sizeBytes,
          contentKind: ContentKind.Bytes,
          versionTag: `replay:${contentHash}`,
        },
      },
    });
  }
  entries.sort(
    (left, right) =>
      (left.replay.arrival?.arrivalSeq ?? Number.MAX_SAFE_INTEGER) -
        (right.replay.arrival?.arrivalSeq ?? Number.MAX_SAFE_INTEGER) ||
      left.lastModifiedMs - right.lastModifiedMs ||
      compareUtf8(left.replay.rawKey, right.replay.rawKey),
  );
  return { files: entries.map((entry) => entry.replay), retracted, duplicateContent };
}

/** Every object under `raw/` in the raw bucket. */
export async function listRawObjects(s3: S3Client, bucket: string): Promise<RawObject[]> {
  const objects: RawObject[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: 'raw/',
        ...(continuationToken === undefined ? {} : { ContinuationToken: continuationToken }),
      }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      objects.push({
        key: object.Key,
        sizeBytes: object.Size ?? 0,
        lastModifiedMs: object.LastModified?.getTime() ?? 0,
      });
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken !== undefined);
  return objects;
}

/** Lists the raw layer and reads the report of every file version in it. */
export async function readReplayPlan(s3: S3Client, bucket: string): Promise<ReplayPlan> {
  const objects = await listRawObjects(s3, bucket);
  const fileKeys = objects.filter((object) => isRawFileKey(object.key)).map((object) => object.key);
  const reports = new Map<string, IngestReport>();
  const queue = [...fileKeys];
  // A few reads in flight: one report per file version, small JSON objects.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        const report = await getReport(s3, bucket, `${key}${REPORT_SUFFIX}`);
        if (report !== undefined) reports.set(key, report);
      }
    }),
  );
  return planReplay(objects, reports);
}

/**
 * A `FileSource` over the replay files of one source name, reading each version's bytes from the
 * raw layer; it lists them in replay order (the poll cycle keeps that order when given `arrivalOf`).
 */
export function createRawReplaySource(
  s3: S3Client,
  bucket: string,
  sourceName: 'folder' | 'drive',
  files: readonly ReplayFile[],
): FileSource & { arrivalOf(file: SourceFile): OriginalArrival | undefined } {
  const mine = files.filter((entry) => entry.sourceName === sourceName);
  const byFile = new Map<SourceFile, ReplayFile>(mine.map((entry) => [entry.file, entry]));
  return {
    sourceName,
    location: `replay://${bucket}/raw/source=${sourceName}`,
    async listFiles() {
      return mine.map((entry) => entry.file);
    },
    async open(file) {
      const entry = byFile.get(file);
      if (entry === undefined) throw new RawKeyError(`${file.id} (not listed by this replay)`);
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: entry.rawKey }));
      if (response.Body === undefined) return Readable.from([]);
      return Readable.from(Buffer.from(await response.Body.transformToByteArray()));
    },
    arrivalOf(file) {
      return byFile.get(file)?.arrival;
    },
  };
}
