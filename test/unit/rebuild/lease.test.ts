import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ControlKey,
  liveGenerationResolver,
  READER_GENERATION_TTL_MS,
  withPollerLease,
} from '../../../shared/generation.js';
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

  it('waits for a lease a backfill gives up between turns, asking again every second', async () => {
    // Prepare
    let now = NOW;
    const waits: number[] = [];
    const held = new ConditionalCheckFailedException({ message: 'held', $metadata: {} });
    docMock.on(PutCommand).rejectsOnce(held).rejectsOnce(held).resolves({});
    docMock.on(GetCommand).resolves({ Item: { holder: 'backfill@4711', expiresAtMs: NOW + 60_000 } });
    docMock.on(DeleteCommand).resolves({});
    // Act
    const outcome = await withPollerLease(
      doc,
      names,
      'poller-lambda',
      () => now,
      async () => 'polled',
      {
        waitMs: 60_000,
        sleep: async (ms) => {
          waits.push(ms);
          now += ms;
        },
      },
    );
    // Assess
    expect(outcome).toEqual({ result: 'polled' });
    expect(waits).toEqual([1_000, 1_000]);
    expect(docMock.commandCalls(PutCommand)).toHaveLength(3);
  });

  it('skips the cycle once the wait is over and the lease is still held', async () => {
    // Prepare
    let now = NOW;
    const waits: number[] = [];
    docMock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'held', $metadata: {} }));
    docMock.on(GetCommand).resolves({ Item: { holder: 'rebuild@42', expiresAtMs: NOW + 600_000 } });
    let ran = false;
    // Act
    const outcome = await withPollerLease(
      doc,
      names,
      'poller-lambda',
      () => now,
      async () => {
        ran = true;
      },
      {
        waitMs: 2_500,
        sleep: async (ms) => {
          waits.push(ms);
          now += ms;
        },
      },
    );
    // Assess
    expect(ran).toBe(false);
    expect('heldBy' in outcome && outcome.heldBy.holder).toBe('rebuild@42');
    expect(waits).toEqual([1_000, 1_000, 500]);
    expect(docMock.commandCalls(PutCommand)).toHaveLength(4);
  });
});

describe('liveGenerationResolver (what the Lambdas write and read)', () => {
  beforeEach(() => docMock.reset());

  it('reads the pointer at every call for a writer, so a switch applies to the next invocation', async () => {
    // Prepare
    docMock
      .on(GetCommand)
      .resolvesOnce({})
      .resolvesOnce({ Item: { ...ControlKey.Generation, live: 1 } });
    const live = liveGenerationResolver(doc, names);
    // Act
    const before = await live();
    const after = await live();
    // Assess
    expect(before).toEqual({ generation: 0, names });
    expect(after.generation).toBe(1);
    expect(after.names.aggregatesTable).toBe('tillstream-aggregates-g1');
    expect(docMock.commandCalls(GetCommand)).toHaveLength(2);
  });

  it('lets a reader keep its generation for the TTL, then reads the pointer again', async () => {
    // Prepare
    let now = NOW;
    docMock
      .on(GetCommand)
      .resolvesOnce({ Item: { ...ControlKey.Generation, live: 1 } })
      .resolves({ Item: { ...ControlKey.Generation, live: 2 } });
    const live = liveGenerationResolver(doc, names, READER_GENERATION_TTL_MS, () => now);
    // Act
    const first = await live();
    now += READER_GENERATION_TTL_MS - 1;
    const cached = await live();
    now += 1;
    const reread = await live();
    // Assess
    expect(first.generation).toBe(1);
    expect(cached).toBe(first);
    expect(reread.names.stateTable).toBe('tillstream-state-g2');
    expect(docMock.commandCalls(GetCommand)).toHaveLength(2);
  });
});
