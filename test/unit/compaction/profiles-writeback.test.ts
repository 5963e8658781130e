import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { customerProfileKey } from '../../../aggregates/keys.js';
import {
  arrayMart,
  ClvTier,
  type CustomerMetricsRow,
  customerMetricsColumns,
  MartName,
  RfmSegment,
} from '../../../aggregates/marts/index.js';
import {
  profileOf,
  WriteBackMode,
  type WriteBackOptions,
  writeBackProfiles,
} from '../../../processors/compaction/profiles.js';
import { CompactionStep } from '../../../processors/compaction/snapshot.js';
import { ControlKey, LeaseHeldError } from '../../../shared/generation.js';
import { resourceNames } from '../../../shared/resources.js';

const docMock = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const names = resourceNames({ resourcePrefix: 'tillstream' });
const AS_OF = '2023-08-15';
const NOW = Date.UTC(2023, 7, 16, 3);
const noWait = { sleep: async () => {}, random: () => 0 } as const;

const customerId = (index: number): string => `c${String(index).padStart(4, '0')}`;

function metricsRow(index: number): CustomerMetricsRow {
  return {
    customerId: customerId(index),
    loyaltyMember: index % 3 === 0,
    firstOrderDate: '2023-06-01',
    lastOrderDate: '2023-08-10',
    orders: 1 + (index % 7),
    clvCents: 1_000 + index * 37,
    clvPercentile: { num: index, den: 1_000 },
    clvTier: index % 2 === 0 ? ClvTier.High : ClvTier.Low,
    recencyDays: 5,
    frequency180d: 1 + (index % 7),
    monetary180dCents: 1_000 + index * 37,
    rScore: 3,
    fScore: 2,
    mScore: 1,
    rfmSegment: RfmSegment.Regular,
    avgGapDays: null,
    spendRecentCents: 500,
    spendPriorCents: 400,
    spendChangePct: { num: 1, den: 4 },
    atRisk: index % 5 === 0,
  };
}

const martOf = (count: number) =>
  arrayMart(
    MartName.CustomerMetrics,
    ['customer_id'],
    customerMetricsColumns,
    Array.from({ length: count }, (_, index) => metricsRow(index)),
  );

/** What the scan would have read for a customer: the profile item as of `asOf`. */
const storedProfile = (index: number, asOf: string): Record<string, unknown> => ({
  ...customerProfileKey(customerId(index)),
  ...profileOf(metricsRow(index), asOf),
  customerId: customerId(index),
});

const isKey = (key: GetCommandInput['Key'], control: { pk: string; sk: string }): boolean =>
  key?.['pk'] === control.pk && key?.['sk'] === control.sk;
const isControlPut = (input: PutCommandInput, control: { pk: string; sk: string }): boolean =>
  input.TableName === names.stateTable && isKey(input.Item, control);
const batchIds = (input: BatchWriteCommandInput): string[] =>
  (input.RequestItems?.[names.aggregatesTable] ?? []).map((request) =>
    String(request.PutRequest?.Item?.['customerId']),
  );

/** Every call to the mocked client, in order, as `<command>:<detail>`. */
function callLog(): string[] {
  return docMock.calls().map((call) => {
    const command = call.args[0];
    if (command instanceof PutCommand) {
      const item = command.input.Item ?? {};
      return `put:${String(item['sk'] === 'P' ? item['customerId'] : item['sk'])}`;
    }
    if (command instanceof GetCommand) return `get:${String(command.input.Key?.['sk'])}`;
    if (command instanceof DeleteCommand) return `delete:${String(command.input.Key?.['sk'])}`;
    if (command instanceof BatchWriteCommand) return `batch:${batchIds(command.input).length}`;
    return 'other';
  });
}

