/** Benchmark sizes from the environment, so bigger runs need no code change. */

/** A size setting that is not a positive integer. */
export class BenchSettingError extends Error {
  override name = 'BenchSettingError';
  constructor(
    readonly setting: string,
    readonly given: string,
  ) {
    super(`${setting} must be a positive integer (given ${JSON.stringify(given)})`);
  }
}

/**
 * The positive integer `env[name]`, or `fallback` when it is unset or empty.
 *
 * @example
 * positiveIntegerSetting(process.env, 'TILLSTREAM_BENCH_INGEST_ROWS', 1_000_000);
 */
export function positiveIntegerSetting(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value.replaceAll('_', ''));
  if (!Number.isSafeInteger(parsed) || parsed <= 0) throw new BenchSettingError(name, value);
  return parsed;
}
