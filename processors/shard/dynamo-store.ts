/**
 * The `ShardStore` on DynamoDB: aggregates items updated with `ADD` under a high-water-mark
 * condition, order states in the ledger with batch puts (the flush is their single writer),
 * checkpoints and status in the state table. Throttling is retried with backoff and jitter; a
 * request that still fails throws, and the batch is replayed from the checkpoint (never dropped).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ItemDelta, PlainItem } from '../../aggregates/delta.js';
import {
  Attr,
  type ItemKey,
  itemId,
  orderStateKey,
  poisonRecordKey,
  sequenceFromSortKey,
  sequenceSortKey,
  shardCode,
  shardStateKey,
} from '../../aggregates/keys.js';
import {
  decodeOrderState,
  decodeStoredEventState,
  encodeOrderState,
  storedEventBytes,
} from '../../aggregates/order-state.js';
import { backoffDelayMs, sleepMs } from '../../ingest/retry.js';
import type { ResourceNames } from '../../shared/resources.js';
import { settleAll } from '../../shared/settle.js';
import type { ItemWrite, LedgerWrite, ShardStore, VersionedState } from './flush.js';
import {
  BATCH_WRITE_LIMIT,
  putBatch,
  type RetryPolicy,
  retryThrottled,
  THROTTLING_BACKOFF,
  unprocessedError,
} from './retry.js';

/** The processor's view of one shard in the state table. */
export interface ShardStateItem {
  readonly shardId: string;
  /** Last sequence number whose batch is fully applied. */
  readonly checkpoint?: string;
  /** The shard is closed (resharded) and every record of it is applied. */
  readonly done?: boolean;
  /** MillisBehindLatest of the consumer's last read (0 on kinesalite for an open shard). */
  readonly lagMs?: number;
  /** Age of the last record of the consumer's last read that returned any (0 once caught up). */
  readonly iteratorAgeMs?: number;
  readonly recordsPerSecond?: number;
  readonly ordersPerSecond?: number;
  readonly checkpointAt?: number;
  readonly updatedAt?: number;
  /** Why the shard's consumer last failed; cleared by its next status after a success. */
  readonly error?: string;
  readonly errorAt?: number;
}

/** The checkpoint would move backwards: another consumer is ahead on this shard. */
export class CheckpointRegressionError extends Error {
  override name = 'CheckpointRegressionError';
  constructor(
    readonly shardId: string,
    readonly sequence: string,
    options?: ErrorOptions,
  ) {
    super(`checkpoint of ${shardId} is already past ${sequence}`, options);
  }
}

const LEDGER_STATE = 'st';
/** An order state that is one binary stream record alone, as that record's bytes (instead of `st`). */
const LEDGER_EVENT = 'sb';
const LEDGER_VERSION = 'v';
const BATCH_GET_LIMIT = 100;

function storedHighWaterMark(value: unknown): bigint | null {
  if (typeof value === 'string') return sequenceFromSortKey(value);
  // The error of a failed condition carries the item in wire form ({ S: … }).
  if (typeof value === 'object' && value !== null && typeof (value as { S?: unknown }).S === 'string') {
    return sequenceFromSortKey((value as { S: string }).S);
  }
  return null;
}

export interface DynamoShardStoreOptions {
  readonly streamName: string;
  readonly retry?: RetryPolicy;
  /** Epoch ms; injected so tests control it. @default Date.now */
  readonly now?: () => number;
}

export class DynamoShardStore implements ShardStore {
  private readonly now: () => number;
  /** Failed item conditions whose error came without the item (dynalite), so a GetItem was needed. */
  fallbackReads = 0;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly names: ResourceNames,
    private readonly options: DynamoShardStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  private send<T>(operation: () => Promise<T>): Promise<T> {
    return retryThrottled(operation, this.options.retry);
  }

  /**
   * Waits before asking again for the keys a BatchGetItem left unprocessed (DynamoDB's throttling
   * of batches), with the same backoff as a throttled request; after as many rounds as the retry
   * policy allows attempts, throws the throttling error, and the batch is replayed.
   */
  private async backOff(round: number): Promise<void> {
    const policy = { ...THROTTLING_BACKOFF, ...this.options.retry };
    if (round >= policy.maxAttempts) throw unprocessedError('BatchGetItem', round);
    await (policy.sleep ?? sleepMs)(backoffDelayMs(round, policy));
  }

