/**
 * `--until-caught-up` beside a producer that is still putting (how `tillstream run` overlaps its
 * poll and its processors): an empty, caught-up stream does not end the run while the producer
 * runs, and the run ends exact once it has finished.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putRecords } from '../../ingest/producer.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { resourceNames } from '../../shared/resources.js';
import { sleep } from '../../shared/sleep.js';
import { orderRecords, storedTable } from '../support/processor-fixtures.js';
import { sampleEvents } from '../unit/aggregates/generators.js';
import { referenceItems } from '../unit/aggregates/reference.js';

const names = resourceNames({ resourcePrefix: 'overlap' });

describe('shard processor beside a running producer', () => {
  let stack: LocalStack;
  let clients: AwsClients;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'tillstream-overlap-'));
    stack = await startLocalStack({ stateDir, fresh: true });
    await bootstrapLocalResources(stack.endpoints, names, { shardCount: 2 });
    clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  });

  afterAll(async () => {
    clients?.destroy();
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('waits for the producer, then stops caught up with every record applied exactly once', async () => {
    // Prepare: a producer that starts on an empty stream, pauses between its puts and repeats 10%
    const events = sampleEvents(60, 4711);
    const records = orderRecords(events);
    const repeated = records.slice(0, Math.floor(records.length / 10));
    const producer = (async () => {
      await sleep(300);
      await putRecords(clients.kinesis, names.ordersStream, records.slice(0, 30));
      await sleep(400);
      await putRecords(clients.kinesis, names.ordersStream, records.slice(30));
      await putRecords(clients.kinesis, names.ordersStream, repeated);
    })();

    // Act: the stream is empty and caught up when the processors start
    const summary = await runShardProcessors(clients.kinesis, clients.doc, names, {
      untilCaughtUp: true,
      producerDone: producer,
      batchMaxRecords: 7,
      batchMaxWaitMs: 30,
      idlePollMs: 20,
    });

    // Assess
    expect(summary.records).toBe(records.length + repeated.length);
    expect(await storedTable(clients, names.aggregatesTable)).toEqual(referenceItems(events));
  });
});
