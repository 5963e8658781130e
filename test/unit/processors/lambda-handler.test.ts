/**
 * The shard processor's Lambda entry point end to end, with the SDK mocked: the response, the
 * status item, and the metrics Powertools writes to stdout as EMF documents (the invocation's with
 * the `service` dimension, then each shard's with `service` and `shard`).
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KinesisStreamEvent } from '../../../processors/shard/lambda.js';
import { MetricName, metricsNamespace, ServiceName } from '../../../shared/aws/powertools.js';
import { encodeOrderEvent } from '../../../shared/schemas/order-event.js';
import { sampleEvents } from '../aggregates/generators.js';

const documents = mockClient(DynamoDBDocumentClient);
const savedEnv = { ...process.env };
const SHARD = 'shardId-000000000003';
const NAMESPACE = metricsNamespace('test');

/** An EMF document as Powertools writes it: `_aws` and the dimension and metric values at the top. */
interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

beforeAll(() => {
  for (const name of ['POWERTOOLS_DEV', 'POWERTOOLS_METRICS_DISABLED']) delete process.env[name];
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    TILLSTREAM_TARGET: 'aws',
    POWERTOOLS_METRICS_NAMESPACE: NAMESPACE,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});
afterAll(() => {
  process.env = savedEnv;
});

/** The records, one a second, the newest `newestAgeMs` old. */
function kinesisEvent(data: readonly Uint8Array[], firstSequence: bigint, newestAgeMs: number) {
  const firstArrival = Date.now() - newestAgeMs - (data.length - 1) * 1000;
  const event: KinesisStreamEvent = {
    Records: data.map((bytes, index) => ({
      eventID: `${SHARD}:${firstSequence + BigInt(index)}`,
      eventSourceARN: 'arn:aws:kinesis:eu-west-1:1:stream/tillstream-orders',
      kinesis: {
        sequenceNumber: String(firstSequence + BigInt(index)),
        data: Buffer.from(bytes).toString('base64'),
        partitionKey: 'k',
        approximateArrivalTimestamp: (firstArrival + index * 1000) / 1000,
      },
    })),
  };
  return event;
}

