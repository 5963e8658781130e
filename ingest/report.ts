/**
 * The per-file ingest report, kept beside the raw file (CONTRACT.md §1): every row read is
 * accepted, duplicate, excluded, quarantined or pending, and the report is refused when the counts
 * do not add up.
 */
import type { ReasonCode } from '../shared/schemas/reasons.js';
import { ReportInvariantError } from './errors.js';

export const FileStatus = {
  /** Rows read and settled (some may still be pending). */
  Ingested: 'ingested',
  /** Same bytes as a file already ingested: landed, not streamed again. */
  DuplicateContent: 'duplicate_content',
  /** Larger than `maxFileBytes`, or a Sheet over Drive's export cap: quarantined whole. */
  FileTooLarge: 'file_too_large',
  /** Not an export this product recognises (by header, or a Google document without CSV form). */
  UnknownKind: 'unknown_kind',
  /** Recognised, but unusable as a whole (missing column, bad encoding, empty). */
  Rejected: 'rejected',
  /** Withdrawn by `tillstream retract`: its rows no longer count anywhere (the counts say what it held). */
  Retracted: 'retracted',
} as const;
export type FileStatus = (typeof FileStatus)[keyof typeof FileStatus];

export interface IngestReport {
  readonly source: 'folder' | 'drive';
  readonly fileId: string;
  readonly path: string;
  readonly contentHash: string | null;
  readonly sizeBytes: number | null;
  readonly rawKey: string | null;
  readonly arrivalSeq: number | null;
  readonly arrivedAt: string;
  readonly modifiedAt: string;
  /** The export kind by header, `null` when none matched. */
  readonly kind: string | null;
  readonly status: FileStatus;
  /** For `duplicate_content`: the file first ingested with these bytes. */
  readonly duplicateOf: { readonly fileId: string; readonly path: string } | null;
  /** Why the whole file was set aside, for every status but `ingested` and `duplicate_content`. */
  readonly fileMessage: string | null;
  readonly rowsRead: number;
  readonly rowsAccepted: number;
  readonly rowsDuplicate: number;
  readonly rowsExcluded: number;
  readonly rowsQuarantined: number;
  readonly rowsPending: number;
  readonly quarantinedByReason: Readonly<Partial<Record<ReasonCode, number>>>;
  /** Row numbers still pending: a row leaves this list exactly once when it settles. */
  readonly pendingRows: readonly number[];
  /**
   * Quarantined rows that `requeue` later took in (each counted once). Their quarantine records
   * stay, listed nowhere; a read of the file again (after a retraction) keeps those it would
   * quarantine again.
   */
  readonly requeuedRows?: readonly number[];
  readonly recordsPut: number;
  /** Valid rows kept but flagged as outliers. */
  readonly outlierWarnings: number;
  readonly quarantineKeys: readonly string[];
  readonly timingsMs: Readonly<Record<string, number>>;
  readonly updatedAt: string;
  /** For `retracted`: when, and the status the file had before. */
  readonly retractedAt?: string;
  readonly statusBeforeRetraction?: FileStatus;
}

/** Throws `ReportInvariantError` unless `rows_read = accepted + duplicate + excluded + quarantined + pending`. */
export function assertCountsAddUp(report: IngestReport): void {
  const settled =
    report.rowsAccepted +
    report.rowsDuplicate +
    report.rowsExcluded +
    report.rowsQuarantined +
    report.rowsPending;
  const byReason = Object.values(report.quarantinedByReason).reduce((sum, count) => sum + (count ?? 0), 0);
  const problems: string[] = [];
  if (settled !== report.rowsRead) problems.push(`rows_read ${report.rowsRead} ≠ settled rows ${settled}`);
  if (byReason !== report.rowsQuarantined) {
    problems.push(`quarantined ${report.rowsQuarantined} ≠ Σ by reason ${byReason}`);
  }
  if (report.pendingRows.length !== report.rowsPending) {
    problems.push(`pending ${report.rowsPending} ≠ pending rows listed ${report.pendingRows.length}`);
  }
  if (problems.length > 0) {
    throw new ReportInvariantError(
      `ingest report of ${report.path} does not add up: ${problems.join('; ')}`,
      report.fileId,
    );
  }
}

/** The outcome of one pending row settling later. */
export type Settlement =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: ReasonCode };

/**
 * The report after pending rows settled; rows no longer pending (settled by an earlier, crashed
 * attempt) are left alone, so applying the same settlement twice counts it once.
 */
export function settlePending(
  report: IngestReport,
  settlements: ReadonlyMap<number, Settlement>,
  updatedAtMs: number,
): IngestReport {
  const pending = new Set(report.pendingRows);
  let accepted = report.rowsAccepted;
  let quarantined = report.rowsQuarantined;
  const byReason: Partial<Record<ReasonCode, number>> = { ...report.quarantinedByReason };
  for (const [row, settlement] of settlements) {
    if (!pending.delete(row)) continue;
    if (settlement.accepted) {
      accepted++;
    } else {
      quarantined++;
      byReason[settlement.reason] = (byReason[settlement.reason] ?? 0) + 1;
    }
  }
  return {
    ...report,
    rowsAccepted: accepted,
    rowsQuarantined: quarantined,
    quarantinedByReason: byReason,
    rowsPending: pending.size,
    pendingRows: [...pending].sort((a, b) => a - b),
    updatedAt: new Date(updatedAtMs).toISOString(),
  };
}

