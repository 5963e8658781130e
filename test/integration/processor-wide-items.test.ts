/**
 * Items whose batch delta is larger than one DynamoDB update can carry (each expression at most
 * 4 KB, a condition at most 300 operators; dynalite enforces neither, DynamoDB Local both): a day
 * item touched by a hundred menu categories in one batch is written in runs of records, exactly,
 * through a crash between the runs.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { BatchRecord } from '../../aggregates/batch.js';
import { DynamoShardStore } from '../../processors/shard/dynamo-store.js';
import { CrashWindow, flushBatch, InjectedCrash } from '../../processors/shard/flush.js';
import type { DynamoEngine } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import type { EventLine, OrderEvent } from '../../shared/schemas/order-event.js';
import { useEmbeddedStack } from '../support/embedded-stack.js';
import { storedTable } from '../support/processor-fixtures.js';
import { referenceItems } from '../unit/aggregates/reference.js';

const javaAvailable = spawnSync('java', ['-version']).status === 0;
const engines: DynamoEngine[] = javaAvailable ? ['dynalite', 'local-jar'] : ['dynalite'];
const SHARD = 'shardId-000000000000';

function line(order: number, index: number, category: string): EventLine {
  return {
    lineItemId: `li-${index}`,
    restaurantId: 'loc-east',
    timeZone: 'America/New_York',
    createdAtMs: Date.UTC(2023, 7, 14, 12 + (order % 10), order % 60),
    userId: order % 3 === 0 ? null : `cust-${order % 7}`,
    isLoyalty: order % 2 === 0,
    category,
    unitPriceCents: 1_000 + order,
    quantity: 1 + (order % 3),
    lineage: { file: 'wide.csv', contentHash: 'h', row: order * 100 + index + 1, arrival: 1 },
  };
}

/** An order with a line in each of `categories`. */
function order(index: number, categories: readonly string[]): OrderEvent {
  return {
    eventId: `e-${index}`,
    orderId: `o-${index}`,
    lines: categories.map((category, at) => line(index, at, category)),
    options: [],
  };
}

const records = (events: readonly OrderEvent[], from: bigint): BatchRecord[] =>
  events.map((event, index) => ({ sequence: from + BigInt(index * 10), event }));

describe.each(engines)('items wider than one update on %s', (engine) => {
  const embedded = useEmbeddedStack('wide', engine);

  async function freshTables(): Promise<{ names: ResourceNames; store: DynamoShardStore }> {
    const names = await embedded.freshResources(1);
    const store = new DynamoShardStore(embedded.clients.doc, names, { streamName: names.ordersStream });
    return { names, store };
  }

  it('writes a day item of 120 categories in one batch in runs of records, exactly', async () => {
    // Prepare: 120 orders of one location and day, each in a category of its own (and a shared one)
    const { names, store } = await freshTables();
    const events = Array.from({ length: 120 }, (_, index) => order(index, [`Category ${index}`, 'Drinks']));
    // Act
    const result = await flushBatch(store, SHARD, records(events, 1_000n));
    // Assess: more updates than items (the day items took several), and every figure exact
    const table = await storedTable(embedded.clients, names.aggregatesTable);
    expect(table).toEqual(referenceItems(events));
    expect(result.itemWrites).toBeGreaterThan(table.size);
  });

  it('recovers exactly from a crash between the runs, replayed with other batch boundaries', async () => {
    // Prepare
    const { names, store } = await freshTables();
    const events = Array.from({ length: 90 }, (_, index) => order(index, [`Category ${index}`]));
    const all = records(events, 5_000n);
    // Act: the first flush dies after the first run of a day item; the replay starts at the same
    // record (nothing was checkpointed) with other boundaries.
    const crashed = await flushBatch(store, SHARD, all, {
      crashAt: (window) => {
        if (window === CrashWindow.BetweenItems) throw new InjectedCrash(window);
      },
    }).then(
      () => null,
      (error: unknown) => error,
    );
    await flushBatch(store, SHARD, all.slice(0, 50));
    await flushBatch(store, SHARD, all.slice(50));
    // Assess
    expect(crashed).toBeInstanceOf(InjectedCrash);
    expect(await storedTable(embedded.clients, names.aggregatesTable)).toEqual(referenceItems(events));
  });

  it('refuses, naming the item and the record, an order that alone names more categories than an update carries', async () => {
    // Prepare
    const { store } = await freshTables();
    const wide = order(
      1,
      Array.from({ length: 60 }, (_, index) => `Category ${index}`),
    );
    // Act
    const outcome = await flushBatch(store, SHARD, records([wide], 7_000n)).then(
      () => 'written',
      (error: Error) => `${error.name}: ${error.message}`,
    );
    // Assess
    expect(outcome).toMatch(
      /^ItemConflictError: item L#loc-east\/D#2023-08-14 \(shard shardId-000000000000\): the record at sequence 7000 alone changes \d+ counters and 60 labels, more than one update can carry$/,
    );
  });

  it('takes the largest update the store lets through', async () => {
    // Prepare: 49 labels (the condition's bound) and as many counters as `fitsOneWrite` allows
    const { store } = await freshTables();
    const key = { pk: 'L#bounds', sk: 'D#2023-08-14' };
    const labels = Object.fromEntries(
      Array.from({ length: 49 }, (_, index) => [`k${index}`, `Category ${index}`]),
    );
    const delta = (count: number) => ({
      key,
      names: Array.from({ length: count }, (_, index) => `c${index}`),
      values: Array.from({ length: count }, (_, index) => index + 1),
      labels,
    });
    let count = 1;
    while (store.fitsOneWrite(delta(count + 1))) count++;
    // Act
    const outcome = await store.writeItem({
      key,
      delta: delta(count),
      shardId: SHARD,
      condition: { kind: 'below', sequence: 1n },
      highWaterMark: 2n,
    });
    // Assess
    expect(count).toBeGreaterThan(250);
    expect(outcome).toEqual({ applied: true });
  });
});
