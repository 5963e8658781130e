/**
 * The row identity ledger in DynamoDB (the `ledger` table): who first accepted each identity, with
 * which values. One item per order (`pk` = `row#<ORDER_ID>`, `sk` = `order`) holds every claim of
 * the order, one attribute per identity: its name is the identity's sort key (`line|…` /
 * `option|…`), its value the claim as a JSON array (`ClaimCodec`). An order's rows (its lines, its
 * options, and the options' lines) are thus read with one item read and written with one item
 * write: ~3 item operations per order where one item per identity cost ~9.
 *
 * Invariant: the poller is the ledger's single writer. One poll runs at a time (locally the
 * state-dir lock, on AWS the poller Lambda's reserved concurrency of 1), and `requeue` and
 * `retract` hold the same lock or the poller's lease. So a claim decided against a consistent read
 * cannot be taken by anyone else before it is written, and the poller writes whole order items with
 * unconditional `BatchWriteItem` (`ClaimLedger.write`), 25 per request and several requests in
 * flight. The single-identity writers (`putClaim`, `releaseClaim`) update one attribute under a
 * condition, and never race the poller.
 *
 * Ledgers written before this layout (one item per identity, `sk` = the identity) are folded into
 * order items once, by `ensureLedgerLayout`, before anything reads them.
 */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { progressLog } from '../shared/progress.js';
import {
  ClaimStatus,
  type IdentityKey,
  keyString,
  LEDGER_PREFIX,
  type LedgerClaim,
  type RowClaimant,
  RowKind,
} from './identity.js';
import { mapLimit, sleepMs } from './retry.js';

const BATCH_GET_MAX_KEYS = 100;
const BATCH_WRITE_MAX_ITEMS = 25;
/** BatchWriteItem requests in flight at once. */
const BATCH_WRITE_CONCURRENCY = 8;
/** BatchGetItem requests in flight at once. */
const BATCH_GET_CONCURRENCY = 8;
/** The sort key of an order's claims item. */
export const ORDER_CLAIMS_SK = 'order';
/**
 * Orders whose claims a `ClaimLedger` keeps between calls: an options file's orders are read again
 * by the lines file after it. ~1 KiB each for an order of a few rows.
 */
const DEFAULT_CACHED_ORDERS = 20_000;
/** The item that says the ledger holds no claim in the per-identity layout any more. */
const LAYOUT_MARKER = { pk: 'ledger#layout', sk: 'order-items' } as const;

/** A ledger item that is neither layout's: named, so a corrupted table is found, not misread. */
export class LedgerFormatError extends Error {
  override name = 'LedgerFormatError';
  constructor(
    message: string,
    readonly pk: string,
    readonly attribute: string,
  ) {
    super(message);
  }
}

const EncodedClaim = z.tuple([
  z.string(),
  z.string(),
  z.number().int().min(0),
  z.enum([ClaimStatus.Accepted, ClaimStatus.Pending]),
  z.enum([RowKind.Line, RowKind.Option]),
  z.string(),
  z.number(),
]);

/**
 * A claim as one attribute value: `[fileKey, contentHash, row, status, kind, valueHash,
 * claimedAtMs]`. The claimant comes first, so "held by this row" is a `begins_with` on the value.
 */
export const ClaimCodec = {
  encode(claim: LedgerClaim): string {
    return JSON.stringify([
      claim.fileKey,
      claim.contentHash,
      claim.row,
      claim.status,
      claim.kind,
      claim.valueHash,
      claim.claimedAtMs,
    ]);
  },
  /** The prefix of every encoded claim `claimant` holds. */
  holderPrefix(claimant: RowClaimant): string {
    return `${JSON.stringify([claimant.fileKey, claimant.contentHash, claimant.row]).slice(0, -1)},`;
  },
  decode(key: IdentityKey, value: unknown): LedgerClaim {
    let parsed: unknown;
    try {
      parsed = typeof value === 'string' ? JSON.parse(value) : value;
    } catch {
      parsed = undefined;
    }
    const tuple = EncodedClaim.safeParse(parsed);
    if (!tuple.success) {
      throw new LedgerFormatError(
        `ledger item ${key.pk}: attribute ${key.sk} is not a claim (${String(value).slice(0, 80)})`,
        key.pk,
        key.sk,
      );
    }
    const [fileKey, contentHash, row, status, kind, valueHash, claimedAtMs] = tuple.data;
    return { pk: key.pk, sk: key.sk, fileKey, contentHash, row, status, kind, valueHash, claimedAtMs };
  },
} as const;

