/** Errors of `tillstream retract`: each names the file the operator asked for. */

/** Base of every retraction error. */
export class RetractionError extends Error {
  override name = 'RetractionError';
  constructor(
    message: string,
    /** The FILE argument: a Drive file id or a path relative to the input folder. */
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** No landed version of the file is known (never polled, or only skipped as a whole). */
export class UnknownFileError extends RetractionError {
  override name = 'UnknownFileError';
  constructor(file: string, detail: string) {
    super(`no ingested upload matches ${JSON.stringify(file)}${detail}`, file);
  }
}

/** The path names files of several sources or ids: the operator must pick one by id. */
export class AmbiguousFileError extends RetractionError {
  override name = 'AmbiguousFileError';
  constructor(
    file: string,
    readonly candidates: readonly string[],
  ) {
    super(`${JSON.stringify(file)} names several files; retract one of: ${candidates.join(', ')}`, file);
  }
}
