/** Errors of the snapshot writer and reader. */

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

/** No manifest for the snapshot date: the snapshot does not exist (or is not complete yet). */
export class SnapshotNotFoundError extends SnapshotError {
  override name = 'SnapshotNotFoundError';
  constructor(
    readonly bucket: string,
    readonly snapshotDate: string,
  ) {
    super(`no snapshot for ${snapshotDate} in s3://${bucket} (no manifest)`);
  }
}

/** A file named by the manifest does not match its recorded checksum or size. */
export class SnapshotChecksumError extends SnapshotError {
  override name = 'SnapshotChecksumError';
  constructor(
    readonly key: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(`s3 object ${key} has sha256 ${actualSha256}, the manifest says ${expectedSha256}`);
  }
}

/** A manifest that is not the JSON this writer produces. */
export class ManifestFormatError extends SnapshotError {
  override name = 'ManifestFormatError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`manifest ${key} is malformed: ${reason}`);
  }
}
