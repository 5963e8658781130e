import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PutRecordsError } from '../../../ingest/errors.js';
import {
  batchRecords,
  PUT_RECORDS_MAX_BYTES,
  putRecords,
  type StreamRecord,
} from '../../../ingest/producer.js';

const kinesisMock = mockClient(KinesisClient);
const noWait = { sleep: async () => {}, random: () => 0.5 };

const record = (key: string, bytes = 10): StreamRecord => ({
  partitionKey: key,
  data: new Uint8Array(bytes),
});

function sentKeys(call: number): string[] {
  const input = kinesisMock.commandCalls(PutRecordsCommand)[call]!.args[0].input as PutRecordsCommandInput;
  return (input.Records ?? []).map((entry) => entry.PartitionKey!);
}

describe('putRecords', () => {
  beforeEach(() => {
    kinesisMock.reset();
  });

  it('retries only the throttled entries', async () => {
    // Prepare
    kinesisMock
      .on(PutRecordsCommand)
      .resolvesOnce({
        FailedRecordCount: 2,
        Records: [
          { SequenceNumber: '1', ShardId: 's' },
          { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' },
          { SequenceNumber: '2', ShardId: 's' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
        ],
      })
      .resolvesOnce({
        FailedRecordCount: 1,
        Records: [{ SequenceNumber: '3' }, { ErrorCode: 'ProvisionedThroughputExceededException' }],
      })
      .resolves({ FailedRecordCount: 0, Records: [{ SequenceNumber: '4' }] });
    const kinesis = new KinesisClient({ region: 'us-east-1' });

    // Act
    const outcome = await putRecords(
      kinesis,
      'orders',
      [record('a'), record('b'), record('c'), record('d')],
      noWait,
    );

    // Assess
    expect(sentKeys(0)).toEqual(['a', 'b', 'c', 'd']);
    expect(sentKeys(1)).toEqual(['b', 'd']);
    expect(sentKeys(2)).toEqual(['d']);
    expect(outcome).toEqual({ recordsPut: 4, requests: 3, entriesRetried: 3 });
  });

  it('retries a whole request that was throttled, with growing delays', async () => {
    // Prepare
    const throttled = Object.assign(new Error('rate exceeded'), {
      name: 'ProvisionedThroughputExceededException',
    });
    kinesisMock
      .on(PutRecordsCommand)
      .rejectsOnce(throttled)
      .rejectsOnce(throttled)
      .resolves({ Records: [{ SequenceNumber: '1' }] });
    const delays: number[] = [];

    // Act
    await putRecords(new KinesisClient({ region: 'us-east-1' }), 'orders', [record('a')], {
      sleep: async (ms) => void delays.push(ms),
      random: () => 0.999,
      baseDelayMs: 100,
    });

    // Assess
    expect(delays).toEqual([99, 199]);
  });

  it('gives up after the last attempt and says how many entries failed', async () => {
    // Prepare
    kinesisMock.on(PutRecordsCommand).resolves({
      FailedRecordCount: 1,
      Records: [{ SequenceNumber: '1' }, { ErrorCode: 'ProvisionedThroughputExceededException' }],
    });

    // Act
    const putting = putRecords(
      new KinesisClient({ region: 'us-east-1' }),
      'orders',
      [record('a'), record('b')],
      {
        ...noWait,
        maxAttempts: 3,
      },
    );

    // Assess
    await expect(putting).rejects.toBeInstanceOf(PutRecordsError);
    await expect(putting).rejects.toMatchObject({ failedCount: 1 });
  });

  it('does not retry a request error that is not transient', async () => {
    // Prepare
    kinesisMock
      .on(PutRecordsCommand)
      .rejects(Object.assign(new Error('no stream'), { name: 'ResourceNotFoundException' }));

    // Act
    const putting = putRecords(new KinesisClient({ region: 'us-east-1' }), 'orders', [record('a')], noWait);

    // Assess
    await expect(putting).rejects.toThrow('no stream');
    expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(1);
  });
});

describe('batchRecords', () => {
  it('keeps batches within 500 entries and 5 MiB, in order', () => {
    // Prepare
    const many = Array.from({ length: 1201 }, (_, index) => record(`k${index}`));
    const big = Array.from({ length: 6 }, (_, index) => record(`b${index}`, 1024 * 1024 - 10));

    // Act
    const byCount = batchRecords(many);
    const bySize = batchRecords(big);

    // Assess
    expect(byCount.map((batch) => batch.length)).toEqual([500, 500, 201]);
    expect(byCount.flat().map((entry) => entry.partitionKey)).toEqual(
      many.map((entry) => entry.partitionKey),
    );
    expect(bySize.map((batch) => batch.length)).toEqual([5, 1]);
    for (const batch of bySize) {
      const bytes = batch.reduce((sum, entry) => sum + entry.data.byteLength + entry.partitionKey.length, 0);
      expect(bytes).toBeLessThanOrEqual(PUT_RECORDS_MAX_BYTES);
    }
  });
});
