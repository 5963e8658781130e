import { setTimeout as delay } from 'node:timers/promises';
import { BatchWriteCommand, DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  arrayMart,
  ClvTier,
  type CustomerMetricsRow,
  customerMetricsColumns,
  MartName,
  RfmSegment,
} from '../../aggregates/marts/index.js';
import { scanAggregates } from '../../processors/compaction/job.js';
import {
  readProfilesMarker,
  WriteBackMode,
  type WriteBackOptions,
  writeBackProfiles,
} from '../../processors/compaction/profiles.js';
import { CompactionStep } from '../../processors/compaction/snapshot.js';
import type { AwsClients } from '../../shared/aws/clients.js';
import { ControlKey } from '../../shared/generation.js';
import type { ResourceNames } from '../../shared/resources.js';
import { type PipelineStack, scanTable, startPipelineStack } from '../support/pipeline-stack.js';

const CUSTOMERS = 300;
const customerId = (index: number): string => `p${String(index).padStart(5, '0')}`;

/** A `customer_metrics` mart of `count` customers whose figures depend on `asOf`. */
function martAsOf(asOf: string, count = CUSTOMERS) {
  const day = Number(asOf.slice(-2));
  const rows = Array.from(
    { length: count },
    (_, index): CustomerMetricsRow => ({
      customerId: customerId(index),
      loyaltyMember: index % 4 === 0,
      firstOrderDate: '2023-06-01',
      lastOrderDate: '2023-08-01',
      orders: 1 + (index % 9),
      clvCents: 500 + index * 11 + day,
      clvPercentile: { num: index, den: count },
      clvTier: [ClvTier.High, ClvTier.Medium, ClvTier.Low][index % 3] ?? ClvTier.Low,
      recencyDays: day,
      frequency180d: 1 + (index % 9),
      monetary180dCents: 500 + index * 11,
      rScore: 1 + (index % 3),
      fScore: 2,
      mScore: 3,
      rfmSegment: RfmSegment.Regular,
      avgGapDays: null,
      spendRecentCents: 100,
      spendPriorCents: 100,
      spendChangePct: null,
      atRisk: index % 7 === 0,
    }),
  );
  return arrayMart(MartName.CustomerMetrics, ['customer_id'], customerMetricsColumns, rows);
}

