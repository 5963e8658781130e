/**
 * A reader failure while a flush is in flight: the long-running processor consumes the shard
 * again, but only once that flush has settled. Two flushes of one shard at once would break the
 * single writer the ledger's unconditional puts rely on (the old flush's late ledger write would
 * put back older states, and a later duplicate delivery would be counted again).
 */

import { GetRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { putRecords } from '../../ingest/producer.js';
import { DynamoShardStore } from '../../processors/shard/dynamo-store.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { useEmbeddedStack } from '../support/embedded-stack.js';
import { lastSequences, orderRecords, storedTable } from '../support/processor-fixtures.js';
import { sampleEvents } from '../unit/aggregates/generators.js';
import { referenceItems } from '../unit/aggregates/reference.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('continuous runner: a reader failure during a flush', () => {
  const embedded = useEmbeddedStack('overlap');

  it('never runs two flushes of one shard at once (duplicates stay no-ops)', async () => {
    const names = await embedded.freshResources(1);
    // Round-robin: every order's first event, then every second event, … (the first batch holds
    // orders whose later events come in later batches).
    const byOrder = new Map<string, ReturnType<typeof sampleEvents>>();
    for (const event of sampleEvents(30, 11))
      byOrder.set(event.orderId, [...(byOrder.get(event.orderId) ?? []), event]);
    const events = [0, 1, 2].flatMap((round) => [...byOrder.values()].flatMap((list) => list[round] ?? []));
    await putRecords(embedded.clients.kinesis, names.ordersStream, orderRecords(events));
    const last = await lastSequences(embedded.clients.kinesis, names.ordersStream);
    const real = embedded.clients.kinesis;
    let getRecords = 0;
    const kinesis = {
      send: async (command: unknown) => {
        // The second read fails (a network error, not throttling) while the first batch flushes.
        if (command instanceof GetRecordsCommand && ++getRecords === 2) {
          await sleep(300);
          throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
        }
        return real.send(command as never);
      },
    } as unknown as KinesisClient;
    const send = embedded.clients.doc.send.bind(embedded.clients.doc);
    let ledgerWrites = 0;
    const doc = {
      send: async (command: unknown) => {
        // The first flush's ledger write is slow (a throttled BatchWriteItem retried with backoff).
        if (
          command instanceof BatchWriteCommand &&
          command.input.RequestItems?.[names.ledgerTable] !== undefined &&
          ++ledgerWrites === 1
        )
          await sleep(2_000);
        return send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const stop = new AbortController();
    const run = runShardProcessors(kinesis, doc, names, {
      idlePollMs: 30,
      batchMaxWaitMs: 20,
      batchMaxRecords: 7,
      getRecordsLimit: 6,
      restartDelayMs: 100,
      signal: stop.signal,
    });
    // Let the restarted consumer finish and the old flush's late write land.
    const store = new DynamoShardStore(embedded.clients.doc, names, { streamName: names.ordersStream });
    await sleep(4_000);
    stop.abort();
    await run;
    const [state] = await store.listShardStates();
    expect(state?.checkpoint).toBe(last.get(state!.shardId)?.toString());
    expect(await storedTable(embedded.clients, names.aggregatesTable)).toEqual(referenceItems(events));

    // Act: the producer delivers every record again (duplicates the flush must absorb).
    await putRecords(embedded.clients.kinesis, names.ordersStream, orderRecords(events));
    await runShardProcessors(embedded.clients.kinesis, embedded.clients.doc, names, {
      idlePollMs: 30,
      batchMaxWaitMs: 20,
      untilCaughtUp: true,
    });

    // Assess
    expect(await storedTable(embedded.clients, names.aggregatesTable)).toEqual(referenceItems(events));
  }, 60_000);
});
