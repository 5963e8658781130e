/** Errors of the ingest stage: each names the file (and source) at fault. */

/** Base of every ingest error. */
export class IngestError extends Error {
  override name = 'IngestError';
}

/** A source (folder or Drive) could not be listed or read after its retries. */
export class SourceError extends IngestError {
  override name = 'SourceError';
  constructor(
    message: string,
    readonly source: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A Google Sheet larger than Drive's export cap: it cannot be read whole, so it is not read at all. */
export class ExportTooLargeError extends SourceError {
  override name = 'ExportTooLargeError';
  constructor(
    readonly fileId: string,
    source: string,
    options?: ErrorOptions,
  ) {
    super(`Drive cannot export ${fileId} whole as CSV (export size limit exceeded)`, source, options);
  }
}

/** Some PutRecords entries still failed after every retry. */
export class PutRecordsError extends IngestError {
  override name = 'PutRecordsError';
  constructor(
    message: string,
    readonly failedCount: number,
    readonly lastErrorCode: string | undefined,
  ) {
    super(message);
  }
}

/** An ingest report whose counts do not add up: a bug, never written. */
export class ReportInvariantError extends IngestError {
  override name = 'ReportInvariantError';
  constructor(
    message: string,
    readonly fileId: string,
  ) {
    super(message);
  }
}