describe('profile write-back in batch puts, exact under restatements and concurrent runs (dynalite)', () => {
  let setup: PipelineStack;
  let names: ResourceNames;
  let clients: AwsClients;

  beforeAll(async () => {
    setup = await startPipelineStack('profiles-writeback');
    ({ names, clients } = setup);
  });
  afterAll(async () => {
    await setup?.close();
  });
  // Each test starts with no profile and no marker.
  beforeEach(async () => {
    const profiles = (await scanTable(clients.doc, names.aggregatesTable)).filter(
      (item) => item['sk'] === 'P',
    );
    for (let start = 0; start < profiles.length; start += 25) {
      const requests = profiles
        .slice(start, start + 25)
        .map((item) => ({ DeleteRequest: { Key: { pk: item['pk'], sk: item['sk'] } } }));
      const response = await clients.doc.send(
        new BatchWriteCommand({ RequestItems: { [names.aggregatesTable]: requests } }),
      );
      expect(response.UnprocessedItems?.[names.aggregatesTable] ?? []).toEqual([]);
    }
    await clients.doc.send(
      new DeleteCommand({ TableName: names.stateTable, Key: ControlKey.ProfilesMarker }),
    );
  });

  /** The stored profiles: customer id → `asOf` and CLV. */
  const storedProfiles = async (): Promise<Map<string, { asOf: string; clvCents: number }>> => {
    const items = await scanTable(clients.doc, names.aggregatesTable);
    return new Map(
      items
        .filter((item) => item['sk'] === 'P')
        .map((item) => [
          String(item['customerId']),
          { asOf: String(item['asOf']), clvCents: Number(item['clvCents']) },
        ]),
    );
  };
  const expectAllAt = async (asOf: string, count = CUSTOMERS): Promise<void> => {
    const stored = await storedProfiles();
    const expected = martAsOf(asOf, count);
    expect(stored.size).toBe(count);
    for (let index = 0; index < count; index++) {
      const row = expected.row(index);
      expect(stored.get(row.customerId), row.customerId).toEqual({ asOf, clvCents: row.clvCents });
    }
  };
  /** The profiles the compaction's scan would read now. */
  const scanned = async () => (await scanAggregates(clients.doc, names, 2)).profiles;
  const writeBack = (
    asOf: string,
    existing: Awaited<ReturnType<typeof scanned>>,
    options: WriteBackOptions = {},
  ) =>
    writeBackProfiles(clients.doc, names, martAsOf(asOf), asOf, existing, {
      ...options,
      lease: { retryEveryMs: 20, ...options.lease },
    });
  const leaseItem = async () =>
    (
      await clients.doc.send(
        new GetCommand({ TableName: names.stateTable, Key: ControlKey.ProfilesLease, ConsistentRead: true }),
      )
    ).Item;

  it('keeps a newer snapshot’s profiles from an older restatement, and lets a later snapshot rewrite them', async () => {
    // Prepare: the older run's scan happens before the newer run writes (the race the marker settles).
    const staleScan = await scanned();

    // Act: D2, then D1 < D2 (with the stale scan, and with a fresh one), then D3 > D2
    const d2 = await writeBack('2023-08-12', staleScan);
    const d1Stale = await writeBackProfiles(
      clients.doc,
      names,
      martAsOf('2023-08-10', CUSTOMERS + 40),
      '2023-08-10',
      staleScan,
    );
    const afterD1 = await storedProfiles();
    const d1Fresh = await writeBack('2023-08-10', await scanned());
    const afterD1Fresh = await storedProfiles();
    const d3 = await writeBack('2023-08-14', await scanned());

    // Assess: D2 in batch puts, every profile written
    expect(d2).toEqual({ written: CUSTOMERS, unchanged: 0, newer: 0, mode: WriteBackMode.Batch });
    // Assess: D1 with the stale scan: conditional puts, each of D2's profiles kept (the server's
    // condition refused them), the 40 customers D2 did not have written (no `asOf` yet)
    expect(d1Stale).toEqual({ written: 40, unchanged: 0, newer: CUSTOMERS, mode: WriteBackMode.Conditional });
    for (let index = 0; index < CUSTOMERS + 40; index++) {
      expect(afterD1.get(customerId(index))?.asOf).toBe(index < CUSTOMERS ? '2023-08-12' : '2023-08-10');
    }
    // Assess: D1 again with a fresh scan: nothing to write, nothing changed
    expect(d1Fresh).toMatchObject({ written: 0, newer: CUSTOMERS, mode: WriteBackMode.None });
    expect(afterD1Fresh).toEqual(afterD1);
    // Assess: D3 rewrites every profile of its mart in batch puts
    expect(d3).toEqual({ written: CUSTOMERS, unchanged: 0, newer: 0, mode: WriteBackMode.Batch });
    const final = await storedProfiles();
    for (let index = 0; index < CUSTOMERS; index++) {
      expect(final.get(customerId(index))).toEqual({
        asOf: '2023-08-14',
        clvCents: martAsOf('2023-08-14').row(index).clvCents,
      });
    }
    expect(await readProfilesMarker(clients.doc, names)).toBe('2023-08-14');
    expect(await leaseItem()).toBeUndefined();
  });

  describe('two write-backs started together', () => {
    beforeEach(async () => {
      // Both start from the same profiles, all older than either run.
      await writeBack('2023-08-20', await scanned());
      await expectAllAt('2023-08-20');
    });

    it.each([
      { first: '2023-08-21', second: '2023-08-22' },
      { first: '2023-08-24', second: '2023-08-23' },
    ])(
      'end with every profile at the newer as_of (started $first, then $second)',
      async ({ first, second }) => {
        // Prepare
        const existing = await scanned();

        // Act
        // The first one pauses after its first batch until the second is done (or a second has
        // passed): without the lease the second would write in that pause, and the first after it.
        let secondSettled!: () => void;
        const secondDone = new Promise<void>((resolve) => {
          secondSettled = resolve;
        });
        let paused = false;
        const firstRun = writeBack(first, existing, {
          batchConcurrency: 1,
          onStep: async () => {
            if (paused) return;
            paused = true;
            await Promise.race([secondDone, delay(1_000)]);
          },
        });
        const secondRun = writeBack(second, existing, { batchConcurrency: 8 }).finally(secondSettled);
        const results = await Promise.all([firstRun, secondRun]);

        // Assess
        const newer = [first, second].sort()[1] as string;
        await expectAllAt(newer);
        expect(results.reduce((sum, result) => sum + result.written, 0)).toBeGreaterThanOrEqual(CUSTOMERS);
        const newerResult = results[first > second ? 0 : 1];
        expect(newerResult).toMatchObject({ written: CUSTOMERS, newer: 0, mode: WriteBackMode.Batch });
        expect(await readProfilesMarker(clients.doc, names)).toBe(newer);
        expect(await leaseItem()).toBeUndefined();
      },
    );
  });

  it('leaves the next run exact after a crash in the middle of a write-back', async () => {
    // Prepare
    await writeBack('2023-09-01', await scanned());
    const crash = new Error('injected crash');
    let steps = 0;

    // Act: the crash after 60 profiles; then an older restatement, then the rerun
    const crashed = writeBack('2023-09-05', await scanned(), {
      onStep: (step) => {
        if (step === CompactionStep.ProfileWritten && ++steps === 60) throw crash;
      },
    });
    await expect(crashed).rejects.toBe(crash);
    const leaseAfterCrash = await leaseItem();
    const older = await writeBack('2023-09-03', await scanned(), { lease: { waitMs: 0 } });
    const rerun = await writeBack('2023-09-05', await scanned(), { lease: { waitMs: 0 } });

    // Assess: the lease was released, the marker stayed, the older run kept the crashed run's profiles
    expect(leaseAfterCrash).toBeUndefined();
    expect(older.mode).toBe(WriteBackMode.Conditional);
    expect(older.newer).toBeGreaterThanOrEqual(60);
    expect(older.written + older.newer).toBe(CUSTOMERS);
    expect(rerun.mode).toBe(WriteBackMode.Batch);
    expect(rerun.written + rerun.unchanged).toBe(CUSTOMERS);
    await expectAllAt('2023-09-05');
  });
});