describe('writeBackProfiles: batch puts when no newer profile can exist', () => {
  beforeEach(() => docMock.reset());

  it('takes the lease, raises the marker before the first batch, writes 25 a request, retries unprocessed items and releases the lease', async () => {
    // Prepare: 60 changed customers, one unchanged, one a newer snapshot already wrote.
    const existing = new Map([
      [customerId(60), storedProfile(60, AS_OF)],
      [customerId(61), { ...storedProfile(61, '2023-08-20'), tier: ClvTier.Medium }],
    ]);
    docMock.on(PutCommand).resolves({});
    docMock.on(GetCommand).resolves({});
    docMock.on(DeleteCommand).resolves({});
    const left = new Set<string>();
    const events: string[] = [];
    docMock.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => {
      const ids = batchIds(input);
      events.push(`batch:${ids.join(',')}`);
      // The first full batch comes back with three items unprocessed, once.
      const first = ids[0];
      if (ids.length === 25 && first !== undefined && !left.has(first)) {
        left.add(first);
        const requests = input.RequestItems?.[names.aggregatesTable] ?? [];
        return { UnprocessedItems: { [names.aggregatesTable]: requests.slice(22) } };
      }
      return {};
    });

    // Act
    const result = await writeBackProfiles(doc, names, martOf(62), AS_OF, existing, {
      lease: { clock: () => NOW, holder: 'nightly-1' },
      retry: noWait,
      onStep: (step, detail) => {
        events.push(`${step}:${detail}`);
      },
    });

    // Assess: the counts
    expect(result).toEqual({ written: 60, unchanged: 1, newer: 1, mode: WriteBackMode.Batch });

    // Assess: lease, marker read, marker raised, then the batches, then the release
    const log = callLog();
    expect(log.slice(0, 3)).toEqual([
      `put:${ControlKey.ProfilesLease.sk}`,
      `get:${ControlKey.ProfilesMarker.sk}`,
      `put:${ControlKey.ProfilesMarker.sk}`,
    ]);
    expect(log.at(-1)).toBe(`delete:${ControlKey.ProfilesLease.sk}`);
    const puts = docMock.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(puts).toHaveLength(2);
    expect(puts[0]).toMatchObject({
      TableName: names.stateTable,
      Item: { ...ControlKey.ProfilesLease, holder: 'nightly-1' },
    });
    expect(puts[1]).toMatchObject({
      TableName: names.stateTable,
      Item: { ...ControlKey.ProfilesMarker, asOf: AS_OF },
      ConditionExpression: 'NOT asOf > :asOf',
      ExpressionAttributeValues: { ':asOf': AS_OF },
    });
    const release = docMock.commandCalls(DeleteCommand)[0]?.args[0].input;
    expect(release).toMatchObject({
      TableName: names.stateTable,
      Key: ControlKey.ProfilesLease,
      ExpressionAttributeValues: { ':holder': 'nightly-1' },
    });

    // Assess: 25 a request, each changed customer written, unprocessed ones again
    const batches = docMock.commandCalls(BatchWriteCommand).map((call) => batchIds(call.args[0].input));
    expect(batches.map((ids) => ids.length).sort((a, b) => a - b)).toEqual([3, 3, 10, 25, 25]);
    const writtenIds = new Set(batches.flat());
    expect(writtenIds.size).toBe(60);
    expect(writtenIds.has(customerId(60))).toBe(false);
    expect(writtenIds.has(customerId(61))).toBe(false);
    const item =
      docMock.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.[names.aggregatesTable]?.[0]
        ?.PutRequest?.Item;
    expect(item).toMatchObject({ ...customerProfileKey(customerId(0)), asOf: AS_OF, tierKey: 'TIER#High' });

    // Assess: each profile's step comes after the last request that carried it
    for (const id of writtenIds) {
      const stepAt = events.indexOf(`${CompactionStep.ProfileWritten}:${id}`);
      const lastBatchAt = events.findLastIndex(
        (event) => event.startsWith('batch:') && event.slice(6).split(',').includes(id),
      );
      expect(stepAt, id).toBeGreaterThan(lastBatchAt);
    }
    expect(events.filter((event) => event.startsWith(CompactionStep.ProfileWritten))).toHaveLength(60);
  });

  it('gives up, releasing the lease, when items stay unprocessed for every round', async () => {
    // Prepare
    docMock.on(PutCommand).resolves({});
    docMock.on(GetCommand).resolves({ Item: { ...ControlKey.ProfilesMarker, asOf: '2023-08-14' } });
    docMock.on(DeleteCommand).resolves({});
    docMock.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => ({
      UnprocessedItems: input.RequestItems,
    }));

    // Act
    const attempt = writeBackProfiles(doc, names, martOf(3), AS_OF, new Map(), {
      lease: { clock: () => NOW },
      retry: { ...noWait, maxAttempts: 4 },
    });

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(docMock.commandCalls(BatchWriteCommand)).toHaveLength(4);
    expect(docMock.commandCalls(DeleteCommand)).toHaveLength(1);
  });

  it('renews the lease while it writes, and stops when another holder took it over', async () => {
    // Prepare: every batch takes 4 s by the clock; the lease lasts 9 s (renewed every 3 s).
    let now = NOW;
    let leasePuts = 0;
    docMock.on(PutCommand).callsFake((input: PutCommandInput) => {
      if (isControlPut(input, ControlKey.ProfilesLease) && ++leasePuts === 4) {
        throw new ConditionalCheckFailedException({ message: 'taken over', $metadata: {} });
      }
      return {};
    });
    docMock
      .on(GetCommand)
      .callsFake((input: GetCommandInput) =>
        isKey(input.Key, ControlKey.ProfilesLease)
          ? { Item: { ...ControlKey.ProfilesLease, holder: 'nightly-2', expiresAtMs: NOW + 60_000 } }
          : {},
      );
    docMock.on(DeleteCommand).resolves({});
    docMock.on(BatchWriteCommand).callsFake(() => {
      now += 4_000;
      return {};
    });

    // Act
    const attempt = writeBackProfiles(doc, names, martOf(250), AS_OF, new Map(), {
      batchConcurrency: 1,
      lease: { clock: () => now, durationMs: 9_000 },
      retry: noWait,
    });

    // Assess: three renewals went through, the fourth found the lease taken over
    await expect(attempt).rejects.toThrow(LeaseHeldError);
    await expect(attempt).rejects.toThrow(/profiles write-back lease is held by nightly-2/);
    const leaseWrites = docMock
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input)
      .filter((input) => isControlPut(input, ControlKey.ProfilesLease));
    expect(leaseWrites.map((input) => input.Item?.['expiresAtMs'])).toEqual([
      NOW + 9_000,
      NOW + 4_000 + 9_000,
      NOW + 8_000 + 9_000,
      NOW + 12_000 + 9_000,
    ]);
    expect(docMock.commandCalls(BatchWriteCommand)).toHaveLength(3);
    expect(docMock.commandCalls(DeleteCommand)).toHaveLength(1);
  });

  it('lets the requests in flight finish, starts no more, and releases the lease when a step throws', async () => {
    // Prepare
    docMock.on(PutCommand).resolves({});
    docMock.on(GetCommand).resolves({});
    docMock.on(DeleteCommand).resolves({});
    docMock.on(BatchWriteCommand).resolves({});
    const crash = new Error('injected crash');
    let steps = 0;

    // Act
    const attempt = writeBackProfiles(doc, names, martOf(500), AS_OF, new Map(), {
      batchConcurrency: 4,
      lease: { clock: () => NOW },
      onStep: () => {
        if (++steps === 30) throw crash;
      },
    });

    // Assess: the crash came in the second batch; the four first were in flight, none after
    await expect(attempt).rejects.toBe(crash);
    expect(docMock.commandCalls(BatchWriteCommand)).toHaveLength(4);
    expect(callLog().at(-1)).toBe(`delete:${ControlKey.ProfilesLease.sk}`);
  });

  it('takes no lease and writes nothing when no profile changed', async () => {
    // Prepare
    const existing = new Map([0, 1, 2].map((index) => [customerId(index), storedProfile(index, AS_OF)]));

    // Act
    const result = await writeBackProfiles(doc, names, martOf(3), AS_OF, existing);

    // Assess
    expect(result).toEqual({ written: 0, unchanged: 3, newer: 0, mode: WriteBackMode.None });
    expect(docMock.calls()).toHaveLength(0);
  });
});

