import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { lagReport } from '../../../processors/shard/cli.js';
import { DynamoShardStore } from '../../../processors/shard/dynamo-store.js';
import { type KinesisStreamEvent, processKinesisEvent } from '../../../processors/shard/lambda.js';
import { resourceNames } from '../../../shared/resources.js';
import { encodeOrderEvent } from '../../../shared/schemas/order-event.js';
import { sampleEvents } from '../aggregates/generators.js';

const names = resourceNames({ resourcePrefix: 't' });
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(doc);

function kinesisEvent(data: Uint8Array[], firstSequence = 100n, arrivedAt?: number): KinesisStreamEvent {
  return {
    Records: data.map((bytes, index) => ({
      eventID: `shardId-000000000001:${firstSequence + BigInt(index)}`,
      eventSourceARN: 'arn:aws:kinesis:us-east-1:1:stream/t-orders',
      kinesis: {
        sequenceNumber: String(firstSequence + BigInt(index)),
        data: Buffer.from(bytes).toString('base64'),
        partitionKey: 'k',
        ...(arrivedAt === undefined ? {} : { approximateArrivalTimestamp: arrivedAt / 1000 + index }),
      },
    })),
  };
}

describe('Lambda handler', () => {
  afterEach(() => dynamo.reset());
  const store = () =>
    new DynamoShardStore(doc, names, { streamName: names.ordersStream, retry: { maxAttempts: 1 } });
  const events = sampleEvents(3, 5).map((event) => encodeOrderEvent(event));

  it("reports no failure when every record is applied, and records the shard's progress for lag", async () => {
    // Prepare: records that arrived one a second, the newest 10 s ago
    dynamo.on(BatchGetCommand).resolves({ Responses: {} });
    dynamo.on(UpdateCommand).resolves({});
    dynamo.on(BatchWriteCommand).resolves({});
    dynamo.on(PutCommand).resolves({});
    const arrivedAt = Date.now() - 10_000 - (events.length - 1) * 1000;
    // Act
    const response = await processKinesisEvent(kinesisEvent(events, 100n, arrivedAt), store(), () => {});
    // Assess: one write to the state table, after the flush: the last sequence and the iterator age
    expect(response).toEqual({ batchItemFailures: [] });
    const progress = dynamo
      .commandCalls(UpdateCommand)
      .filter((call) => call.args[0].input.TableName === names.stateTable)
      .map((call) => call.args[0].input);
    expect(progress).toHaveLength(1);
    expect(progress[0]!.ExpressionAttributeValues).toMatchObject({ ':seq': String(100 + events.length - 1) });
    const age = progress[0]!.ExpressionAttributeValues?.[':iteratorAgeMs'] as number;
    expect(age).toBeGreaterThanOrEqual(10_000);
    expect(age).toBeLessThan(11_000);
    expect(progress[0]!.ConditionExpression).toBe('attribute_not_exists(#key) OR #key <= :key');
  });

  it('still reports success when only the progress write fails', async () => {
    // Prepare
    dynamo.on(BatchGetCommand).resolves({ Responses: {} });
    dynamo.on(UpdateCommand, { TableName: names.aggregatesTable }).resolves({});
    dynamo
      .on(UpdateCommand, { TableName: names.stateTable })
      .rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    dynamo.on(BatchWriteCommand).resolves({});
    const logged: string[] = [];
    // Act
    const response = await processKinesisEvent(kinesisEvent(events), store(), (line) => logged.push(line));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(logged).toEqual([expect.stringMatching(/^shard shardId-000000000001: progress not recorded: /)]);
  });

  it('reports the lowest sequence number when the flush fails, never a success', async () => {
    // Prepare
    dynamo.on(BatchGetCommand).resolves({ Responses: {} });
    dynamo.on(UpdateCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    // Act: the records out of order, so that the lowest is not the first (nor the last)
    const event = kinesisEvent(events, 4_959_000_000_000_000_000_000n);
    const [lowest, ...rest] = event.Records;
    const response = await processKinesisEvent(
      { Records: [...rest.slice(0, 1), lowest!, ...rest.slice(1)] },
      store(),
      () => {},
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '4959000000000000000000' }] });
  });

  it('keeps a poison record in the state table and applies the rest', async () => {
    // Prepare
    dynamo.on(BatchGetCommand).resolves({ Responses: {} });
    dynamo.on(UpdateCommand).resolves({});
    dynamo.on(BatchWriteCommand).resolves({});
    dynamo.on(PutCommand).resolves({});
    // Act
    const response = await processKinesisEvent(
      kinesisEvent([new TextEncoder().encode('not json'), ...events]),
      store(),
      () => {},
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const poison = dynamo
      .commandCalls(PutCommand)
      .filter((call) => call.args[0].input.TableName === names.stateTable);
    expect(poison).toHaveLength(1);
    expect(poison[0]!.args[0].input.Item).toMatchObject({
      pk: 'poison#t-orders',
      sk: 'shardId-000000000001#100',
    });
  });
});

describe('lag report', () => {
  it('marks a shard behind the threshold', () => {
    // Act
    const report = lagReport(
      [
        { shardId: 'shardId-000000000000', lagMs: 10, updatedAt: 1_000 },
        { shardId: 'shardId-000000000001', lagMs: 90_000, updatedAt: 1_000 },
        { shardId: 'shardId-000000000002', lagMs: 999_999, done: true },
      ],
      60_000,
      3_000,
    );
    // Assess
    expect(report.behind).toBe(true);
    expect(report.lines).toHaveLength(3);
    expect(report.lines[2]).toMatch(/shardId-000000000001\s+90000.*BEHIND/);
    expect(report.lines[1]).toMatch(/ok$/);
    expect(report.failing).toBe(false);
  });

  it('marks a failing shard and prints its error under the table', () => {
    // Act
    const report = lagReport(
      [
        { shardId: 'shardId-000000000000', lagMs: 10, updatedAt: 1_000 },
        {
          shardId: 'shardId-000000000001',
          lagMs: 10,
          updatedAt: 1_000,
          error: 'ThrottlingException: Rate exceeded',
          errorAt: 2_000,
        },
      ],
      60_000,
      5_000,
    );
    // Assess
    expect(report.failing).toBe(true);
    expect(report.behind).toBe(false);
    expect(report.lines[2]).toMatch(/shardId-000000000001\s+10\s.*FAILING$/);
    expect(report.lines[3]).toBe('shardId-000000000001 failed 3 s ago: ThrottlingException: Rate exceeded');
  });

  it('takes the backlog read from the stream over what a stopped consumer last recorded', () => {
    // Act: both consumers last recorded a lag of 0; records have waited 2 minutes on shard 1 since
    const report = lagReport(
      [
        { shardId: 'shardId-000000000000', lagMs: 0, iteratorAgeMs: 0, updatedAt: 1_000, pendingMs: 0 },
        { shardId: 'shardId-000000000001', lagMs: 0, iteratorAgeMs: 0, updatedAt: 1_000, pendingMs: 120_000 },
        { shardId: 'shardId-000000000002', pendingMs: 5 },
      ],
      60_000,
      200_000,
    );
    // Assess
    expect(report.behind).toBe(true);
    expect(report.lines[1]).toMatch(/^shardId-000000000000\s+0\s+0\s+0\s.*ok$/);
    expect(report.lines[2]).toMatch(/^shardId-000000000001\s+120000\s+0\s+0\s.*BEHIND$/);
    expect(report.lines[3]).toMatch(/^shardId-000000000002\s+5\s+\?\s+\?\s.*ok$/);
  });
});
