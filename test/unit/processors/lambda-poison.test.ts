/**
 * A Lambda batch whose records are all poison records its progress past them, as the local runner
 * checkpoints such a batch: otherwise `tillstream lag` reads the poison record as the oldest
 * waiting one and shows the shard BEHIND until a valid record arrives.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { expect, it } from 'vitest';
import { DynamoShardStore } from '../../../processors/shard/dynamo-store.js';
import { processKinesisEvent } from '../../../processors/shard/lambda.js';
import { resourceNames } from '../../../shared/resources.js';

const names = resourceNames({ resourcePrefix: 't' });
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(doc);

it('records the position after a batch of poison records', async () => {
  dynamo.on(PutCommand).resolves({});
  dynamo.on(UpdateCommand).resolves({});
  const store = new DynamoShardStore(doc, names, {
    streamName: names.ordersStream,
    retry: { maxAttempts: 1 },
  });
  const response = await processKinesisEvent(
    {
      Records: [
        {
          eventID: 'shardId-000000000001:200',
          eventSourceARN: 'arn:aws:kinesis:us-east-1:1:stream/t-orders',
          kinesis: {
            sequenceNumber: '200',
            data: Buffer.from('not an event').toString('base64'),
            partitionKey: 'k',
          },
        },
      ],
    },
    store,
    () => {},
  );
  expect(response).toEqual({ batchItemFailures: [] });
  const progress = dynamo
    .commandCalls(UpdateCommand)
    .filter((call) => call.args[0].input.TableName === names.stateTable)
    .map((call) => call.args[0].input.ExpressionAttributeValues?.[':seq']);
  expect(progress).toEqual(['200']);
});
