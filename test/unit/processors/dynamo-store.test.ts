/**
 * The DynamoDB shard store's requests, with a mocked SDK: the ledger's batch puts and what a batch
 * request leaves unprocessed, and the shape of the item conditions.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { planBatch } from '../../../aggregates/batch.js';
import { itemId, orderStateKey } from '../../../aggregates/keys.js';
import {
  decodeOrderState,
  encodeOrderState,
  type OrderState,
  storedEventBytes,
} from '../../../aggregates/order-state.js';
import { DynamoShardStore, itemUpdate } from '../../../processors/shard/dynamo-store.js';
import { resourceNames } from '../../../shared/resources.js';
import { decodeOrderEvent } from '../../../shared/schemas/order-event.js';
import { encodeBinaryOrderEvent } from '../../../shared/schemas/order-event-binary.js';
import { sampleEvents } from '../aggregates/generators.js';

const names = resourceNames({ resourcePrefix: 't' });
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(doc);
const noWait = async (): Promise<void> => {};

/** Order states of `count` sample orders, as a flush would write them. */
function sampleStates(count: number): OrderState[] {
  const records = sampleEvents(count, 17).map((event, index) => ({ sequence: BigInt(index + 1), event }));
  return [...planBatch(new Map(), records).changedStates.values()];
}

type PutRequests = { PutRequest: { Item: Record<string, unknown> } }[];

