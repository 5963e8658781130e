import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putRecords } from '../../ingest/producer.js';
import { DynamoShardStore } from '../../processors/shard/dynamo-store.js';
import { CrashWindow } from '../../processors/shard/flush.js';
import { type ProcessorOptions, runShardProcessors } from '../../processors/shard/runner.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import type { DynamoEngine } from '../../shared/config.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { type ResourceNames, resourceNames } from '../../shared/resources.js';
import type { OrderEvent } from '../../shared/schemas/order-event.js';
import {
  everyTenth,
  injectThrottling,
  lastSequences,
  listAllShards,
  orderRecords,
  splitEveryOpenShard,
  storedTable,
  type ThrottleCounts,
} from '../support/processor-fixtures.js';
import { sampleEvents } from '../unit/aggregates/generators.js';
import { referenceItems } from '../unit/aggregates/reference.js';

const javaAvailable = spawnSync('java', ['-version']).status === 0;
const engines: DynamoEngine[] = javaAvailable ? ['dynalite', 'local-jar'] : ['dynalite'];
const batchOptions = { batchMaxRecords: 9, batchMaxWaitMs: 30, idlePollMs: 20 } as const;

/**
 * A run in two halves: the first half holds the rows of the first two files of `orders` orders;
 * the second half the third file's rows (amendments of first-half orders) and `lateOrders` new ones.
 */
function twoHalves(
  orders: number,
  lateOrders: number,
  seed: number,
): { first: OrderEvent[]; second: OrderEvent[] } {
  const events = sampleEvents(orders, seed);
  const inThirdFile = (event: OrderEvent) => event.eventId.endsWith('@f2');
  return {
    first: events.filter((event) => !inThirdFile(event)),
    second: [...events.filter(inThirdFile), ...sampleEvents(lateOrders, seed + 1, 'late')],
  };
}

/** Resolves when every record on the stream is checkpointed and every closed shard is done. */
async function waitUntilCaughtUp(
  clients: AwsClients,
  names: ResourceNames,
  timeoutMs: number,
): Promise<void> {
  const store = new DynamoShardStore(clients.doc, names, { streamName: names.ordersStream });
  const last = await lastSequences(clients.kinesis, names.ordersStream);
  const closed = (await listAllShards(clients.kinesis, names.ordersStream))
    .filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber !== undefined)
    .map((shard) => shard.ShardId ?? '');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = new Map((await store.listShardStates()).map((state) => [state.shardId, state]));
    const behind = [...last].filter(([shardId, sequence]) => {
      const checkpoint = states.get(shardId)?.checkpoint;
      return checkpoint === undefined || BigInt(checkpoint) < sequence;
    });
    const undrained = closed.filter((shardId) => states.get(shardId)?.done !== true);
    if (behind.length === 0 && undrained.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not caught up after ${timeoutMs} ms: behind ${behind.map(([id]) => id).join(', ') || '-'}; undrained ${undrained.join(', ') || '-'}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function throttleReport(counts: ThrottleCounts): string {
  return [...counts.attempts]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([operation, attempts]) => `${operation} ${counts.throttled.get(operation) ?? 0}/${attempts}`)
    .join(', ');
}

const sum = (values: Iterable<number>) => [...values].reduce((total, value) => total + value, 0);

