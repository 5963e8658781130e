/**
 * The row identity ledger in DynamoDB (the `ledger` table, keys `pk` = `row#<ORDER_ID>`,
 * `sk` = `line|…` / `option|…`): who first accepted each identity, with which values.
 *
 * Invariant: the poller is the ledger's single writer. One poll runs at a time (locally the
 * state-dir lock, on AWS the poller Lambda's reserved concurrency of 1), and `requeue` holds the
 * same lock locally. So a claim decided against a consistent read cannot be taken by anyone else
 * before it is written, and the poller writes its claims with unconditional `BatchWriteItem`
 * (`writeClaims`), 25 per request and several requests in flight: ~25× fewer requests than one
 * conditional put per row. `putClaim` (conditional) remains for the rare single-row writers.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ClaimStatus,
  type IdentityKey,
  keyString,
  type LedgerClaim,
  type RowClaimant,
} from './identity.js';
import { mapLimit, sleepMs } from './retry.js';

const BATCH_GET_MAX_KEYS = 100;
const BATCH_WRITE_MAX_ITEMS = 25;
/** BatchWriteItem requests in flight at once. */
const BATCH_WRITE_CONCURRENCY = 8;
/** BatchGetItem requests in flight at once. */
const BATCH_GET_CONCURRENCY = 8;

/** Reads the claims of `keys` (consistent reads), by `keyString`. */
export async function readClaims(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly IdentityKey[],
): Promise<Map<string, LedgerClaim>> {
  const claims = new Map<string, LedgerClaim>();
  const unique = [...new Map(keys.map((key) => [keyString(key), { pk: key.pk, sk: key.sk }])).values()];
  const chunks: Record<string, unknown>[][] = [];
  for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
    chunks.push(unique.slice(start, start + BATCH_GET_MAX_KEYS));
  }
  await mapLimit(chunks, BATCH_GET_CONCURRENCY, async (chunk) => {
    let requested = chunk;
    for (let attempt = 1; requested.length > 0; attempt++) {
      const response = await doc.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: requested, ConsistentRead: true } } }),
      );
      for (const item of response.Responses?.[tableName] ?? []) {
        const claim = item as LedgerClaim;
        claims.set(keyString(claim), claim);
      }
      requested = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
      // Unprocessed keys mean throttling: back off before asking again.
      if (requested.length > 0) await sleepMs(Math.min(2000, 25 * 2 ** attempt));
    }
  });
  return claims;
}

/**
 * Writes claims unconditionally with `BatchWriteItem` (the single-writer invariant above makes the
 * preceding consistent read authoritative), retrying unprocessed items with backoff. A later claim
 * of one key in `claims` replaces an earlier one.
 */
export async function writeClaims(
  doc: DynamoDBDocumentClient,
  tableName: string,
  claims: readonly LedgerClaim[],
): Promise<void> {
  // One BatchWriteItem may not name a key twice.
  const unique = [...new Map(claims.map((claim) => [keyString(claim), claim])).values()];
  const chunks: LedgerClaim[][] = [];
  for (let start = 0; start < unique.length; start += BATCH_WRITE_MAX_ITEMS) {
    chunks.push(unique.slice(start, start + BATCH_WRITE_MAX_ITEMS));
  }
  await mapLimit(chunks, BATCH_WRITE_CONCURRENCY, async (chunk) => {
    let requests: NonNullable<BatchWriteCommandInput['RequestItems']>[string] = chunk.map((claim) => ({
      PutRequest: { Item: { ...claim } },
    }));
    for (let attempt = 1; requests.length > 0; attempt++) {
      const response = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = response.UnprocessedItems?.[tableName] ?? [];
      if (requests.length > 0) await sleepMs(Math.min(2000, 25 * 2 ** attempt));
    }
  });
}

/** Claims an identity; false when another row claimed it first. */
export async function putClaim(
  doc: DynamoDBDocumentClient,
  tableName: string,
  claim: LedgerClaim,
): Promise<boolean> {
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...claim },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

const heldBy = 'fileKey = :fileKey AND contentHash = :contentHash AND #row = :row';
const heldByValues = (claimant: RowClaimant): Record<string, unknown> => ({
  ':fileKey': claimant.fileKey,
  ':contentHash': claimant.contentHash,
  ':row': claimant.row,
});

/** Moves a claim held by `claimant` to `status`; false when the claim is no longer theirs. */
export async function setClaimStatus(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: IdentityKey,
  claimant: RowClaimant,
  status: ClaimStatus,
): Promise<boolean> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'SET #status = :status',
        ConditionExpression: heldBy,
        ExpressionAttributeNames: { '#status': 'status', '#row': 'row' },
        ExpressionAttributeValues: { ...heldByValues(claimant), ':status': status },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Releases a claim held by `claimant` (an orphaned option), so a later delivery can be accepted. */
export async function releaseClaim(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: IdentityKey,
  claimant: RowClaimant,
): Promise<void> {
  try {
    await doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { pk: key.pk, sk: key.sk },
        ConditionExpression: heldBy,
        ExpressionAttributeNames: { '#row': 'row' },
        ExpressionAttributeValues: heldByValues(claimant),
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
