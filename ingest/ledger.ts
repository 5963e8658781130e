/**
 * The row identity ledger in DynamoDB (the `ledger` table, keys `pk` = `row#<ORDER_ID>`,
 * `sk` = `line|…` / `option|…`): who first accepted each identity, with which values. Claims are
 * conditional puts, so two pollers cannot both accept one identity.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
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
import { sleepMs } from './retry.js';

const BATCH_GET_MAX_KEYS = 100;

/** Reads the claims of `keys` (consistent reads), by `keyString`. */
export async function readClaims(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly IdentityKey[],
): Promise<Map<string, LedgerClaim>> {
  const claims = new Map<string, LedgerClaim>();
  const unique = [...new Map(keys.map((key) => [keyString(key), { pk: key.pk, sk: key.sk }])).values()];
  for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
    let requested: Record<string, unknown>[] = unique.slice(start, start + BATCH_GET_MAX_KEYS);
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
  }
  return claims;
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
