import { describe, expect, it } from 'vitest';
import { ReportInvariantError } from '../../../ingest/errors.js';
import {
  applyRequeue,
  assertCountsAddUp,
  FileStatus,
  fileOutcomes,
  formatReportTable,
  type IngestReport,
  RecordStanding,
  recordStanding,
  settlePending,
} from '../../../ingest/report.js';
import { formatCents } from '../../../ingest/rows.js';

const report: IngestReport = {
  source: 'folder',
  fileId: 'options.csv',
  path: 'options.csv',
  contentHash: 'h',
  sizeBytes: 100,
  rawKey: 'raw/x',
  arrivalSeq: 1,
  arrivedAt: '2023-08-20T00:00:00.000Z',
  modifiedAt: '2023-08-20T00:00:00.000Z',
  kind: 'order_item_options',
  status: 'ingested',
  duplicateOf: null,
  fileMessage: null,
  rowsRead: 6,
  rowsAccepted: 2,
  rowsDuplicate: 1,
  rowsExcluded: 0,
  rowsQuarantined: 1,
  rowsPending: 2,
  quarantinedByReason: { bad_number: 1 },
  pendingRows: [4, 6],
  recordsPut: 1,
  outlierWarnings: 0,
  quarantineKeys: [],
  timingsMs: {},
  updatedAt: '2023-08-20T00:00:00.000Z',
};

describe('ingest report', () => {
  it('accepts counts that add up and refuses those that do not', () => {
    // Act
    const good = () => assertCountsAddUp(report);
    const lostRow = () => assertCountsAddUp({ ...report, rowsRead: 7 });
    const badReasons = () => assertCountsAddUp({ ...report, quarantinedByReason: {} });

    // Assess
    expect(good).not.toThrow();
    expect(lostRow).toThrow(ReportInvariantError);
    expect(badReasons).toThrow(/by reason/);
  });

  it('settles each pending row once, however often a settlement is applied', () => {
    // Prepare
    const settlements = new Map([
      [4, { accepted: true } as const],
      [6, { accepted: false, reason: 'orphan_option' } as const],
    ]);

    // Act
    const once = settlePending(report, settlements, 0);
    const twice = settlePending(once, settlements, 0);

    // Assess
    expect(once).toMatchObject({ rowsAccepted: 3, rowsQuarantined: 2, rowsPending: 0, pendingRows: [] });
    expect(once.quarantinedByReason).toEqual({ bad_number: 1, orphan_option: 1 });
    expect(twice).toMatchObject({ rowsAccepted: 3, rowsQuarantined: 2, rowsPending: 0 });
    assertCountsAddUp(twice);
  });

  it('moves a requeued row out of quarantine once', () => {
    // Act
    const once = applyRequeue(report, 'bad_number', 'accepted', 3, 0);
    const twice = applyRequeue(once, 'bad_number', 'accepted', 3, 0);

    // Assess
    expect(once).toMatchObject({
      rowsAccepted: 3,
      rowsQuarantined: 0,
      quarantinedByReason: {},
      requeuedRows: [3],
    });
    expect(twice).toBe(once);
    assertCountsAddUp(twice);
  });

  it('tells a quarantine record still counted from one taken in, withdrawn or no longer counted', () => {
    // Act
    const standings = [
      recordStanding(report, 'bad_number', 3),
      recordStanding(undefined, 'bad_number', 3),
      recordStanding(applyRequeue(report, 'bad_number', 'accepted', 3, 0), 'bad_number', 3),
      recordStanding({ ...report, status: FileStatus.Retracted }, 'bad_number', 3),
      recordStanding(report, 'conflicting_duplicate', 5),
      // A whole file's record (row 0) is not counted by reason, and still stands.
      recordStanding({ ...report, status: FileStatus.Rejected }, 'missing_column', 0),
    ];

    // Assess
    expect(standings).toEqual([
      RecordStanding.Quarantined,
      RecordStanding.Quarantined,
      RecordStanding.Requeued,
      RecordStanding.Withdrawn,
      RecordStanding.Superseded,
      RecordStanding.Quarantined,
    ]);
  });

  it('prints one line per file with the quarantine reasons', () => {
    // Act
    const table = formatReportTable([report]);

    // Assess
    expect(table.split('\n')).toHaveLength(2);
    expect(table).toContain('1 (bad_number 1)');
  });

  it('says under the table why a file was set aside whole', () => {
    // Act
    const table = formatReportTable([
      report,
      {
        ...report,
        path: 'items_typo.csv',
        status: FileStatus.Rejected,
        fileMessage: 'missing_column: lacks the column(s) CURRENCY',
        rowsRead: 0,
        rowsAccepted: 0,
        rowsQuarantined: 0,
        quarantinedByReason: {},
      },
    ]);
    // Assess
    expect(table.split('\n')).toHaveLength(4);
    expect(table.split('\n')[3]).toBe(
      'items_typo.csv: rejected: missing_column: lacks the column(s) CURRENCY',
    );
  });

  it('counts how files ended: ingested, copies, and each file set aside with why', () => {
    // Act
    const outcomes = fileOutcomes([
      report,
      { ...report, path: 'copy.csv', status: FileStatus.DuplicateContent },
      {
        ...report,
        path: 'pic.png',
        status: FileStatus.UnknownKind,
        fileMessage: 'not an export: no known header',
      },
    ]);
    // Assess
    expect(outcomes).toEqual({
      ingested: 1,
      copies: 1,
      setAside: ['pic.png: unknown_kind: not an export: no known header'],
    });
  });

  it('writes cents as decimals without floating point', () => {
    expect([
      formatCents(0),
      formatCents(5),
      formatCents(950),
      formatCents(-50),
      formatCents(123456789),
    ]).toEqual(['0.00', '0.05', '9.50', '-0.50', '1234567.89']);
  });
});
