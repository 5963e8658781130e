import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ControlKey, withPollerLease } from '../../../shared/generation.js';
import { resourceNames } from '../../../shared/resources.js';

const docMock = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const names = resourceNames({ resourcePrefix: 'tillstream' });
const NOW = Date.UTC(2023, 7, 20, 12);

describe('withPollerLease (the live poller beside a backfill or a rebuild)', () => {
  beforeEach(() => docMock.reset());

  it('runs the cycle under the lease and releases it afterwards', async () => {
    // Prepare
    docMock.on(PutCommand).resolves({});
    docMock.on(DeleteCommand).resolves({});
    // Act
    const outcome = await withPollerLease(
      doc,
      names,
      'poller-lambda',
      () => NOW,
      async () => 'polled',
    );
    // Assess
    expect(outcome).toEqual({ result: 'polled' });
    const put = docMock.commandCalls(PutCommand)[0]!.args[0].input;
    expect(put.TableName).toBe(names.stateTable);
    expect(put.Item).toMatchObject({ ...ControlKey.PollerLease, holder: 'poller-lambda' });
    expect(docMock.commandCalls(DeleteCommand)).toHaveLength(1);
  });

  it('releases the lease when the cycle throws', async () => {
    // Prepare
    docMock.on(PutCommand).resolves({});
    docMock.on(DeleteCommand).resolves({});
    // Act
    const attempt = withPollerLease(
      doc,
      names,
      'poller-lambda',
      () => NOW,
      async () => {
        throw new Error('Drive is down');
      },
    );
    // Assess
    await expect(attempt).rejects.toThrow('Drive is down');
    expect(docMock.commandCalls(DeleteCommand)).toHaveLength(1);
  });

  it('skips the cycle, naming the holder, while a backfill holds the lease', async () => {
    // Prepare
    docMock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'held', $metadata: {} }));
    docMock.on(GetCommand).resolves({ Item: { holder: 'backfill 4711', expiresAtMs: NOW + 60_000 } });
    let ran = false;
    // Act
    const outcome = await withPollerLease(
      doc,
      names,
      'poller-lambda',
      () => NOW,
      async () => {
        ran = true;
      },
    );
    // Assess
    expect(ran).toBe(false);
    expect('heldBy' in outcome && outcome.heldBy.message).toContain('backfill 4711');
    expect(docMock.commandCalls(DeleteCommand)).toHaveLength(0);
  });
});