/**
 * DynamoDB's item size limit (400 KB), less room for the keys: an order's claims must fit one
 * item, about 1,600 rows of one order at ~250 bytes a claim.
 */
export const MAX_ORDER_CLAIMS_BYTES = 390 * 1024;

/** An order with more rows than one ledger item holds: named, instead of DynamoDB's bare size error. */
export class OrderTooLargeError extends Error {
  override name = 'OrderTooLargeError';
  constructor(
    readonly pk: string,
    readonly claims: number,
    readonly bytes: number,
  ) {
    super(
      `order ${decodeURIComponent(pk.slice(LEDGER_PREFIX.length))} has ${claims} row claims (${bytes} bytes), ` +
        `more than one ledger item holds (${MAX_ORDER_CLAIMS_BYTES} bytes, about 1,600 rows)`,
    );
  }
}

/** UTF-8 bytes of an order's claims as DynamoDB counts them (names and values). */
function claimsBytes(claims: OrderClaims): number {
  let bytes = 0;
  for (const [name, value] of claims) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/** Whether an attribute of an order item is a claim (not a key attribute). */
const isClaimAttribute = (name: string): boolean => name !== 'pk' && name !== 'sk';

/** An order's claims as stored: identity sort key → encoded claim. */
type OrderClaims = Map<string, string>;

function orderItem(pk: string, claims: OrderClaims): Record<string, unknown> {
  const item: Record<string, unknown> = { pk, sk: ORDER_CLAIMS_SK };
  for (const [sk, value] of claims) item[sk] = value;
  return item;
}

function claimsOfItem(item: Record<string, unknown>): OrderClaims {
  const claims: OrderClaims = new Map();
  for (const [name, value] of Object.entries(item)) {
    if (!isClaimAttribute(name)) continue;
    if (typeof value !== 'string') {
      throw new LedgerFormatError(
        `ledger item ${String(item['pk'])}: attribute ${name} is not a claim`,
        String(item['pk']),
        name,
      );
    }
    claims.set(name, value);
  }
  return claims;
}

/** Reads order items by `pk` (consistent reads); absent orders map to no claims. */
async function readOrders(
  doc: DynamoDBDocumentClient,
  tableName: string,
  partitions: readonly string[],
): Promise<Map<string, OrderClaims>> {
  const orders = new Map<string, OrderClaims>();
  for (const pk of partitions) orders.set(pk, new Map());
  const chunks: Record<string, unknown>[][] = [];
  for (let start = 0; start < partitions.length; start += BATCH_GET_MAX_KEYS) {
    chunks.push(
      partitions.slice(start, start + BATCH_GET_MAX_KEYS).map((pk) => ({ pk, sk: ORDER_CLAIMS_SK })),
    );
  }
  await mapLimit(chunks, BATCH_GET_CONCURRENCY, async (chunk) => {
    let requested = chunk;
    for (let attempt = 1; requested.length > 0; attempt++) {
      const response = await doc.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: requested, ConsistentRead: true } } }),
      );
      for (const item of response.Responses?.[tableName] ?? []) {
        orders.set(String(item['pk']), claimsOfItem(item));
      }
      requested = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
      // Unprocessed keys mean throttling: back off before asking again.
      if (requested.length > 0) await sleepMs(Math.min(2000, 25 * 2 ** attempt));
    }
  });
  return orders;
}

