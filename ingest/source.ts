/**
 * The one interface every file source implements (a local folder, Google Drive): list the files
 * that may be new or changed, and open one as bytes. Deciding what is actually new belongs to the
 * poller, by content hash.
 */
import type { Readable } from 'node:stream';

/** How a listed file's bytes are obtained. */
export const ContentKind = {
  /** A stored file (CSV or anything else): downloaded as is. */
  Bytes: 'bytes',
  /** A Google Sheet: read through Drive's CSV export (first sheet). */
  SheetExport: 'sheet_export',
  /** A Google document that has no CSV form (Docs, Slides, Forms…): reported and skipped. */
  Unsupported: 'unsupported',
} as const;
export type ContentKind = (typeof ContentKind)[keyof typeof ContentKind];

/** One file as the source lists it. */
export interface SourceFile {
  /** Stable within the source: a path relative to the folder, or a Drive file id. */
  readonly id: string;
  /** Human path for reports, `folder/sub/name.csv`. */
  readonly path: string;
  /** The file's own name (last path segment). */
  readonly name: string;
  /** Last modification, UTC epoch ms. */
  readonly modifiedMs: number;
  /** Size in bytes when the source knows it (a Sheet's export size is not known). */
  readonly sizeBytes: number | null;
  readonly contentKind: ContentKind;
  /**
   * A cheap fingerprint of the version (mtime+size, Drive md5 or version): when it equals the
   * one recorded last time, the poller skips the file without reading it.
   */
  readonly versionTag: string;
}

/** A source of export files. */
export interface FileSource {
  /** `folder` or `drive`: the first segment of every raw key from this source. */
  readonly sourceName: 'folder' | 'drive';
  /** A stable name of the listed root(s) for state keys, e.g. the folder path or `drive://ID`. */
  readonly location: string;
  /** Every readable file under the root(s); trashed files are never listed. */
  listFiles(): Promise<SourceFile[]>;
  /** The file's bytes (for a Sheet: its CSV export). */
  open(file: SourceFile): Promise<Readable>;
  /**
   * Called once every listed file is landed in the raw layer: the source may then advance its
   * change watermark (never before, so a crash re-lists what was not landed).
   */
  commit?(): Promise<void>;
}

/** Reads a whole stream into one buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks);
}

/** Compares two strings as UTF-8 bytes (CONTRACT.md §1: the arrival tie-break within one poll). */
export function compareUtf8(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8'));
}

/** Files in arrival order: modified time, then path as UTF-8 bytes, then id. */
export function arrivalOrder(files: readonly SourceFile[]): SourceFile[] {
  return [...files].sort(
    (left, right) =>
      left.modifiedMs - right.modifiedMs ||
      compareUtf8(left.path, right.path) ||
      compareUtf8(left.id, right.id),
  );
}
