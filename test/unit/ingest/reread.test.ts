import { describe, expect, it } from 'vitest';
import type { QuarantineRecord } from '../../../ingest/raw-layer.js';
import { assertCountsAddUp, type IngestReport, type RequeueOutcome } from '../../../ingest/report.js';
import { type EarlierRead, planReread } from '../../../ingest/reread.js';
import type { ReasonCode } from '../../../shared/schemas/reasons.js';

const record = (row: number, reason: ReasonCode, raw = `raw ${row}`): QuarantineRecord => ({
  source: 'folder',
  file: 'b.csv',
  path: 'b.csv',
  contentHash: 'h',
  arrivalSeq: 2,
  row,
  column: null,
  raw,
  reason,
  message: reason,
  header: 'H',
  reportKey: 'raw/b.csv.ingest-report.json',
  quarantinedAt: '2024-01-10T10:00:00.000Z',
});

/** A report of 5 rows with `quarantined` rows quarantined (by reason) and the rest accepted. */
const reportOf = (
  quarantined: readonly QuarantineRecord[],
  extra: Partial<IngestReport> = {},
): IngestReport => {
  const byReason: Partial<Record<ReasonCode, number>> = {};
  for (const entry of quarantined) byReason[entry.reason] = (byReason[entry.reason] ?? 0) + 1;
  return {
    source: 'folder',
    fileId: 'b.csv',
    path: 'b.csv',
    contentHash: 'h',
    sizeBytes: 100,
    rawKey: 'raw/b.csv',
    arrivalSeq: 2,
    arrivedAt: '2024-01-10T10:00:00.000Z',
    modifiedAt: '2024-01-10T10:00:00.000Z',
    kind: 'order_items',
    status: 'ingested',
    duplicateOf: null,
    fileMessage: null,
    rowsRead: 5,
    rowsAccepted: 5 - quarantined.length,
    rowsDuplicate: 0,
    rowsExcluded: 0,
    rowsQuarantined: quarantined.length,
    rowsPending: 0,
    quarantinedByReason: byReason,
    pendingRows: [],
    recordsPut: 1,
    outlierWarnings: 0,
    quarantineKeys: quarantined.length > 0 ? ['quarantine/b/rows.jsonl'] : [],
    timingsMs: {},
    updatedAt: '2024-01-10T10:00:00.000Z',
    ...extra,
  };
};

const earlier = (
  report: IngestReport | undefined,
  rowRecords: readonly QuarantineRecord[],
  outcomes: Readonly<Record<number, RequeueOutcome>> = {},
): EarlierRead => ({
  report,
  rowRecords,
  requeueOutcomes: new Map(Object.entries(outcomes).map(([row, outcome]) => [Number(row), outcome])),
});

describe('a version read again', () => {
  it('drops the record of a row the new read accepts', () => {
    // Prepare: row 1 was a conflicting duplicate of a withdrawn row; the new read accepts it
    const before = [record(1, 'conflicting_duplicate')];
    const fresh = reportOf([]);

    // Act
    const plan = planReread(fresh, [], earlier(reportOf(before), before), 0);

    // Assess
    expect(plan).toEqual({ report: fresh, rowRecords: [], forgetRequeued: [] });
  });

  it('keeps a requeued row that the new read quarantines again taken in, with its fixed record', () => {
    // Prepare: row 2 (bad price) was fixed in quarantine and requeued; row 4 is still bad
    const fixed = record(2, 'bad_number', 'fixed 2');
    const before = reportOf([record(4, 'bad_number')], {
      rowsAccepted: 4,
      requeuedRows: [2, 3],
    });
    const freshRecords = [record(2, 'bad_number'), record(4, 'bad_number')];

    // Act
    const plan = planReread(
      reportOf(freshRecords),
      freshRecords,
      earlier(before, [fixed, record(4, 'bad_number')], { 2: 'accepted', 3: 'accepted' }),
      7,
    );
    const again = planReread(
      reportOf(freshRecords),
      freshRecords,
      earlier(plan.report, plan.rowRecords, { 2: 'accepted' }),
      7,
    );

    // Assess
    expect(plan.report).toMatchObject({
      rowsAccepted: 4,
      rowsQuarantined: 1,
      quarantinedByReason: { bad_number: 1 },
      requeuedRows: [2],
    });
    expect(plan.rowRecords).toEqual([fixed, record(4, 'bad_number')]);
    // Row 3 (requeued before) is accepted by the new read itself: its requeue mark goes.
    expect(plan.forgetRequeued).toEqual([3]);
    expect(again).toEqual({ ...plan, forgetRequeued: [] });
    assertCountsAddUp(plan.report);
  });

  it('keeps a requeued option pending while it waits, and accepted once it settled', () => {
    // Prepare: rows 2 and 3 were requeued as pending; row 2 still waits, row 3 joined its line
    const before = reportOf([], { rowsAccepted: 4, rowsPending: 1, pendingRows: [2], requeuedRows: [2, 3] });
    const freshRecords = [record(2, 'bad_number'), record(3, 'bad_number')];

    // Act
    const plan = planReread(
      reportOf(freshRecords),
      freshRecords,
      earlier(before, [], { 2: 'pending', 3: 'pending' }),
      0,
    );

    // Assess
    expect(plan.report).toMatchObject({
      rowsAccepted: 4,
      rowsPending: 1,
      pendingRows: [2],
      rowsQuarantined: 0,
      requeuedRows: [2, 3],
    });
    assertCountsAddUp(plan.report);
  });
});
