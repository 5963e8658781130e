/** Errors of the mart computations. */

export class MartError extends Error {
  override name = 'MartError';
}

/**
 * The snapshot date needs days that a customer's rollup has already folded into totals, so the
 * snapshot could not leave later orders out exactly (DESIGN.md, hard part 4).
 */
export class AsOfBeforeHorizonError extends MartError {
  override name = 'AsOfBeforeHorizonError';
  constructor(
    readonly customerId: string,
    readonly asOf: string,
    readonly rollupThroughDate: string,
    readonly firstDayNeeded: string,
  ) {
    super(
      `as_of ${asOf} needs the days of customer ${customerId} from ${firstDayNeeded}, ` +
        `but they are rolled up through ${rollupThroughDate}`,
    );
  }
}

/** A date that is not `YYYY-MM-DD`. */
export class MartDateError extends MartError {
  override name = 'MartDateError';
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field} must be a date YYYY-MM-DD (given ${JSON.stringify(value)})`);
  }
}
