/**
 * A failed Lambda invocation records its error in the shard's status item, as the local runner
 * does, so `tillstream lag` and `tillstream status` show the shard FAILING until an invocation
 * succeeds; the status write is best effort and never turns a failed batch into a success. The
 * state table is a map the mocked UpdateCommand and QueryCommand read and write.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { lagReport } from '../../../processors/shard/cli.js';
import { DynamoShardStore } from '../../../processors/shard/dynamo-store.js';
import { type KinesisStreamEvent, processKinesisEvent } from '../../../processors/shard/lambda.js';
import { shardFacts } from '../../../processors/status/collect.js';
import {
  formatStatus,
  type StatusFacts,
  statusReport,
  TableCount,
} from '../../../processors/status/report.js';
import { resourceNames } from '../../../shared/resources.js';
import { encodeOrderEvent } from '../../../shared/schemas/order-event.js';
import { sampleEvents } from '../aggregates/generators.js';

const names = resourceNames({ resourcePrefix: 't' });
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(doc);
const SHARD = 'shardId-000000000001';

function kinesisEvent(data: readonly Uint8Array[], firstSequence: bigint): KinesisStreamEvent {
  return {
    Records: data.map((bytes, index) => ({
      eventID: `${SHARD}:${firstSequence + BigInt(index)}`,
      eventSourceARN: 'arn:aws:kinesis:us-east-1:1:stream/t-orders',
      kinesis: {
        sequenceNumber: String(firstSequence + BigInt(index)),
        data: Buffer.from(bytes).toString('base64'),
        partitionKey: 'k',
        approximateArrivalTimestamp: Date.now() / 1000,
      },
    })),
  };
}

/** Applies an update of the form the store writes (`SET #a = :a, … [REMOVE #b, …]`) to an item. */
function applyUpdate(item: Record<string, unknown>, input: UpdateCommandInput): Record<string, unknown> {
  const match = /^SET (.*?)(?: REMOVE (.*))?$/.exec(input.UpdateExpression ?? '');
  if (match === null) throw new Error(`unexpected update ${input.UpdateExpression}`);
  const attribute = (name: string) => input.ExpressionAttributeNames?.[name] ?? name;
  const next: Record<string, unknown> = { ...item, ...input.Key };
  for (const assignment of match[1]!.split(', ')) {
    const [name, value] = assignment.split(' = ');
    next[attribute(name!)] = input.ExpressionAttributeValues?.[value!];
  }
  for (const name of match[2]?.split(', ') ?? []) delete next[attribute(name)];
  return next;
}

/** `status` facts with nothing to attend to but the shards given. */
function statusFacts(shards: StatusFacts['shards']): StatusFacts {
  return {
    generatedAt: new Date().toISOString(),
    target: 'aws',
    poll: { lastPollAt: new Date().toISOString(), lastPollFiles: 1, lastPollErrors: [], filesWaiting: [] },
    rows: {
      pendingOptions: 0,
      oldestPendingSince: null,
      quarantineSince: '2024-06-13',
      quarantinedRows: 0,
      quarantinedByReason: {},
      quarantineFiles: [],
      filesSetAside: [],
    },
    shards,
    maxShardLagMs: 60_000,
    poisonRecords: 0,
    snapshot: {
      expectedDate: '2024-06-19',
      latestDate: '2024-06-19',
      runId: 'r1',
      codeVersion: 'test',
      files: 1,
      rowCounts: {},
    },
    uploads: {
      dueLocalTime: '10:00',
      dueDaysAfter: 1,
      lookbackDays: 7,
      locationsChecked: 0,
      missing: [],
      closures: [],
    },
    tables: [{ table: names.stateTable, items: 1, countedBy: TableCount.Scan, capped: false }],
  };
}

