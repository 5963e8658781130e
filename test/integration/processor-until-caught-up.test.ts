/**
 * `tillstream process --until-caught-up` (and `run`) stops at an empty read only when that read
 * says the shard is caught up (MillisBehindLatest 0). Kinesis may answer an empty page while records
 * wait further on in the shard, with MillisBehindLatest above 0; kinesalite never does (it answers 0
 * on every open shard), so the reads here are wrapped to answer so first.
 */
import { GetRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { putRecords } from '../../ingest/producer.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { useEmbeddedStack } from '../support/embedded-stack.js';
import { orderRecords, storedTable } from '../support/processor-fixtures.js';
import { sampleEvents } from '../unit/aggregates/generators.js';
import { referenceItems } from '../unit/aggregates/reference.js';

/** Empty pages behind the latest record that each shard's reader gets before its real reads. */
const EMPTY_PAGES_BEHIND = 3;

describe('process --until-caught-up', () => {
  const embedded = useEmbeddedStack('caught-up');

  it('reads on past empty pages that are behind the latest record, and stops once caught up', async () => {
    // Prepare: the first reads of each shard answer nothing, 4 s behind the latest record, and
    // hand back the same iterator (the records are still ahead of it)
    const names = await embedded.freshResources(2);
    const events = sampleEvents(30, 5);
    await putRecords(embedded.clients.kinesis, names.ordersStream, orderRecords(events));
    const send = embedded.clients.kinesis.send.bind(embedded.clients.kinesis);
    const emptyPages = new Map<string, number>();
    const answered: number[] = [];
    const kinesis = {
      send: async (command: GetRecordsCommand) => {
        if (!(command instanceof GetRecordsCommand)) return send(command);
        const iterator = command.input.ShardIterator ?? '';
        // The first two iterators read are the two shards' first (a shard's reader hands back
        // the iterator it was given, so each is answered empty `EMPTY_PAGES_BEHIND` times).
        const served = emptyPages.get(iterator) ?? 0;
        if (served < EMPTY_PAGES_BEHIND && (served > 0 || emptyPages.size < 2)) {
          emptyPages.set(iterator, served + 1);
          answered.push(4_000);
          return { Records: [], MillisBehindLatest: 4_000, NextShardIterator: iterator };
        }
        const response = await send(command);
        answered.push(response.MillisBehindLatest ?? 0);
        return response;
      },
    } as unknown as KinesisClient;

    // Act
    await runShardProcessors(kinesis, embedded.clients.doc, names, {
      idlePollMs: 10,
      batchMaxWaitMs: 20,
      batchMaxRecords: 7,
      untilCaughtUp: true,
    });

    // Assess: every record applied, after the empty pages behind the latest
    expect([...emptyPages.values()]).toEqual([EMPTY_PAGES_BEHIND, EMPTY_PAGES_BEHIND]);
    expect(answered.filter((lag) => lag > 0)).toHaveLength(2 * EMPTY_PAGES_BEHIND);
    expect(await storedTable(embedded.clients, names.aggregatesTable)).toEqual(referenceItems(events));
  });
});