/** What a requeued row became. */
export type RequeueOutcome = 'accepted' | 'duplicate' | 'pending' | 'excluded';

/**
 * The report after a quarantined row (quarantined for `from`) passed validation again. A row
 * already requeued is left alone, so a re-run after a crash counts it once.
 */
export function applyRequeue(
  report: IngestReport,
  from: ReasonCode,
  outcome: RequeueOutcome,
  row: number,
  updatedAtMs: number,
): IngestReport {
  const requeued = report.requeuedRows ?? [];
  if (requeued.includes(row)) return report;
  const byReason: Partial<Record<ReasonCode, number>> = { ...report.quarantinedByReason };
  const remaining = (byReason[from] ?? 0) - 1;
  if (remaining > 0) byReason[from] = remaining;
  else delete byReason[from];
  return {
    ...report,
    rowsQuarantined: report.rowsQuarantined - 1,
    quarantinedByReason: byReason,
    rowsAccepted: report.rowsAccepted + (outcome === 'accepted' ? 1 : 0),
    rowsDuplicate: report.rowsDuplicate + (outcome === 'duplicate' ? 1 : 0),
    rowsExcluded: report.rowsExcluded + (outcome === 'excluded' ? 1 : 0),
    rowsPending: report.rowsPending + (outcome === 'pending' ? 1 : 0),
    pendingRows:
      outcome === 'pending' ? [...report.pendingRows, row].sort((a, b) => a - b) : report.pendingRows,
    requeuedRows: [...requeued, row].sort((a, b) => a - b),
    updatedAt: new Date(updatedAtMs).toISOString(),
  };
}

/**
 * `applyRequeue` with the records put for the row counted, checked to add up (a
 * `ReportInvariantError` otherwise); the same report when the row was requeued before.
 */
export function checkedRequeue(
  report: IngestReport,
  from: ReasonCode,
  outcome: RequeueOutcome,
  row: number,
  recordsPut: number,
  updatedAtMs: number,
): IngestReport {
  const updated = applyRequeue(report, from, outcome, row, updatedAtMs);
  if (updated === report) return report;
  const counted: IngestReport = { ...updated, recordsPut: updated.recordsPut + recordsPut };
  assertCountsAddUp(counted);
  return counted;
}

/** Where a quarantine record stands, by its file's report. */
export const RecordStanding = {
  /** Still quarantined: listed by `tillstream quarantine`, taken by `requeue` once it passes. */
  Quarantined: 'quarantined',
  /** Taken in by `requeue` (the row is in `requeuedRows`). */
  Requeued: 'requeued',
  /** Its file was withdrawn by `retract`: its rows count nowhere. */
  Withdrawn: 'withdrawn',
  /**
   * The report counts no row quarantined for the record's reason: a later read of the file no
   * longer quarantines it (a record left by a version before the fix that blanks such records).
   */
  Superseded: 'superseded',
} as const;
export type RecordStanding = (typeof RecordStanding)[keyof typeof RecordStanding];

/**
 * Where the quarantine record of `row` (quarantined for `reason`) stands by its file's report;
 * without a report (none was written), it is quarantined.
 *
 * @example
 * recordStanding(report, 'bad_number', 2); // 'quarantined' while the report counts it
 */
export function recordStanding(
  report: IngestReport | undefined,
  reason: ReasonCode,
  row: number,
): RecordStanding {
  if (report === undefined) return RecordStanding.Quarantined;
  if (report.status === FileStatus.Retracted) return RecordStanding.Withdrawn;
  if (report.requeuedRows?.includes(row) === true) return RecordStanding.Requeued;
  // A whole file's record (row 0: missing column, bad encoding) is not counted by reason.
  if (row > 0 && (report.quarantinedByReason[reason] ?? 0) <= 0) return RecordStanding.Superseded;
  return RecordStanding.Quarantined;
}

/** A per-file table for the terminal. */
export function formatReportTable(reports: readonly IngestReport[]): string {
  const header = [
    'file',
    'status',
    'read',
    'accepted',
    'dup',
    'excluded',
    'quarantined',
    'pending',
    'records',
  ];
  const rows = reports.map((report) => [
    report.path,
    report.status,
    String(report.rowsRead),
    String(report.rowsAccepted),
    String(report.rowsDuplicate),
    String(report.rowsExcluded),
    String(report.rowsQuarantined) +
      (report.rowsQuarantined > 0
        ? ` (${Object.entries(report.quarantinedByReason)
            .map(([reason, count]) => `${reason} ${count}`)
            .join(', ')})`
        : ''),
    String(report.rowsPending),
    String(report.recordsPut),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column >= 2 && column !== 6 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ');
  // A file set aside whole says why under the table (its row counts are all 0).
  return [line(header), ...rows.map(line), ...fileOutcomes(reports).setAside].join('\n');
}

/**
 * How a poll's files ended: ingested (rows read), copies of content already ingested, and one line
 * per file set aside whole saying why (`path: status: message`).
 */
export function fileOutcomes(reports: readonly IngestReport[]): {
  readonly ingested: number;
  readonly copies: number;
  readonly setAside: readonly string[];
} {
  return {
    ingested: reports.filter((report) => report.status === FileStatus.Ingested).length,
    copies: reports.filter((report) => report.status === FileStatus.DuplicateContent).length,
    setAside: reports
      .filter((report) => report.fileMessage !== null && report.status !== FileStatus.DuplicateContent)
      .map((report) => `${report.path}: ${report.status}: ${report.fileMessage}`),
  };
}
