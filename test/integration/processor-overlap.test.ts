/**
 * `--until-caught-up` beside a producer that is still putting (how `tillstream run` overlaps its
 * poll and its processors): an empty, caught-up stream does not end the run while the producer
 * runs, and the run ends exact once it has finished.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putRecords } from '../../ingest/producer.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { sleep } from '../../shared/sleep.js';
import { type PipelineStack, startPipelineStack } from '../support/pipeline-stack.js';
import { orderRecords, storedTable } from '../support/processor-fixtures.js';
import { sampleEvents } from '../unit/aggregates/generators.js';
import { referenceItems } from '../unit/aggregates/reference.js';

describe('shard processor beside a running producer', () => {
  let stack: PipelineStack;

  beforeAll(async () => {
    stack = await startPipelineStack('overlap');
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('waits for the producer, then stops caught up with every record applied exactly once', async () => {
    // Prepare: a producer that starts on an empty stream, pauses between its puts and repeats 10%
    const events = sampleEvents(60, 4711);
    const records = orderRecords(events);
    const repeated = records.slice(0, Math.floor(records.length / 10));
    const producer = (async () => {
      await sleep(300);
      await putRecords(stack.clients.kinesis, stack.names.ordersStream, records.slice(0, 30));
      await sleep(400);
      await putRecords(stack.clients.kinesis, stack.names.ordersStream, records.slice(30));
      await putRecords(stack.clients.kinesis, stack.names.ordersStream, repeated);
    })();

    // Act: the stream is empty and caught up when the processors start
    const summary = await runShardProcessors(stack.clients.kinesis, stack.clients.doc, stack.names, {
      untilCaughtUp: true,
      producerDone: producer,
      batchMaxRecords: 7,
      batchMaxWaitMs: 30,
      idlePollMs: 20,
    });

    // Assess
    expect(summary.records).toBe(records.length + repeated.length);
    expect(await storedTable(stack.clients, stack.names.aggregatesTable)).toEqual(referenceItems(events));
  });
});
