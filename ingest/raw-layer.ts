/**
 * The raw layer and quarantine in S3: every file byte for byte under a key naming its source, file
 * id and content hash, its ingest report beside it, and rejected rows as JSON Lines.
 */

import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ReasonCode } from '../shared/schemas/reasons.js';
import type { IngestReport } from './report.js';

const segment = (value: string): string => encodeURIComponent(value);

/** `raw/source=<folder|drive>/file=<encoded id>/sha256=<hash>/`: one folder per file version. */
export function rawPrefix(sourceName: string, fileId: string, contentHash: string): string {
  return `raw/source=${sourceName}/file=${segment(fileId)}/sha256=${contentHash}/`;
}

export function rawKey(sourceName: string, fileId: string, contentHash: string, name: string): string {
  return `${rawPrefix(sourceName, fileId, contentHash)}${segment(name)}`;
}

/** The report sits beside the raw file; the suffix cannot collide, the raw name being encoded once. */
export function reportKey(rawObjectKey: string): string {
  return `${rawObjectKey}.ingest-report.json`;
}

/** Where a file version's rejected rows go, in the quarantine bucket. */
export function quarantinePrefix(sourceName: string, fileId: string, contentHash: string): string {
  return `quarantine/source=${sourceName}/file=${segment(fileId)}/sha256=${contentHash}/`;
}

/** One quarantined row (a JSON line). */
export interface QuarantineRecord {
  readonly source: string;
  readonly file: string;
  readonly path: string;
  readonly contentHash: string | null;
  readonly arrivalSeq: number | null;
  /** 1-based row after the header; 0 for a whole file. */
  readonly row: number;
  readonly column: string | null;
  readonly raw: string;
  readonly reason: ReasonCode;
  readonly message: string;
  /** The file's header line, so `requeue` can re-validate the raw text. */
  readonly header: string;
  /** The file version's ingest report, which `requeue` updates. */
  readonly reportKey: string | null;
  readonly quarantinedAt: string;
}

/** Copies a file's bytes to the raw layer (idempotent: the key holds the content hash). */
export async function putRaw(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Buffer | Readable,
  contentLength: number,
  metadata: Record<string, string>,
  abortSignal?: AbortSignal,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentLength: contentLength,
      // S3 refuses bytes whose SHA-256 is not the one the key names (a file changed under a stream).
      ...(metadata['sha256'] === undefined
        ? {}
        : { ChecksumSHA256: Buffer.from(metadata['sha256'], 'hex').toString('base64') }),
      ContentType: 'application/octet-stream',
      // S3 metadata is ASCII: encode paths that are not.
      Metadata: Object.fromEntries(
        Object.entries(metadata).map(([name, value]) => [name, encodeURIComponent(value)]),
      ),
    }),
    abortSignal === undefined ? {} : { abortSignal },
  );
}

export async function getObjectBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) return Buffer.alloc(0);
  return Buffer.from(await response.Body.transformToByteArray());
}

export async function putReport(
  s3: S3Client,
  bucket: string,
  key: string,
  report: IngestReport,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(report, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}

export async function getReport(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<IngestReport | undefined> {
  try {
    return JSON.parse((await getObjectBytes(s3, bucket, key)).toString('utf8')) as IngestReport;
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** Writes quarantined rows as one JSON Lines object (overwritten whole by a re-run). */
export async function putQuarantine(
  s3: S3Client,
  bucket: string,
  key: string,
  records: readonly QuarantineRecord[],
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: records.map((record) => JSON.stringify(record)).join('\n') + '\n',
      ContentType: 'application/x-ndjson',
    }),
  );
}

/** The quarantine records of one object (none when it does not exist, or was blanked). */
export async function getQuarantine(s3: S3Client, bucket: string, key: string): Promise<QuarantineRecord[]> {
  let text: string;
  try {
    text = (await getObjectBytes(s3, bucket, key)).toString('utf8');
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as QuarantineRecord);
}

/** Every object key under `prefix`, sorted. */
export async function listObjectKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}