/** Puts whole order items unconditionally (single writer), unprocessed items retried with backoff. */
async function writeOrders(
  doc: DynamoDBDocumentClient,
  tableName: string,
  orders: ReadonlyMap<string, OrderClaims>,
): Promise<void> {
  for (const [pk, claims] of orders) {
    const bytes = claimsBytes(claims);
    if (bytes > MAX_ORDER_CLAIMS_BYTES) throw new OrderTooLargeError(pk, claims.size, bytes);
  }
  await sendWrites(
    doc,
    tableName,
    [...orders].map(([pk, claims]) => ({ PutRequest: { Item: orderItem(pk, claims) } })),
  );
}

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** Sends `requests` as `BatchWriteItem`s of 25, several in flight, unprocessed ones retried with backoff. */
async function sendWrites(
  doc: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
): Promise<void> {
  const chunks: WriteRequest[][] = [];
  for (let start = 0; start < requests.length; start += BATCH_WRITE_MAX_ITEMS) {
    chunks.push(requests.slice(start, start + BATCH_WRITE_MAX_ITEMS));
  }
  await mapLimit(chunks, BATCH_WRITE_CONCURRENCY, async (chunk) => {
    let pending = chunk;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const response = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = response.UnprocessedItems?.[tableName] ?? [];
      if (pending.length > 0) await sleepMs(Math.min(2000, 25 * 2 ** attempt));
    }
  });
}

/**
 * The poller's view of the ledger for one cycle: reads and writes whole order items, and keeps the
 * orders it read or wrote (up to a bound) so a later file of the same cycle does not read them
 * again. Sound because the poller is the single writer: nobody else changes an order it holds.
 */
export class ClaimLedger {
  private readonly cache = new Map<string, OrderClaims>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly maxCachedOrders = DEFAULT_CACHED_ORDERS,
  ) {}

  private remember(pk: string, claims: OrderClaims): void {
    this.cache.delete(pk);
    this.cache.set(pk, claims);
    // Oldest first out: Map keeps insertion order, and a touched order is re-inserted above.
    while (this.cache.size > this.maxCachedOrders) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Every claim of the orders in `partitions`, from the cache or one consistent read. */
  private async orders(partitions: Iterable<string>): Promise<Map<string, OrderClaims>> {
    const found = new Map<string, OrderClaims>();
    const missing: string[] = [];
    for (const pk of new Set(partitions)) {
      const cached = this.cache.get(pk);
      if (cached === undefined) missing.push(pk);
      else found.set(pk, cached);
    }
    if (missing.length > 0) {
      for (const [pk, claims] of await readOrders(this.doc, this.tableName, missing)) {
        found.set(pk, claims);
        this.remember(pk, claims);
      }
    }
    return found;
  }

  /** The claims of `keys` that exist, by `keyString`. */
  async read(keys: readonly IdentityKey[]): Promise<Map<string, LedgerClaim>> {
    const orders = await this.orders(keys.map((key) => key.pk));
    const claims = new Map<string, LedgerClaim>();
    for (const key of keys) {
      const value = orders.get(key.pk)?.get(key.sk);
      if (value !== undefined) claims.set(keyString(key), ClaimCodec.decode(key, value));
    }
    return claims;
  }

  /**
   * Writes `claims` into their orders' items (one put per order, the order's other claims kept).
   * A later claim of one key in `claims` replaces an earlier one.
   */
  async write(claims: readonly LedgerClaim[]): Promise<void> {
    if (claims.length === 0) return;
    const orders = await this.orders(claims.map((claim) => claim.pk));
    const changed = new Map<string, OrderClaims>();
    for (const claim of claims) {
      const updated = changed.get(claim.pk) ?? new Map(orders.get(claim.pk));
      updated.set(claim.sk, ClaimCodec.encode(claim));
      changed.set(claim.pk, updated);
    }
    // Forgotten first: a failed write must not leave the cache ahead of the table.
    for (const pk of changed.keys()) this.cache.delete(pk);
    await writeOrders(this.doc, this.tableName, changed);
    for (const [pk, updated] of changed) this.remember(pk, updated);
  }

  /** Releases a claim held by `claimant` (`releaseClaim`), keeping the cache in step. */
  async release(key: IdentityKey, claimant: RowClaimant): Promise<void> {
    this.cache.delete(key.pk);
    await releaseClaim(this.doc, this.tableName, key, claimant);
  }
}