describe('the shard processor Lambda handler', () => {
  const events = sampleEvents(3, 5).map((event) => encodeOrderEvent(event));
  let stdout: string[] = [];

  beforeEach(() => {
    documents.reset();
    // No live generation pointer: generation 0's tables.
    documents.on(GetCommand).resolves({});
    documents.on(BatchGetCommand).resolves({ Responses: {} });
    documents.on(BatchWriteCommand).resolves({});
    documents.on(UpdateCommand).resolves({});
    stdout = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The EMF documents written to stdout, in order. */
  const emf = (): EmfDocument[] =>
    stdout
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as EmfDocument)
      .filter((document) => document._aws !== undefined);
  const metricsOf = (document: EmfDocument) =>
    Object.fromEntries(
      document._aws.CloudWatchMetrics[0]!.Metrics.map((metric) => [metric.Name, metric.Unit]),
    );

  it("publishes the invocation's metrics, then the shard's with its dimension: iterator age, rates, failures", async () => {
    // Prepare
    const { handler } = await import('../../../processors/shard/lambda.js');
    const started = Date.now();

    // Act
    const response = await handler(kinesisEvent(events, 500n, 10_000));
    const elapsedSeconds = (Date.now() - started) / 1000;

    // Assess: applied; two EMF documents
    expect(response).toEqual({ batchItemFailures: [] });
    const [invocation, shard, ...more] = emf();
    expect(more).toEqual([]);
    expect(invocation!._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: NAMESPACE,
        Dimensions: [['service']],
        Metrics: [
          { Name: MetricName.RecordsProcessed, Unit: 'Count' },
          { Name: MetricName.BatchesFailed, Unit: 'Count' },
        ],
      },
    ]);
    expect(invocation).toMatchObject({
      service: ServiceName.ShardProcessor,
      [MetricName.RecordsProcessed]: events.length,
      [MetricName.BatchesFailed]: 0,
    });
    expect(invocation).not.toHaveProperty('shard');
    expect(shard!._aws.CloudWatchMetrics[0]!.Namespace).toBe(NAMESPACE);
    expect(shard!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'shard']]);
    expect(metricsOf(shard!)).toEqual({
      [MetricName.IteratorAge]: 'Milliseconds',
      [MetricName.RecordsProcessed]: 'Count',
      [MetricName.BatchesFailed]: 'Count',
      [MetricName.RecordsPerSecond]: 'Count/Second',
      [MetricName.OrdersPerSecond]: 'Count/Second',
    });
    expect(shard).toMatchObject({
      service: ServiceName.ShardProcessor,
      shard: SHARD,
      [MetricName.RecordsProcessed]: events.length,
      [MetricName.BatchesFailed]: 0,
    });
    // The newest record arrived 10 s before the invocation; the status item records the same age.
    const age = shard![MetricName.IteratorAge] as number;
    expect(age).toBeGreaterThanOrEqual(10_000);
    expect(age).toBeLessThan(10_000 + elapsedSeconds * 1000 + 1);
    const progress = documents
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.TableName === 'tillstream-state');
    expect(progress).toHaveLength(1);
    expect(progress[0]!.ExpressionAttributeValues?.[':iteratorAgeMs']).toBe(age);
    // Rates over the invocation's processing time, which is within the handler call's; the ledger
    // is empty, so every order of the records is changed.
    const recordsPerSecond = shard![MetricName.RecordsPerSecond] as number;
    expect(recordsPerSecond).toBeGreaterThanOrEqual(Math.floor(events.length / elapsedSeconds));
    expect(recordsPerSecond).toBeLessThanOrEqual(events.length * 1000);
    const orders = new Set(sampleEvents(3, 5).map((event) => event.orderId)).size;
    expect(orders).toBeLessThan(events.length);
    const ordersPerSecond = shard![MetricName.OrdersPerSecond] as number;
    expect(ordersPerSecond).toBeGreaterThan(0);
    expect(Math.abs(ordersPerSecond - (recordsPerSecond * orders) / events.length)).toBeLessThanOrEqual(1);
  });

  it('publishes a failed batch per shard, with the iterator age and no rates', async () => {
    // Prepare: every item update fails
    documents
      .on(UpdateCommand, { TableName: 'tillstream-aggregates' })
      .rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    const { handler } = await import('../../../processors/shard/lambda.js');

    // Act
    const response = await handler(kinesisEvent(events, 900n, 5_000));

    // Assess: the batch is to be retried from its first record; the status item carries the error
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '900' }] });
    const [invocation, shard, ...more] = emf();
    expect(more).toEqual([]);
    expect(invocation).toMatchObject({ [MetricName.BatchesFailed]: 1 });
    expect(invocation).not.toHaveProperty('shard');
    expect(shard!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'shard']]);
    expect(metricsOf(shard!)).toEqual({
      [MetricName.IteratorAge]: 'Milliseconds',
      [MetricName.RecordsProcessed]: 'Count',
      [MetricName.BatchesFailed]: 'Count',
    });
    expect(shard).toMatchObject({
      shard: SHARD,
      [MetricName.BatchesFailed]: 1,
      [MetricName.RecordsProcessed]: events.length,
    });
    expect(shard![MetricName.IteratorAge]).toBeGreaterThanOrEqual(5_000);
    const status = documents
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.TableName === 'tillstream-state');
    expect(status).toHaveLength(1);
    expect(status[0]!.Key).toEqual({ pk: 'shard#tillstream-orders', sk: SHARD });
    expect(status[0]!.ExpressionAttributeValues).toMatchObject({
      ':error': 'InternalServerError: boom',
      ':iteratorAgeMs': shard![MetricName.IteratorAge],
    });
  });
});