describe('writeBackProfiles: conditional puts when a newer snapshot may have written profiles', () => {
  beforeEach(() => docMock.reset());

  const rejectProfilesOf = (newerIds: ReadonlySet<string>) => (input: PutCommandInput) => {
    if (input.TableName === names.aggregatesTable && newerIds.has(String(input.Item?.['customerId']))) {
      throw new ConditionalCheckFailedException({ message: 'newer', $metadata: {} });
    }
    return {};
  };

  it('puts each changed profile on the condition `NOT asOf > :asOf` and counts failed conditions as newer', async () => {
    // Prepare: the marker says 2023-08-20 started; the scan saw none of its profiles.
    docMock.on(GetCommand).resolves({ Item: { ...ControlKey.ProfilesMarker, asOf: '2023-08-20' } });
    docMock.on(DeleteCommand).resolves({});
    const newerIds = new Set([customerId(3), customerId(7)]);
    docMock.on(PutCommand).callsFake(rejectProfilesOf(newerIds));
    const steps: string[] = [];
    const options: WriteBackOptions = {
      lease: { clock: () => NOW, holder: 'restate-1' },
      retry: noWait,
      onStep: (_step, detail) => {
        steps.push(detail);
      },
    };

    // Act
    const result = await writeBackProfiles(doc, names, martOf(10), AS_OF, new Map(), options);

    // Assess
    expect(result).toEqual({ written: 8, unchanged: 0, newer: 2, mode: WriteBackMode.Conditional });
    expect(docMock.commandCalls(BatchWriteCommand)).toHaveLength(0);
    const puts = docMock.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(puts.filter((input) => isControlPut(input, ControlKey.ProfilesMarker))).toEqual([]);
    const profilePuts = puts.filter((input) => input.TableName === names.aggregatesTable);
    expect(profilePuts).toHaveLength(10);
    for (const input of profilePuts) {
      expect(input.ConditionExpression).toBe('NOT asOf > :asOf');
      expect(input.ExpressionAttributeValues).toEqual({ ':asOf': AS_OF });
      expect(input.Item?.['asOf']).toBe(AS_OF);
    }
    expect(steps.sort()).toEqual(
      Array.from({ length: 10 }, (_, index) => customerId(index)).filter((id) => !newerIds.has(id)),
    );
    expect(callLog().at(-1)).toBe(`delete:${ControlKey.ProfilesLease.sk}`);
  });

  it('falls back to conditional puts when a newer marker was raised between its read and its raise', async () => {
    // Prepare
    docMock.on(GetCommand).resolves({ Item: { ...ControlKey.ProfilesMarker, asOf: '2023-08-10' } });
    docMock.on(DeleteCommand).resolves({});
    docMock.on(PutCommand).callsFake((input: PutCommandInput) => {
      if (isControlPut(input, ControlKey.ProfilesMarker)) {
        throw new ConditionalCheckFailedException({ message: 'newer marker', $metadata: {} });
      }
      return {};
    });

    // Act
    const result = await writeBackProfiles(doc, names, martOf(4), AS_OF, new Map(), {
      lease: { clock: () => NOW },
    });

    // Assess
    expect(result).toEqual({ written: 4, unchanged: 0, newer: 0, mode: WriteBackMode.Conditional });
    expect(docMock.commandCalls(BatchWriteCommand)).toHaveLength(0);
    const profilePuts = docMock
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.TableName === names.aggregatesTable);
    expect(profilePuts.map((input) => input.ConditionExpression)).toEqual(Array(4).fill('NOT asOf > :asOf'));
  });
});

