/** Errors of the dashboard: a refused configuration, or a read model that cannot be read. */

export class DashboardError extends Error {
  override name = 'DashboardError';
}

/** The dashboard would be reachable from other machines without a token, or a setting is invalid. */
export class DashboardConfigError extends DashboardError {
  override name = 'DashboardConfigError';
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
  }
}

export const ReadSource = { DynamoDb: 'DynamoDB', S3: 'S3' } as const;
export type ReadSource = (typeof ReadSource)[keyof typeof ReadSource];

/** A read of DynamoDB or S3 failed: the page shows this, never a blank chart. */
export class ReadModelError extends DashboardError {
  override name = 'ReadModelError';
  constructor(
    readonly source: ReadSource,
    /** What was being read, e.g. `Query ALL D#2023-08-01…D#2023-08-31`. */
    readonly operation: string,
    options?: ErrorOptions,
  ) {
    const cause = options?.cause;
    const detail =
      cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause ?? 'unknown error');
    super(`${source} could not be read (${operation}): ${detail}`, options);
  }
}

/** A query parameter is malformed (a date that is not `YYYY-MM-DD`, an inverted range). */
export class BadRequestError extends DashboardError {
  override name = 'BadRequestError';
  constructor(
    message: string,
    readonly parameter: string,
  ) {
    super(message);
  }
}