/** Reads the claims of `keys` (consistent reads), by `keyString`. */
export function readClaims(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly IdentityKey[],
): Promise<Map<string, LedgerClaim>> {
  return new ClaimLedger(doc, tableName, 0).read(keys);
}

/** Claims an identity; false when another row claimed it first. */
export async function putClaim(
  doc: DynamoDBDocumentClient,
  tableName: string,
  claim: LedgerClaim,
): Promise<boolean> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: claim.pk, sk: ORDER_CLAIMS_SK },
        UpdateExpression: 'SET #claim = :claim',
        ConditionExpression: 'attribute_not_exists(#claim)',
        ExpressionAttributeNames: { '#claim': claim.sk },
        ExpressionAttributeValues: { ':claim': ClaimCodec.encode(claim) },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Releases a claim held by `claimant` (an orphaned option, a retracted row), so a later delivery can be accepted. */
export async function releaseClaim(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: IdentityKey,
  claimant: RowClaimant,
): Promise<void> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: key.pk, sk: ORDER_CLAIMS_SK },
        UpdateExpression: 'REMOVE #claim',
        ConditionExpression: 'begins_with(#claim, :holder)',
        ExpressionAttributeNames: { '#claim': key.sk },
        ExpressionAttributeValues: { ':holder': ClaimCodec.holderPrefix(claimant) },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Ledger tables (per client) known to hold no per-identity items any more, checked once per process. */
const checkedLayouts = new WeakMap<DynamoDBDocumentClient, Set<string>>();

/**
 * Folds claims stored one item per identity (the ledger's layout before order items) into their
 * orders' items, then marks the table as done; a no-op once marked. Idempotent: a crash part way
 * leaves identity items that the next call folds again. Only ledger writers call it, under the
 * single-writer lock.
 *
 * @returns the identity items folded.
 */
export async function ensureLedgerLayout(
  doc: DynamoDBDocumentClient,
  tableName: string,
  log?: (message: string) => void,
): Promise<number> {
  const checked = checkedLayouts.get(doc) ?? new Set<string>();
  checkedLayouts.set(doc, checked);
  if (checked.has(tableName)) return 0;
  const marker = await doc.send(
    new GetCommand({ TableName: tableName, Key: LAYOUT_MARKER, ConsistentRead: true }),
  );
  let folded = 0;
  if (marker.Item === undefined) {
    const progress = progressLog(log);
    let startKey: Record<string, unknown> | undefined;
    do {
      progress(() => `ledger: ${folded} row claim(s) moved into one item per order so far`);
      const page = await doc.send(
        new ScanCommand({
          TableName: tableName,
          ConsistentRead: true,
          FilterExpression: 'begins_with(pk, :row) AND NOT sk = :order',
          ExpressionAttributeValues: { ':row': LEDGER_PREFIX, ':order': ORDER_CLAIMS_SK },
          ExclusiveStartKey: startKey,
        }),
      );
      const identities = (page.Items ?? []).map((item) => {
        const key = { pk: String(item['pk']), sk: String(item['sk']) };
        return ClaimCodec.decode(key, [
          item['fileKey'],
          item['contentHash'],
          item['row'],
          item['status'],
          item['kind'],
          item['valueHash'],
          item['claimedAtMs'],
        ]);
      });
      if (identities.length > 0) {
        await new ClaimLedger(doc, tableName, 0).write(identities);
        await sendWrites(
          doc,
          tableName,
          identities.map((claim) => ({ DeleteRequest: { Key: { pk: claim.pk, sk: claim.sk } } })),
        );
        folded += identities.length;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    await doc.send(
      new PutCommand({ TableName: tableName, Item: { ...LAYOUT_MARKER, foldedAtMs: Date.now() } }),
    );
    if (folded > 0) log?.(`ledger: ${folded} row claim(s) moved into one item per order`);
  }
  checked.add(tableName);
  return folded;
}
