/** Errors of `tillstream rebuild`. */

export class RebuildError extends Error {
  override name = 'RebuildError';
  constructor(
    message: string,
    /** The generation being built, when known. */
    readonly generation?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A raw object whose key is not `raw/source=…/file=…/sha256=…/<name>`. */
export class RawKeyError extends RebuildError {
  override name = 'RawKeyError';
  constructor(readonly key: string) {
    super(`s3 object ${key} is not a raw-layer file key`);
  }
}
