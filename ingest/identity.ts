/**
 * Row identities and the dedupe decision (CONTRACT.md §1): a line item is (ORDER_ID, LINEITEM_ID),
 * an option (ORDER_ID, LINEITEM_ID, OPTION_GROUP_NAME, OPTION_NAME). The first accepted row of an
 * identity wins; an identical row is a duplicate; a different one is a conflicting duplicate.
 * Pure: the ledger I/O lives in `ledger.ts`.
 */
import { createHash } from 'node:crypto';
import type { LineItem, LineOption } from '../shared/schemas/input.js';

export const RowKind = { Line: 'line', Option: 'option' } as const;
export type RowKind = (typeof RowKind)[keyof typeof RowKind];

/** Ledger key of one identity: the order is the partition, so an order's identities sit together. */
export interface IdentityKey {
  readonly pk: string;
  readonly sk: string;
}

/** Prefix of every ingest identity in the ledger table, apart from the processors' keys. */
export const LEDGER_PREFIX = 'row#';

// encodeURIComponent escapes `|` and `#`, so the joined parts cannot run into each other.
const part = (value: string): string => encodeURIComponent(value);

/** DynamoDB's key limits, in UTF-8 bytes. */
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

/**
 * `plain` when it fits `maxBytes`, else `<prefix>sha256:<hex of plain>`. Every key that fits stays
 * as it always was; `:` is escaped in encoded parts, so a hashed key never equals a plain one.
 * Ids may be 256 characters and names 1,000, and URI-encoded non-ASCII takes 9 bytes a character.
 */
export function boundedKey(prefix: string, plain: string, maxBytes: number): string {
  if (Buffer.byteLength(plain) <= maxBytes) return plain;
  return `${prefix}sha256:${createHash('sha256').update(plain).digest('hex')}`;
}

export function orderPartition(orderId: string): string {
  return boundedKey(LEDGER_PREFIX, `${LEDGER_PREFIX}${part(orderId)}`, MAX_PARTITION_KEY_BYTES);
}

export function lineKey(orderId: string, lineItemId: string): IdentityKey {
  return { pk: orderPartition(orderId), sk: `line|${part(lineItemId)}` };
}

export function optionKey(
  option: Pick<LineOption, 'orderId' | 'lineItemId' | 'groupName' | 'optionName'>,
): IdentityKey {
  return {
    pk: orderPartition(option.orderId),
    sk: `option|${part(option.lineItemId)}|${part(option.groupName)}|${part(option.optionName)}`,
  };
}

export function keyString(key: IdentityKey): string {
  return `${key.pk}\u0000${key.sk}`;
}

/**
 * Hash of a line's normalised values: equal hashes mean equal rows after normalisation
 * (`TRUE` = `1`, `2.5` = `2.50`, timestamps as instants), because the validated record holds them
 * normalised.
 */
export function lineValueHash(line: LineItem): string {
  return sha256Json([
    line.appName,
    line.restaurantId,
    line.createdAtMs,
    line.orderId,
    line.userId,
    line.printedCardNumber,
    line.isLoyalty,
    line.currency,
    line.lineItemId,
    line.category,
    line.itemName,
    line.unitPriceCents,
    line.quantity,
  ]);
}

export function optionValueHash(option: LineOption): string {
  return sha256Json([
    option.orderId,
    option.lineItemId,
    option.groupName,
    option.optionName,
    option.priceCents,
    option.quantity,
  ]);
}

function sha256Json(values: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(values)).digest('hex');
}

/** Where a row was read: the file version and the 1-based row number. */
export interface RowClaimant {
  /** `<source>:<file id>` */
  readonly fileKey: string;
  readonly contentHash: string;
  readonly row: number;
}

export const ClaimStatus = {
  /** The row is accepted: its record was (or is about to be) put on the stream. */
  Accepted: 'accepted',
  /** An option waiting for its line item. */
  Pending: 'pending',
} as const;
export type ClaimStatus = (typeof ClaimStatus)[keyof typeof ClaimStatus];

/** A ledger item: who first accepted an identity, and with which values. */
export interface LedgerClaim extends IdentityKey, RowClaimant {
  readonly kind: RowKind;
  readonly valueHash: string;
  readonly status: ClaimStatus;
  readonly claimedAtMs: number;
}

export const Decision = {
  /** No claim yet: claim it and accept the row. */
  Claim: 'claim',
  /** This very row (same file version, same row) claimed it before a crash: accept it again. */
  OwnClaim: 'own_claim',
  Duplicate: 'duplicate',
  ConflictingDuplicate: 'conflicting_duplicate',
} as const;
export type Decision = (typeof Decision)[keyof typeof Decision];

export function isSameClaimant(left: RowClaimant, right: RowClaimant): boolean {
  return left.fileKey === right.fileKey && left.contentHash === right.contentHash && left.row === right.row;
}

/**
 * The decision for one row given the identity's current claim.
 *
 * @example
 * decide(undefined, { valueHash: 'a', fileKey: 'folder:x.csv', contentHash: 'h', row: 1 }); // 'claim'
 */
export function decide(
  existing: Pick<LedgerClaim, 'valueHash' | 'fileKey' | 'contentHash' | 'row'> | undefined,
  candidate: RowClaimant & { readonly valueHash: string },
): Decision {
  if (existing === undefined) return Decision.Claim;
  if (existing.valueHash !== candidate.valueHash) return Decision.ConflictingDuplicate;
  return isSameClaimant(existing, candidate) ? Decision.OwnClaim : Decision.Duplicate;
}

/** A row to decide, in file order. */
export interface Candidate extends RowClaimant {
  readonly key: IdentityKey;
  readonly valueHash: string;
}

/**
 * Decides rows in order against the ledger's claims (`existing`, by `keyString`), counting the
 * claims that earlier rows of the same batch make: the second of two identical rows in one file
 * is a duplicate of the first.
 */
export function decideInOrder(
  candidates: readonly Candidate[],
  existing: ReadonlyMap<string, Pick<LedgerClaim, 'valueHash' | 'fileKey' | 'contentHash' | 'row'>>,
): Decision[] {
  const claims = new Map(existing);
  return candidates.map((candidate) => {
    const key = keyString(candidate.key);
    const decision = decide(claims.get(key), candidate);
    if (decision === Decision.Claim) claims.set(key, candidate);
    return decision;
  });
}
