/** Errors of the independent recomputation (DuckDB) and of the comparison with the stream's marts. */

/** The recomputation could not run: an unreadable input folder, a bad setting, a failed query. */
export class ReconcileError extends Error {
  override name = 'ReconcileError';
  constructor(
    message: string,
    /** The file, setting or query step at fault. */
    readonly context: string,
    options?: ErrorOptions,
  ) {
    super(`${message} (${context})`, options);
  }
}