describe.each(engines)('shard processor across a reshard and under throttling on %s', (engine) => {
  let stack: LocalStack;
  let clients: AwsClients;
  let stateDir: string;

  const streamWithTwoShards = async (prefix: string): Promise<ResourceNames> => {
    const names = resourceNames({ resourcePrefix: prefix });
    await bootstrapLocalResources(stack.endpoints, names, { shardCount: 2 });
    return names;
  };

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'tillstream-reshard-'));
    stack = await startLocalStack({ stateDir, fresh: true, dynamoEngine: engine });
    clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  });

  afterAll(async () => {
    clients?.destroy();
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('stays exact when both shards split after a run stopped part-way, amendments landing on the children', async () => {
    // Prepare: the first half with 10% of its records twice, on 2 shards
    const names = await streamWithTwoShards('split-stopped');
    const { first, second } = twoHalves(60, 20, 2024);
    const firstRecords = orderRecords(first);
    await putRecords(clients.kinesis, names.ordersStream, [...firstRecords, ...everyTenth(firstRecords)]);

    // Act: stop the processor through its signal after its 3rd checkpoint; small reads, so the
    // records it has not read by then stay on the stream (what it has read, it still applies)
    const stop = new AbortController();
    let checkpoints = 0;
    const partWay = await runShardProcessors(clients.kinesis, clients.doc, names, {
      ...batchOptions,
      getRecordsLimit: 5,
      untilCaughtUp: true,
      signal: stop.signal,
      crashAt: (window) => {
        if (window === CrashWindow.AfterCheckpoint && ++checkpoints === 3) stop.abort();
      },
    });
    const parents = await splitEveryOpenShard(clients.kinesis, names.ordersStream);
    const secondRecords = orderRecords(second);
    // The second half's duplicates, and a producer retry of first-half records, now on the children.
    await putRecords(clients.kinesis, names.ordersStream, [
      ...secondRecords,
      ...everyTenth(secondRecords),
      ...everyTenth(firstRecords),
    ]);
    // --until-caught-up, as `tillstream run` uses it: a closed parent can answer empty with a lag of 0
    // before its end, and must still be read to its end, or its children would never start.
    const consuming: string[] = [];
    const rest = await runShardProcessors(clients.kinesis, clients.doc, names, {
      ...batchOptions,
      untilCaughtUp: true,
      log: (message) => {
        if (message.endsWith(': consuming')) consuming.push(message.split(' ')[1]!.replace(/:$/, ''));
      },
    });
    await waitUntilCaughtUp(clients, names, 1_000);

    // Assess
    const firstIds = new Set(first.map((event) => event.orderId));
    expect(second.filter((event) => firstIds.has(event.orderId)).length).toBeGreaterThan(5);
    expect(partWay.records).toBeGreaterThan(0);
    expect(partWay.records).toBeLessThan(firstRecords.length);
    const shards = await listAllShards(clients.kinesis, names.ordersStream);
    const children = shards.filter((shard) => parents.includes(shard.ParentShardId ?? ''));
    expect(parents).toHaveLength(2);
    expect(children).toHaveLength(4);
    expect(children.every((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined)).toBe(
      true,
    );
    // Every parent started before any child, and each child received part of the second half.
    expect(new Set(consuming.slice(0, 2))).toEqual(new Set(parents));
    expect(consuming.slice(2).sort()).toEqual(children.map((shard) => shard.ShardId).sort());
    const perShard = new Map(rest.shards.map((shard) => [shard.shardId, shard.records]));
    expect(children.every((shard) => (perShard.get(shard.ShardId ?? '') ?? 0) > 0)).toBe(true);
    const stored = await storedTable(clients, names.aggregatesTable);
    expect(stored.size).toBeGreaterThan(15);
    expect(stored).toEqual(referenceItems([...first, ...second]));
  });

  it('stays exact when both shards split while it runs, with 20% of its requests throttled', async () => {
    // Prepare: a processor whose clients throttle 20% of their requests; the producer's do not
    const names = await streamWithTwoShards('split-live');
    const throttled = createClients({ kind: 'local', endpoints: stack.endpoints });
    const counts = injectThrottling(throttled, 0.2, 4);
    const { first, second } = twoHalves(60, 20, 3033);
    const firstRecords = orderRecords(first);
    const secondRecords = orderRecords(second);
    await putRecords(clients.kinesis, names.ordersStream, [...firstRecords, ...everyTenth(firstRecords)]);
    const stop = new AbortController();
    const options: ProcessorOptions = { ...batchOptions, signal: stop.signal };
    let processed = 0;

    try {
      // Act: split once the processor has applied part of the first half, then put the second
      const running = runShardProcessors(throttled.kinesis, throttled.doc, names, {
        ...options,
        crashAt: (window) => {
          if (window === CrashWindow.AfterCheckpoint) processed++;
        },
      });
      const startedAt = Date.now();
      while (processed < 2 && Date.now() - startedAt < 20_000) await new Promise((r) => setTimeout(r, 5));
      const parents = await splitEveryOpenShard(clients.kinesis, names.ordersStream);
      await putRecords(clients.kinesis, names.ordersStream, [
        ...secondRecords,
        ...everyTenth(secondRecords),
        ...everyTenth(firstRecords),
      ]);
      await waitUntilCaughtUp(clients, names, 40_000);
      stop.abort();
      const summary = await running;

      // Assess
      console.info(`[${engine}] throttled/attempts per operation: ${throttleReport(counts)}`);
      expect(parents).toHaveLength(2);
      expect(summary.shards).toHaveLength(6);
      expect(sum(counts.throttled.values())).toBeGreaterThan(0.1 * sum(counts.attempts.values()));
      for (const operation of ['DynamoDB.UpdateItem', 'DynamoDB.BatchGetItem', 'Kinesis.GetRecords']) {
        expect(counts.throttled.get(operation) ?? 0, operation).toBeGreaterThan(0);
      }
      const stored = await storedTable(clients, names.aggregatesTable);
      expect(stored.size).toBeGreaterThan(15);
      expect(stored).toEqual(referenceItems([...first, ...second]));
    } finally {
      stop.abort();
      throttled.destroy();
    }
  });

  it('applies every row exactly once with 20% of its requests throttled and 10% of the records twice', async () => {
    // Prepare
    const names = await streamWithTwoShards('throttled');
    const throttled = createClients({ kind: 'local', endpoints: stack.endpoints });
    const counts = injectThrottling(throttled, 0.2, 7);
    const events = sampleEvents(80, 77);
    const records = orderRecords(events);
    await putRecords(clients.kinesis, names.ordersStream, [...records, ...everyTenth(records)]);

    try {
      // Act: a run, a producer retry of 10% of the records, another run
      await runShardProcessors(throttled.kinesis, throttled.doc, names, {
        ...batchOptions,
        untilCaughtUp: true,
      });
      await putRecords(clients.kinesis, names.ordersStream, everyTenth(records));
      await runShardProcessors(throttled.kinesis, throttled.doc, names, {
        ...batchOptions,
        untilCaughtUp: true,
      });

      // Assess
      console.info(`[${engine}] throttled/attempts per operation: ${throttleReport(counts)}`);
      const throttles = sum(counts.throttled.values());
      const attempts = sum(counts.attempts.values());
      expect(throttles).toBeGreaterThan(0.1 * attempts);
      expect(throttles).toBeLessThan(0.3 * attempts);
      for (const operation of [
        'DynamoDB.UpdateItem',
        'DynamoDB.BatchGetItem',
        'DynamoDB.BatchWriteItem',
        'Kinesis.GetRecords',
      ]) {
        expect(counts.throttled.get(operation) ?? 0, operation).toBeGreaterThan(0);
      }
      const stored = await storedTable(clients, names.aggregatesTable);
      expect(stored.size).toBeGreaterThan(15);
      expect(stored).toEqual(referenceItems(events));
    } finally {
      throttled.destroy();
    }
  });
});
