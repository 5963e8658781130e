import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemsToMartInput } from '../../aggregates/mart-input.js';
import { putRecords } from '../../ingest/producer.js';
import { DynamoShardStore } from '../../processors/shard/dynamo-store.js';
import { CrashWindow, type HighWaterCondition, InjectedCrash } from '../../processors/shard/flush.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import type { DynamoEngine } from '../../shared/config.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { resourceNames } from '../../shared/resources.js';
import { encodeOrderEvent } from '../../shared/schemas/order-event.js';
import { scanAll } from '../support/processor-fixtures.js';
import { sampleEvents } from '../unit/aggregates/generators.js';
import { normaliseTable, referenceItems } from '../unit/aggregates/reference.js';

const names = resourceNames({ resourcePrefix: 'proc' });
const javaAvailable = spawnSync('java', ['-version']).status === 0;
const engines: DynamoEngine[] = javaAvailable ? ['dynalite', 'local-jar'] : ['dynalite'];

describe.each(engines)('shard processor on %s', (engine) => {
  let stack: LocalStack;
  let clients: AwsClients;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'tillstream-processor-'));
    stack = await startLocalStack({ stateDir, fresh: true, dynamoEngine: engine });
    await bootstrapLocalResources(stack.endpoints, names, { shardCount: 2 });
    clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  });

  afterAll(async () => {
    clients?.destroy();
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('applies every row exactly once through crashes in every window, restarts and duplicates', async () => {
    // Prepare: 80 orders (amendments, late options, late earlier lines), 10% of the records twice
    const events = sampleEvents(80, 2024);
    const records = events.map((event) => ({ partitionKey: event.orderId, data: encodeOrderEvent(event) }));
    const duplicates = records.filter((_, index) => index % 10 === 3);
    await putRecords(clients.kinesis, names.ordersStream, records);
    await putRecords(clients.kinesis, names.ordersStream, duplicates);

    // Act: one run per crash window (crash at its 2nd occurrence), each a fresh "process", then a clean run
    const crashed = new Set<string>();
    const batchOptions = { batchMaxRecords: 9, batchMaxWaitMs: 30, idlePollMs: 20, untilCaughtUp: true };
    // Other batch sizes per restart, so replays cut the stream at other boundaries.
    const batchSizes = [9, 13, 5, 11, 7, 17];
    for (const [run, window] of Object.values(CrashWindow).entries()) {
      let seen = 0;
      try {
        await runShardProcessors(clients.kinesis, clients.doc, names, {
          ...batchOptions,
          batchMaxRecords: batchSizes[run % batchSizes.length]!,
          crashAt: (at) => {
            if (at === window && ++seen === 2) throw new InjectedCrash(at);
          },
        });
      } catch (error) {
        if (!(error instanceof InjectedCrash)) throw error;
        crashed.add(error.window);
      }
    }
    // More duplicates after the crashes: a producer retry of records already applied.
    await putRecords(clients.kinesis, names.ordersStream, duplicates);
    const summary = await runShardProcessors(clients.kinesis, clients.doc, names, batchOptions);

    // Assess
    expect(crashed).toEqual(new Set(Object.values(CrashWindow)));
    expect(summary.shards.map((shard) => shard.shardId)).toHaveLength(2);
    const items = await scanAll(clients, names.aggregatesTable);
    const stored = normaliseTable(
      items.map((item): [string, Record<string, unknown>] => [`${item['pk']}|${item['sk']}`, item]),
    );
    const expected = referenceItems(events);
    expect(stored.size).toBeGreaterThan(15);
    expect(stored).toEqual(expected);

    const martInput = itemsToMartInput(items as { pk: string; sk: string }[]);
    const expectedNet = [...expected.entries()]
      .filter(([id]) => id.startsWith('L#'))
      .reduce((sum, [, item]) => sum + Number(item['n'] ?? 0), 0);
    expect(martInput.locationDays.reduce((sum, day) => sum + day.netCents, 0)).toBe(expectedNet);
  });

  it('guards each item update by its high-water mark and labels, as the flush assumes', async () => {
    // Prepare: one item, written through the store the processors use
    const store = new DynamoShardStore(clients.doc, names, { streamName: names.ordersStream });
    const key = { pk: 'L#guard', sk: 'D#2023-05-01' };
    const shardId = 'shardId-000000000001';
    const write = (
      condition: HighWaterCondition,
      highWaterMark: bigint,
      labels: Record<string, string>,
      orders: number,
    ) =>
      store.writeItem({
        key,
        delta: { key, names: ['o'], values: [orders], labels },
        shardId,
        condition,
        highWaterMark,
      });

    // Act: below an absent mark; a replay; a second name for a label; a new label beside an equal
    // one; a stale and a current "equals"
    const outcomes = [
      await write({ kind: 'below', sequence: 10n }, 20n, { lc: 'loc-a' }, 1),
      await write({ kind: 'below', sequence: 15n }, 30n, { lc: 'loc-a' }, 10),
      await write({ kind: 'below', sequence: 21n }, 30n, { lc: 'loc-b' }, 100),
      await write({ kind: 'below', sequence: 21n }, 30n, { lc: 'loc-a', kx: 'Burgers' }, 1_000),
      await write({ kind: 'equals', sequence: 20n }, 40n, {}, 10_000),
      await write({ kind: 'equals', sequence: 30n }, 40n, {}, 100_000),
    ];

    // Assess
    expect(outcomes).toEqual([
      { applied: true },
      { applied: false, highWaterMark: 20n },
      { applied: false, highWaterMark: 20n },
      { applied: true },
      { applied: false, highWaterMark: 30n },
      { applied: true },
    ]);
    const stored = await clients.doc.send(
      new GetCommand({ TableName: names.aggregatesTable, Key: key, ConsistentRead: true }),
    );
    expect(stored.Item).toMatchObject({ o: 101_001, lc: 'loc-a', kx: 'Burgers' });
    // The mark of a failed condition comes from the old item DynamoDB returns with the error
    // (`ReturnValuesOnConditionCheckFailure: ALL_OLD`); dynalite ignores that option, so each of
    // its three failures is read again with a GetItem. Both paths give the outcomes above.
    expect(store.fallbackReads).toBe(engine === 'dynalite' ? 3 : 0);
  });
});
