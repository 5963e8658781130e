import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createFolderSource } from '../../../ingest/folder/source.js';
import { runPollCycle } from '../../../ingest/poll.js';
import { defaults } from '../../../shared/config.js';
import { resourceNames } from '../../../shared/resources.js';

const s3Mock = mockClient(S3Client);
const kinesisMock = mockClient(KinesisClient);
const docMock = mockClient(DynamoDBDocumentClient);

describe('poll cycle when S3 fails', () => {
  beforeEach(() => {
    s3Mock.reset();
    kinesisMock.reset();
    docMock.reset();
    docMock.on(QueryCommand).resolves({ Items: [] });
    docMock.on(GetCommand).resolves({});
    // The ledger is already in the order-item layout: no one-time fold runs.
    docMock
      .on(GetCommand, { TableName: resourceNames(defaults).ledgerTable })
      .resolves({ Item: { pk: 'ledger#layout', sk: 'order-items' } });
    docMock.on(UpdateCommand).resolves({ Attributes: { next: 1 } });
  });

  it('reads no row and registers nothing when the raw copy cannot be written', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(tmpdir(), 'tillstream-s3-'));
    await writeFile(path.join(dir, 'items.csv'), 'ORDER_ID\n1\n');
    s3Mock
      .on(PutObjectCommand)
      .rejects(Object.assign(new Error('We encountered an internal error'), { name: 'InternalError' }));
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

    // Act
    const polling = runPollCycle({
      clients: {
        doc,
        kinesis: new KinesisClient({ region: 'us-east-1' }),
        s3: new S3Client({ region: 'us-east-1' }),
      },
      names: resourceNames(defaults),
      settings: defaults,
      source: createFolderSource(dir),
      clock: () => 0,
    });

    // Assess
    await expect(polling).rejects.toThrow('internal error');
    expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(0);
    expect(docMock.commandCalls(PutCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toMatch(
      /^raw\/source=folder\/file=items\.csv\/sha256=[0-9a-f]{64}\/items\.csv$/,
    );
  });
});