  async loadStates(orderIds: readonly string[]): Promise<Map<string, VersionedState>> {
    const result = new Map<string, VersionedState>();
    await this.getBatches(
      this.names.ledgerTable,
      orderIds.map((orderId) => orderStateKey(orderId)),
      (item) => {
        const locator = `ledger ${String(item['pk'])}`;
        const bytes = item[LEDGER_EVENT];
        const state =
          bytes instanceof Uint8Array
            ? decodeStoredEventState(bytes, locator)
            : decodeOrderState(String(item[LEDGER_STATE]), locator);
        result.set(state.orderId, { state, version: Number(item[LEDGER_VERSION]) });
      },
    );
    return result;
  }

  async readOwnedItems(keys: readonly ItemKey[]): Promise<Map<string, PlainItem>> {
    const result = new Map<string, PlainItem>();
    await this.getBatches(this.names.aggregatesTable, keys, (item) => {
      const plain = item as PlainItem;
      result.set(itemId(plain), plain);
    });
    return result;
  }

  async putOwnedItems(items: readonly PlainItem[]): Promise<void> {
    await this.putChunks(this.names.aggregatesTable, items);
  }

  /**
   * Consistent reads of `keys` in BatchGetItem requests of 100, in flight together (a batch waits
   * for one round trip, not five); each item read is handed to `onItem`.
   */
  private async getBatches(
    table: string,
    keys: readonly ItemKey[],
    onItem: (item: Record<string, unknown>) => void,
  ): Promise<void> {
    const chunks: ItemKey[][] = [];
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      chunks.push(keys.slice(start, start + BATCH_GET_LIMIT));
    }
    await settleAll(chunks.map((chunk) => this.getChunk(table, chunk, onItem)));
  }

  /** One BatchGetItem's worth of keys, unprocessed keys retried with backoff. */
  private async getChunk(
    table: string,
    chunk: readonly ItemKey[],
    onItem: (item: Record<string, unknown>) => void,
  ): Promise<void> {
    let keys: Record<string, unknown>[] = chunk.map(({ pk, sk }) => ({ pk, sk }));
    for (let round = 1; keys.length > 0; round++) {
      const response = await this.send(() =>
        this.doc.send(
          new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
        ),
      );
      for (const item of response.Responses?.[table] ?? []) onItem(item);
      keys = (response.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
      if (keys.length > 0) await this.backOff(round);
    }
  }

  /**
   * Puts in BatchWriteItem requests of 25, in flight together, unprocessed items retried with
   * backoff. When one fails the others are still awaited before this throws: a put left in flight
   * could land after the batch's replay has put the same item, and undo it.
   */
  private async putChunks(table: string, items: readonly Record<string, unknown>[]): Promise<void> {
    const chunks: Record<string, unknown>[][] = [];
    for (let start = 0; start < items.length; start += BATCH_WRITE_LIMIT) {
      chunks.push(items.slice(start, start + BATCH_WRITE_LIMIT));
    }
    await settleAll(chunks.map((chunk) => putBatch(this.doc, table, chunk, this.options.retry)));
  }

  /** Whether one update can carry `delta` within DynamoDB's bounds on expressions (`itemUpdate`). */
  fitsOneWrite(delta: ItemDelta): boolean {
    return itemUpdate({
      key: delta.key,
      delta,
      shardId: '',
      condition: { kind: 'below', sequence: 0n },
      highWaterMark: 0n,
    }).fits;
  }

  async writeItem(
    write: ItemWrite,
  ): Promise<{ applied: true } | { applied: false; highWaterMark: bigint | null }> {
    const { updateExpression, conditionExpression, names, values } = itemUpdate(write);
    try {
      await this.send(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.names.aggregatesTable,
            Key: { pk: write.key.pk, sk: write.key.sk },
            UpdateExpression: updateExpression,
            ConditionExpression: conditionExpression,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { applied: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const hwmName = names['#w']!;
      if (error.Item !== undefined)
        return { applied: false, highWaterMark: storedHighWaterMark(error.Item[hwmName]) };
      this.fallbackReads++;
      const current = await this.send(() =>
        this.doc.send(
          new GetCommand({
            TableName: this.names.aggregatesTable,
            Key: { pk: write.key.pk, sk: write.key.sk },
            ConsistentRead: true,
            ProjectionExpression: '#w',
            ExpressionAttributeNames: { '#w': hwmName },
          }),
        ),
      );
      return { applied: false, highWaterMark: storedHighWaterMark(current.Item?.[hwmName]) };
    }
  }

  async saveStates(writes: readonly LedgerWrite[]): Promise<void> {
    const items = writes.map(({ state, replacesVersion }) => {
      // A state that is one binary event alone is stored as that record's bytes: no encoding, and
      // about half the size of its text.
      const bytes = storedEventBytes(state);
      return {
        ...orderStateKey(state.orderId),
        ...(bytes === undefined ? { [LEDGER_STATE]: encodeOrderState(state) } : { [LEDGER_EVENT]: bytes }),
        [LEDGER_VERSION]: (replacesVersion ?? 0) + 1,
      };
    });
    await this.putChunks(this.names.ledgerTable, items);
  }

  async saveCheckpoint(shardId: string, sequence: string): Promise<void> {
    await this.writeCheckpoint(shardId, sequence, undefined);
  }

  /**
   * Moves the shard's checkpoint to `sequence` (never back: `CheckpointRegressionError`), with
   * `status` in the same write when given.
   */
  private async writeCheckpoint(
    shardId: string,
    sequence: string,
    status: ShardStatus | undefined,
  ): Promise<void> {
    const update = status === undefined ? undefined : statusUpdate(status, this.now());
    try {
      await this.send(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.names.stateTable,
            Key: { ...shardStateKey(this.options.streamName, shardId) },
            UpdateExpression:
              update === undefined
                ? 'SET #cp = :seq, #key = :key, #at = :now'
                : update.expression.replace('SET ', 'SET #cp = :seq, #key = :key, #at = :now, '),
            ConditionExpression: 'attribute_not_exists(#key) OR #key <= :key',
            ExpressionAttributeNames: {
              ...update?.names,
              '#cp': 'checkpoint',
              '#key': 'cpKey',
              '#at': 'checkpointAt',
            },
            ExpressionAttributeValues: {
              ...update?.values,
              ':seq': sequence,
              ':key': sequenceSortKey(sequence),
              ':now': this.now(),
            },
          }),
        ),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new CheckpointRegressionError(shardId, sequence, { cause: error });
      }
      throw error;
    }
  }

  /** The shard's checkpoint and status item, if any. */
  async readShardState(shardId: string): Promise<ShardStateItem | undefined> {
    const response = await this.send(() =>
      this.doc.send(
        new GetCommand({
          TableName: this.names.stateTable,
          Key: { ...shardStateKey(this.options.streamName, shardId) },
          ConsistentRead: true,
        }),
      ),
    );
    return response.Item === undefined ? undefined : toShardState(response.Item);
  }

  /** Every shard item of the stream (for `tillstream lag` and parent/child ordering). */
  async listShardStates(): Promise<ShardStateItem[]> {
    const items: ShardStateItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await this.send(() =>
        this.doc.send(
          new QueryCommand({
            TableName: this.names.stateTable,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': shardStateKey(this.options.streamName, '').pk },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of response.Items ?? []) items.push(toShardState(item));
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /**
   * Records the shard's lag and throughput (and `done` once a closed shard is drained), or the
   * error its consumer failed with. A status without an error clears the last one: the consumer
   * is running again.
   */
  async saveShardStatus(shardId: string, status: ShardStatus): Promise<void> {
    const { expression, names, values } = statusUpdate(status, this.now());
    await this.send(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.names.stateTable,
          Key: { ...shardStateKey(this.options.streamName, shardId) },
          UpdateExpression: expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /**
   * Records, in one write, the last sequence a Lambda invocation applied and the shard's status,
   * for `tillstream lag` (the event source mapping keeps the position it reads from). A
   * successful invocation that ends behind the recorded sequence (a replay of part of a batch the
   * mapping split in two) leaves the sequence as it is, which would only make the shard look
   * further behind, and writes the status alone: it clears the error a failed invocation left.
   */
  async saveProgress(shardId: string, sequence: string, status: ShardStatus): Promise<void> {
    try {
      await this.writeCheckpoint(shardId, sequence, status);
    } catch (error) {
      if (!(error instanceof CheckpointRegressionError)) throw error;
      await this.saveShardStatus(shardId, status);
    }
  }

  /** Keeps a record that is not a valid order event, with the reason, so it can be replayed after a fix. */
  async reportPoison(shardId: string, sequence: string, data: Uint8Array, reason: string): Promise<void> {
    await this.send(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.names.stateTable,
          Item: {
            ...poisonRecordKey(this.options.streamName, shardId, sequence),
            data: Buffer.from(data).toString('base64'),
            reason,
            reportedAt: this.now(),
          },
        }),
      ),
    );
  }
}

/** What a consumer reports of a shard besides its checkpoint. */
export type ShardStatus = Pick<
  ShardStateItem,
  'lagMs' | 'iteratorAgeMs' | 'recordsPerSecond' | 'ordersPerSecond' | 'done' | 'error' | 'errorAt'
>;

/**
 * The update of a shard's status item: the given fields and the time; a status without an error
 * clears the last one (the consumer is running again).
 */
function statusUpdate(
  status: ShardStatus,
  now: number,
): { expression: string; names: Record<string, string>; values: Record<string, unknown> } {
  const sets = ['#updatedAt = :updatedAt'];
  const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ':updatedAt': now };
  for (const [name, value] of Object.entries(status)) {
    if (value === undefined) continue;
    sets.push(`#${name} = :${name}`);
    names[`#${name}`] = name;
    values[`:${name}`] = value;
  }
  let expression = `SET ${sets.join(', ')}`;
  if (status.error === undefined) {
    names['#error'] = 'error';
    names['#errorAt'] = 'errorAt';
    expression += ' REMOVE #error, #errorAt';
  }
  return { expression, names, values };
}

/**
 * DynamoDB's bounds on one request's expressions: each at most 4 KB long, a condition of at most
 * 300 operators (an update's actions are not operators: DynamoDB Local takes 400 `ADD`s).
 */
const EXPRESSION_MAX_LENGTH = 4_096;
const EXPRESSION_MAX_OPERATORS = 300;

/** The request of an item update, and whether DynamoDB takes it (`fits`). */
export function itemUpdate(write: ItemWrite): {
  readonly updateExpression: string;
  readonly conditionExpression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
  readonly fits: boolean;
} {
  const names: Record<string, string> = { '#w': Attr.highWaterMark(shardCode(write.shardId)) };
  const values: Record<string, unknown> = { ':w': sequenceSortKey(write.highWaterMark) };
  const adds: string[] = [];
  const sets = ['#w = :w'];
  // No parentheses: dynalite's expression parser backtracks on every parenthesised group (0.3 to
  // 0.4 ms each, 40% of its time under the processors), and these forms need none. A comparison
  // with a missing attribute is false on DynamoDB, so `NOT #w >= :c` is "absent or below" and
  // `NOT #l > :l AND NOT #l < :l` is "absent or equal".
  const conditions = write.condition.kind === 'below' ? ['NOT #w >= :c'] : ['#w = :c'];
  let operators = write.condition.kind === 'below' ? 2 : 1;
  values[':c'] = sequenceSortKey(write.condition.sequence);
  const { names: counters, values: amounts } = write.delta;
  for (let index = 0; index < counters.length; index++) {
    if (amounts[index] === 0) continue;
    names[`#a${index}`] = counters[index]!;
    values[`:a${index}`] = amounts[index];
    adds.push(`#a${index} :a${index}`);
  }
  Object.entries(write.delta.labels).forEach(([name, value], index) => {
    names[`#l${index}`] = name;
    values[`:l${index}`] = value;
    sets.push(`#l${index} = :l${index}`);
    conditions.push(`NOT #l${index} > :l${index} AND NOT #l${index} < :l${index}`);
    // NOT, >, AND, NOT, < and the AND that joins it on.
    operators += 6;
  });
  const updateExpression = `SET ${sets.join(', ')}${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`;
  const conditionExpression = conditions.join(' AND ');
  return {
    updateExpression,
    conditionExpression,
    names,
    values,
    fits:
      updateExpression.length <= EXPRESSION_MAX_LENGTH &&
      conditionExpression.length <= EXPRESSION_MAX_LENGTH &&
      operators <= EXPRESSION_MAX_OPERATORS,
  };
}

function toShardState(item: Record<string, unknown>): ShardStateItem {
  const numberOf = (name: string) => (typeof item[name] === 'number' ? (item[name] as number) : undefined);
  return {
    shardId: String(item['sk']),
    ...(typeof item['checkpoint'] === 'string' ? { checkpoint: item['checkpoint'] } : {}),
    ...(item['done'] === true ? { done: true } : {}),
    lagMs: numberOf('lagMs'),
    iteratorAgeMs: numberOf('iteratorAgeMs'),
    recordsPerSecond: numberOf('recordsPerSecond'),
    ordersPerSecond: numberOf('ordersPerSecond'),
    checkpointAt: numberOf('checkpointAt'),
    updatedAt: numberOf('updatedAt'),
    ...(typeof item['error'] === 'string' ? { error: item['error'], errorAt: numberOf('errorAt') } : {}),
  };
}
