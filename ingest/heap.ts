/**
 * How far the poller's heap may grow between full garbage collections.
 *
 * A poll cycle's live heap is small and does not grow with the export: at file boundaries a full
 * GC keeps about 30–40 MiB (the loaded code and the file in hand) whether the poll holds 100k or
 * 1M rows. But each file's rows, ledger claims and events live for seconds while DynamoDB and
 * Kinesis answer, so they survive the young generation and die in the old one, and V8 lets the old
 * generation grow up to 4× what its last full GC kept before it collects again (more when
 * collections are cheap next to the work between them). The heap, and RSS with it, then followed
 * V8's allocation heuristics rather than the data: 150–200 MiB of mostly garbage.
 *
 * A growing factor of 1.3 (V8's own "conservative" factor under memory pressure) makes the limit
 * proportional to the live set instead. It is a soft bound: a large file still gets all the heap it
 * needs (unlike `--max-old-space-size`, which would crash the poll on a file near
 * `max_file_bytes`), and the cost is more frequent full GCs of a small heap.
 */
import v8 from 'node:v8';

let appliedPercent = 0;

/**
 * Sets V8's heap growing factor to `1 + percent / 100` for this process (0: V8's own dynamic
 * factor). Process-wide, so it is set only where the poller has the process to itself: `tillstream
 * poll` and the poller Lambda. `tillstream run`, `up` and `demo` poll and process in one process,
 * and there the processors' work pays for the extra full GCs (`npm start` took a median 13% longer
 * over two paired runs), so they keep V8's own factor.
 *
 * @param percent the `pollHeapGrowingPercent` setting, an integer from 0 to 300
 * @param setFlags V8's flag setter; injectable for tests
 * @example
 * boundHeapGrowth(settings.pollHeapGrowingPercent);
 */
export function boundHeapGrowth(
  percent: number,
  setFlags: (flags: string) => void = v8.setFlagsFromString,
): void {
  if (!Number.isInteger(percent) || percent < 0 || percent > 300) {
    throw new RangeError(`heap growing percent must be an integer from 0 to 300 (given ${percent})`);
  }
  if (percent === appliedPercent) return;
  setFlags(`--heap-growing-percent=${percent}`);
  appliedPercent = percent;
}
