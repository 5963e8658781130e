/**
 * Turn-taking for `tillstream backfill`: history goes through poll cycles over chunks of the
 * listing, sized from the measured throughput so that a turn (several chunks) ends within its time
 * budget; between turns the backfill gives the poller lease up so the live poller gets in.
 *
 * Invariant: a chunk's cycle lands and ingests the same files, so no file the backfill landed is
 * left unfinished when it gives the lease up (a live cycle would ingest it without the rate limit).
 * The lease therefore changes hands only between cycles, never in the middle of a file.
 */
import { exportKindOfFirstLine } from '../../shared/input/header.js';
import { FileKind } from '../../shared/schemas/input.js';
import { arrivalOrder, type FileSource, type SourceFile } from '../source.js';

/** The measured cost of files, and from it how many of the next files fit a time budget. Pure. */
export class ChunkPlanner {
  private bytes = 0;
  private files = 0;
  private elapsedMs = 0;

  /** Records what one cycle over `files` files of `bytes` bytes took. */
  observe(files: number, bytes: number, elapsedMs: number): void {
    this.files += files;
    this.bytes += bytes;
    this.elapsedMs += Math.max(0, elapsedMs);
  }

  /** Expected milliseconds for a file of `sizeBytes` (unknown size: the mean file), or null before any measure. */
  estimateMs(sizeBytes: number | null): number | null {
    if (this.files === 0) return null;
    const meanBytes = this.bytes / this.files;
    const bytes = sizeBytes ?? meanBytes;
    if (this.bytes === 0) return this.elapsedMs / this.files;
    return (bytes * this.elapsedMs) / this.bytes;
  }

  /**
   * How many of `sizes` (the next files, in order) to take within `budgetMs`: at least one, and
   * only one before any measure (a chunk never overshoots by more than its first file).
   */
  take(sizes: readonly (number | null)[], budgetMs: number): number {
    if (sizes.length === 0) return 0;
    let spentMs = 0;
    let count = 0;
    for (const size of sizes) {
      const estimate = this.estimateMs(size);
      if (estimate === null) return 1;
      if (count > 0 && spentMs + estimate > budgetMs) break;
      spentMs += estimate;
      count++;
    }
    return count;
  }
}

/** Reference exports, ingested before orders in a cycle; a backfill takes them in its first chunk. */
export const REFERENCE_KINDS: ReadonlySet<string> = new Set([FileKind.Locations, FileKind.DateDim]);

/** The export kind a file's first line names, or null; reads at most 64 KiB and closes the stream. */
export async function peekKind(source: FileSource, file: SourceFile): Promise<string | null> {
  let head = Buffer.alloc(0);
  const stream = await source.open(file);
  try {
    for await (const chunk of stream) {
      head = Buffer.concat([head, typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)]);
      if (head.includes(0x0a) || head.length >= 65_536) break;
    }
  } catch {
    // Unreadable now: the cycle that lands it reports why.
    return null;
  } finally {
    stream.destroy();
  }
  return exportKindOfFirstLine(head);
}

/**
 * The files a backfill still has to take, in the order it takes them: reference files first (one
 * plain cycle ingests them before any order, so orders get their location's zone), then arrival
 * order. `isDone` tells files whose listed version is already landed and finished.
 */
export async function backfillQueue(
  source: FileSource,
  files: readonly SourceFile[],
  isDone: (file: SourceFile) => Promise<boolean>,
): Promise<SourceFile[]> {
  const reference: SourceFile[] = [];
  const others: SourceFile[] = [];
  for (const file of arrivalOrder(files)) {
    if (await isDone(file)) continue;
    const kind = await peekKind(source, file).catch(() => null);
    (kind !== null && REFERENCE_KINDS.has(kind) ? reference : others).push(file);
  }
  return [...reference, ...others];
}

/**
 * A source that lists only `files` (one chunk) of `source`. Its `commit` moves the source's
 * watermark only when `commitsSource` says so (the last chunk, after no chunk failed to land a
 * file): a watermark moved earlier would skip the files of later chunks after a crash.
 */
export function chunkSource(
  source: FileSource,
  files: readonly SourceFile[],
  commitsSource: () => boolean,
): FileSource {
  return {
    sourceName: source.sourceName,
    location: source.location,
    listFiles: async () => [...files],
    open: (file) => source.open(file),
    async commit() {
      if (commitsSource()) await source.commit?.();
    },
  };
}
