/** Progress lines of long work, for logs that a person reads. */

/** How often long work says how far it has got. */
export const PROGRESS_EVERY_MS = 10_000;

/**
 * A logger of progress lines that lets one through at most every `PROGRESS_EVERY_MS` (the line is
 * built only then).
 */
export function progressLog(
  log: ((message: string) => void) | undefined,
  clock: () => number = () => performance.now(),
): (line: () => string) => void {
  let last = clock();
  return (line) => {
    if (log === undefined || clock() - last < PROGRESS_EVERY_MS) return;
    last = clock();
    log(line());
  };
}