describe('writeBackProfiles: the profiles lease held by another write-back', () => {
  beforeEach(() => docMock.reset());

  it('asks again while it waits, then fails naming the holder and the expiry, writing nothing', async () => {
    // Prepare
    const expiresAtMs = NOW + 25_000;
    let now = NOW;
    docMock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'held', $metadata: {} }));
    docMock
      .on(GetCommand)
      .callsFake((input: GetCommandInput) =>
        isKey(input.Key, ControlKey.ProfilesLease)
          ? { Item: { ...ControlKey.ProfilesLease, holder: 'profiles@2023-08-16/other', expiresAtMs } }
          : {},
      );
    const waits: number[] = [];

    // Act
    const attempt = writeBackProfiles(doc, names, martOf(5), AS_OF, new Map(), {
      lease: {
        clock: () => now,
        waitMs: 5_000,
        retryEveryMs: 2_000,
        sleep: async (ms) => {
          waits.push(ms);
          now += ms;
        },
      },
    });

    // Assess
    const error = await attempt.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LeaseHeldError);
    expect(error).toMatchObject({ holder: 'profiles@2023-08-16/other', expiresAtMs });
    expect((error as Error).message).toBe(
      `the profiles write-back lease is held by profiles@2023-08-16/other until ${new Date(expiresAtMs).toISOString()}; wait for it or let it expire`,
    );
    expect(waits).toEqual([2_000, 2_000, 1_000]);
    expect(docMock.commandCalls(PutCommand)).toHaveLength(4);
    expect(
      docMock
        .commandCalls(PutCommand)
        .every((call) => isControlPut(call.args[0].input, ControlKey.ProfilesLease)),
    ).toBe(true);
    expect(docMock.commandCalls(BatchWriteCommand)).toHaveLength(0);
    expect(docMock.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('gets in once the other write-back releases the lease within the wait', async () => {
    // Prepare
    let now = NOW;
    let leaseAsks = 0;
    docMock.on(PutCommand).callsFake((input: PutCommandInput) => {
      if (isControlPut(input, ControlKey.ProfilesLease) && ++leaseAsks <= 2) {
        throw new ConditionalCheckFailedException({ message: 'held', $metadata: {} });
      }
      return {};
    });
    docMock
      .on(GetCommand)
      .callsFake((input: GetCommandInput) =>
        isKey(input.Key, ControlKey.ProfilesLease)
          ? { Item: { ...ControlKey.ProfilesLease, holder: 'other', expiresAtMs: NOW + 30_000 } }
          : {},
      );
    docMock.on(DeleteCommand).resolves({});
    docMock.on(BatchWriteCommand).resolves({});

    // Act
    const result = await writeBackProfiles(doc, names, martOf(5), AS_OF, new Map(), {
      lease: {
        clock: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      },
    });

    // Assess
    expect(result).toEqual({ written: 5, unchanged: 0, newer: 0, mode: WriteBackMode.Batch });
    expect(leaseAsks).toBe(3);
    expect(now - NOW).toBe(2_000);
  });
});