describe('a failed Lambda invocation', () => {
  const stateTable = new Map<string, Record<string, unknown>>();
  const events = sampleEvents(3, 5).map((event) => encodeOrderEvent(event));
  const store = () =>
    new DynamoShardStore(doc, names, { streamName: names.ordersStream, retry: { maxAttempts: 1 } });
  const boom = () => Object.assign(new Error('boom'), { name: 'InternalServerError' });

  beforeEach(() => {
    dynamo.reset();
    stateTable.clear();
    dynamo.on(BatchGetCommand).resolves({ Responses: {} });
    dynamo.on(BatchWriteCommand).resolves({});
    dynamo.on(UpdateCommand, { TableName: names.stateTable }).callsFake((input: UpdateCommandInput) => {
      const key = `${String(input.Key?.['pk'])}|${String(input.Key?.['sk'])}`;
      stateTable.set(key, applyUpdate(stateTable.get(key) ?? {}, input));
      return {};
    });
    dynamo.on(QueryCommand).callsFake(() => ({ Items: [...stateTable.values()] }));
  });

  it('records its error in the shard status, shown FAILING by lag and status until a success clears it', async () => {
    // Prepare: every item update fails
    dynamo.on(UpdateCommand, { TableName: names.aggregatesTable }).rejects(boom());

    // Act
    const failed = await processKinesisEvent(kinesisEvent(events, 100n), store(), () => {});
    const failingStates = await store().listShardStates();

    // Assess: the batch is reported failed; one status write carries the error
    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: '100' }] });
    const statusWrites = dynamo
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.TableName === names.stateTable);
    expect(statusWrites).toHaveLength(1);
    expect(statusWrites[0]!.Key).toEqual({ pk: 'shard#t-orders', sk: SHARD });
    expect(statusWrites[0]!.ExpressionAttributeValues).toMatchObject({
      ':error': 'InternalServerError: boom',
      ':errorAt': expect.any(Number),
      ':iteratorAgeMs': expect.any(Number),
    });
    expect(failingStates).toEqual([
      expect.objectContaining({ shardId: SHARD, error: 'InternalServerError: boom' }),
    ]);
    const lag = lagReport(failingStates, 60_000, Date.now());
    expect(lag.failing).toBe(true);
    expect(lag.lines[1]).toMatch(new RegExp(`^${SHARD}\\s.*FAILING$`));
    expect(lag.lines[2]).toMatch(new RegExp(`^${SHARD} failed \\d+ s ago: InternalServerError: boom$`));
    const status = statusReport(statusFacts(failingStates.map(shardFacts)));
    expect(status.healthy).toBe(false);
    expect(status.attention).toEqual([`shard ${SHARD} is failing: InternalServerError: boom`]);
    expect(formatStatus(status)).toMatch(new RegExp(`${SHARD}\\s.*FAILING`));

    // Act: the retry succeeds
    dynamo.on(UpdateCommand, { TableName: names.aggregatesTable }).resolves({});
    const retried = await processKinesisEvent(kinesisEvent(events, 100n), store(), () => {});
    const recoveredStates = await store().listShardStates();

    // Assess: its progress write clears the error
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(recoveredStates).toEqual([
      expect.objectContaining({ shardId: SHARD, checkpoint: String(100 + events.length - 1) }),
    ]);
    expect(recoveredStates[0]!.error).toBeUndefined();
    expect(lagReport(recoveredStates, 60_000, Date.now()).failing).toBe(false);
    expect(statusReport(statusFacts(recoveredStates.map(shardFacts))).healthy).toBe(true);
  });

  it('still reports the batch failed when its status write fails too, and logs that', async () => {
    // Prepare
    dynamo.on(UpdateCommand).rejects(boom());
    const logged: string[] = [];

    // Act
    const response = await processKinesisEvent(kinesisEvent(events, 200n), store(), (line) =>
      logged.push(line),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '200' }] });
    expect(logged).toEqual([
      expect.stringMatching(/^batch from 200 failed, to be retried: InternalServerError: boom/),
      `shard ${SHARD}: status not saved: InternalServerError: boom`,
    ]);
  });
});