describe('DynamoShardStore', () => {
  afterEach(() => dynamo.reset());
  const store = (maxAttempts = 10) =>
    new DynamoShardStore(doc, names, {
      streamName: names.ordersStream,
      retry: { maxAttempts, sleep: noWait },
    });

  it("clears a failed invocation's error even when a success ends behind the recorded sequence", async () => {
    // Prepare: the checkpoint's condition fails (the recorded sequence is ahead)
    dynamo.on(UpdateCommand).resolves({});
    dynamo
      .on(UpdateCommand, { ConditionExpression: 'attribute_not_exists(#key) OR #key <= :key' })
      .rejects(new ConditionalCheckFailedException({ message: 'behind', $metadata: {} }));
    // Act
    await store().saveProgress('shardId-000000000001', '150', { iteratorAgeMs: 40 });
    // Assess: the status alone, without the checkpoint, removing the error
    const updates = dynamo.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(updates).toHaveLength(2);
    expect(updates[1]?.ConditionExpression).toBeUndefined();
    expect(updates[1]?.UpdateExpression).toContain('REMOVE #error, #errorAt');
    expect(updates[1]?.UpdateExpression).not.toContain('#cp');
  });

  it('writes the ledger in batch puts of at most 25 states, each one version up', async () => {
    // Prepare
    dynamo.on(BatchWriteCommand).resolves({});
    const states = sampleStates(60);
    // Act
    await store().saveStates(
      states.map((state, index) => ({ state, replacesVersion: index % 2 === 0 ? null : 4 })),
    );
    // Assess
    const requests = dynamo
      .commandCalls(BatchWriteCommand)
      .map((call) => call.args[0].input.RequestItems?.[names.ledgerTable] as PutRequests);
    expect(requests.map((batch) => batch.length)).toEqual([25, 25, states.length - 50]);
    const items = requests.flat().map((request) => request.PutRequest.Item);
    expect(items.map((item) => item['pk'])).toEqual(states.map((state) => orderStateKey(state.orderId).pk));
    expect(items.map((item) => item['v'])).toEqual(states.map((_, index) => (index % 2 === 0 ? 1 : 5)));
    expect(items.map((item) => decodeOrderState(String(item['st'])))).toEqual(
      states.map((state) => decodeOrderState(encodeOrderState(state))),
    );
  });

  it('stores a state that is one binary record alone as its bytes, and reads it back', async () => {
    // Prepare: the flush of new orders from binary records; one plain state beside them
    dynamo.on(BatchWriteCommand).resolves({});
    const lineage = { file: 'f.csv', contentHash: 'ab12', row: 1, arrival: 0 };
    const records = ['o-1', 'o-2'].map((orderId, index) => ({
      sequence: BigInt(index + 1),
      event: decodeOrderEvent(
        encodeBinaryOrderEvent({
          eventId: `e-${orderId}`,
          orderId,
          lines: [
            {
              lineItemId: 'li-1',
              restaurantId: 'loc-1',
              timeZone: 'Europe/London',
              createdAtMs: 1_692_032_592_345,
              userId: 'cust-1',
              isLoyalty: false,
              category: 'Burgers',
              unitPriceCents: 899,
              quantity: 1,
              lineage,
            },
          ],
          options: [
            {
              lineItemId: 'li-1',
              groupName: 'Size',
              optionName: 'Large',
              priceCents: 150,
              quantity: 1,
              lineage,
            },
          ],
        }),
      ),
    }));
    const states = [...planBatch(new Map(), records).changedStates.values(), ...sampleStates(1)];
    // Act
    await store().saveStates(states.map((state) => ({ state, replacesVersion: null })));
    const items = dynamo
      .commandCalls(BatchWriteCommand)
      .flatMap((call) => call.args[0].input.RequestItems?.[names.ledgerTable] as PutRequests)
      .map((request) => request.PutRequest.Item);
    dynamo.on(BatchGetCommand).resolves({ Responses: { [names.ledgerTable]: items } });
    const loaded = await store().loadStates(states.map((state) => state.orderId));
    // Assess
    const asBytes = states.map((state) => storedEventBytes(state) !== undefined);
    expect(asBytes).toEqual([true, true, false]);
    expect(items.map((item) => [item['sb'] instanceof Uint8Array, typeof item['st'] === 'string'])).toEqual(
      asBytes.map((bytes) => [bytes, !bytes]),
    );
    expect(states.map((state) => encodeOrderState(loaded.get(state.orderId)!.state))).toEqual(
      states.map((state) => encodeOrderState(state)),
    );
  });

  it('asks again for the states a batch put left unprocessed, until none is left', async () => {
    // Prepare: the first answer leaves two puts unprocessed, the second one of them
    const states = sampleStates(5);
    const unprocessed = (count: number) => async (input: { RequestItems?: Record<string, unknown[]> }) => ({
      UnprocessedItems: {
        [names.ledgerTable]: (input.RequestItems?.[names.ledgerTable] ?? []).slice(0, count),
      },
    });
    dynamo.on(BatchWriteCommand).callsFakeOnce(unprocessed(2)).callsFakeOnce(unprocessed(1)).resolves({});
    // Act
    await store().saveStates(states.map((state) => ({ state, replacesVersion: null })));
    // Assess
    const sizes = dynamo
      .commandCalls(BatchWriteCommand)
      .map((call) => (call.args[0].input.RequestItems?.[names.ledgerTable] ?? []).length);
    expect(sizes).toEqual([states.length, 2, 1]);
  });

  it('gives up with a throttling error when batches stay unprocessed, so the batch is replayed', async () => {
    // Prepare: every answer leaves every key unprocessed
    dynamo
      .on(BatchGetCommand)
      .callsFake(async (input: { RequestItems: Record<string, { Keys: unknown[] }> }) => ({
        UnprocessedKeys: input.RequestItems,
      }));
    // Act
    const loading = store(3).loadStates(['o-1', 'o-2']);
    // Assess
    await expect(loading).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(3);
  });

  it('reads customer parts consistently in batches of 100, asking again for unprocessed keys', async () => {
    // Prepare: 130 parts; the first answer leaves one key unprocessed
    const keys = Array.from({ length: 130 }, (_, index) => ({ pk: `C#u${index}`, sk: 'M#2023-08#0' }));
    const answered = new Set<string>();
    dynamo
      .on(BatchGetCommand)
      .callsFake(async (input: { RequestItems: Record<string, { Keys: { pk: string }[] }> }) => {
        const asked = input.RequestItems[names.aggregatesTable]!.Keys;
        const first = answered.size === 0;
        const served = first ? asked.slice(1) : asked;
        for (const key of served) answered.add(key.pk);
        return {
          Responses: {
            [names.aggregatesTable]: served.map((key) => ({ ...key, sk: 'M#2023-08#0', o01abcdefgh: 1 })),
          },
          ...(first ? { UnprocessedKeys: { [names.aggregatesTable]: { Keys: asked.slice(0, 1) } } } : {}),
        };
      });
    // Act
    const parts = await store().readOwnedItems(keys);
    // Assess
    const requests = dynamo
      .commandCalls(BatchGetCommand)
      .map((call) => call.args[0].input.RequestItems?.[names.aggregatesTable]);
    expect(requests.map((request) => request?.Keys?.length)).toEqual([100, 30, 1]);
    expect(requests.every((request) => request?.ConsistentRead === true)).toBe(true);
    expect(parts.size).toBe(130);
    expect(parts.get(itemId(keys[0]!))).toEqual({ ...keys[0], o01abcdefgh: 1 });
  });

  it('puts customer parts whole in batch puts of at most 25', async () => {
    // Prepare
    dynamo.on(BatchWriteCommand).resolves({});
    const parts = Array.from({ length: 30 }, (_, index) => ({
      pk: `C#u${index}`,
      sk: 'M#2023-08#1',
      w1: 'x',
    }));
    // Act
    await store().putOwnedItems(parts);
    // Assess
    const requests = dynamo
      .commandCalls(BatchWriteCommand)
      .map((call) => call.args[0].input.RequestItems?.[names.aggregatesTable] as PutRequests);
    expect(requests.map((batch) => batch.length)).toEqual([25, 5]);
    expect(requests.flat().map((request) => request.PutRequest.Item)).toEqual(parts);
  });

  it('throws a failed batch put only once the other puts of the call have landed', async () => {
    // Prepare: of 30 parts, the chunk of 5 fails at once (throttled past its budget) while the
    // chunk of 25 is still on its way. A put left in flight could land after the batch's replay.
    const throttled = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    let landed = false;
    dynamo.on(BatchWriteCommand).callsFake(async (input: { RequestItems: Record<string, unknown[]> }) => {
      if (input.RequestItems[names.aggregatesTable]!.length === 5) throw throttled;
      await new Promise((resolve) => setTimeout(resolve, 30));
      landed = true;
      return {};
    });
    const parts = Array.from({ length: 30 }, (_, index) => ({ pk: `C#u${index}`, sk: 'M#2023-08#1' }));
    // Act
    const outcome = await store(1)
      .putOwnedItems(parts)
      .then(
        () => 'resolved',
        (error: Error) => error.name,
      );
    // Assess
    expect(outcome).toBe('ThrottlingException');
    expect(landed).toBe(true);
  });

  it('guards item updates with conditions that hold no parenthesised group', async () => {
    // Prepare
    dynamo.on(UpdateCommand).resolves({});
    const key = { pk: 'L#ab', sk: 'D#2023-05-01' };
    // Act
    await store().writeItem({
      key,
      delta: { key, names: ['o', 'n'], values: [2, 1_250], labels: { lc: 'loc-1', kx: 'Burgers' } },
      shardId: 'shardId-000000000001',
      condition: { kind: 'below', sequence: 100n },
      highWaterMark: 120n,
    });
    await store().writeItem({
      key,
      delta: { key, names: ['o'], values: [1], labels: {} },
      shardId: 'shardId-000000000001',
      condition: { kind: 'equals', sequence: 110n },
      highWaterMark: 120n,
    });
    // Assess
    const conditions = dynamo
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input.ConditionExpression);
    expect(conditions).toEqual([
      'NOT #w >= :c AND NOT #l0 > :l0 AND NOT #l0 < :l0 AND NOT #l1 > :l1 AND NOT #l1 < :l1',
      '#w = :c',
    ]);
  });

  it("holds an update within DynamoDB's bounds: 300 condition operators, 4 KB expressions", () => {
    // Prepare: deltas of n labels, and of n counters
    const key = { pk: 'L#ab', sk: 'D#2023-05-01' };
    const withLabels = (count: number) => ({
      key,
      names: ['o'],
      values: [1],
      labels: Object.fromEntries(
        Array.from({ length: count }, (_, index) => [`k${index}`, `Category ${index}`]),
      ),
    });
    const withCounters = (count: number) => ({
      key,
      names: Array.from({ length: count }, (_, index) => `c${index}`),
      values: Array.from({ length: count }, () => 1),
      labels: {},
    });
    const fits = (delta: ReturnType<typeof withCounters>) => store().fitsOneWrite(delta);
    const updateLength = (count: number) =>
      itemUpdate({
        key,
        delta: withCounters(count),
        shardId: 'shardId-000000000001',
        condition: { kind: 'below', sequence: 1n },
        highWaterMark: 2n,
      }).updateExpression.length;
    // Act / Assess: a label costs six operators after the mark's two, so 49 fit and 50 do not
    expect(fits(withLabels(49))).toBe(true);
    expect(fits(withLabels(50))).toBe(false);
    // Counters: as many as the update expression's 4,096 characters hold (13 each at three digits)
    expect(updateLength(330)).toBe(4_084);
    expect(fits(withCounters(330))).toBe(true);
    expect(updateLength(331)).toBe(4_097);
    expect(fits(withCounters(331))).toBe(false);
  });
});
