/**
 * `tillstream quarantine`: the rows (and whole files) still quarantined, each with its file, row,
 * column and reason, read from the quarantine objects; rows a `requeue` took in, files a
 * `retract` withdrew and records their report no longer counts are left out, as `status` counts
 * them (and as `requeue` skips them).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ResourceNames } from '../shared/resources.js';
import { getQuarantine, getReport } from './raw-layer.js';
import { type IngestReport, RecordStanding, recordStanding } from './report.js';
import { listQuarantineKeys } from './requeue.js';

export interface QuarantinedRow {
  readonly path: string;
  /** 1-based row after the header; 0 for a whole file. */
  readonly row: number;
  readonly column: string | null;
  readonly reason: string;
  readonly message: string;
  readonly quarantinedAt: string;
}

export interface QuarantineFilter {
  /** Only this reason code. */
  readonly reason?: string;
  /** Only files whose path contains this text. */
  readonly file?: string;
}

/**
 * The quarantined rows matching `filter`, by path then row.
 *
 * @example
 * const rows = await listQuarantinedRows(clients.s3, names, { reason: 'bad_number' });
 */
export async function listQuarantinedRows(
  s3: S3Client,
  names: Pick<ResourceNames, 'quarantineBucket' | 'rawBucket'>,
  filter: QuarantineFilter = {},
): Promise<QuarantinedRow[]> {
  const reports = new Map<string, Promise<IngestReport | undefined>>();
  const reportOf = (key: string) => {
    let report = reports.get(key);
    if (report === undefined) {
      report = getReport(s3, names.rawBucket, key);
      reports.set(key, report);
    }
    return report;
  };
  const rows: QuarantinedRow[] = [];
  for (const key of await listQuarantineKeys(s3, names.quarantineBucket)) {
    for (const record of await getQuarantine(s3, names.quarantineBucket, key)) {
      if (filter.reason !== undefined && record.reason !== filter.reason) continue;
      if (filter.file !== undefined && !record.path.includes(filter.file)) continue;
      const report = record.reportKey === null ? undefined : await reportOf(record.reportKey);
      if (recordStanding(report, record.reason, record.row) !== RecordStanding.Quarantined) continue;
      rows.push({
        path: record.path,
        row: record.row,
        column: record.column,
        reason: record.reason,
        message: record.message,
        quarantinedAt: record.quarantinedAt,
      });
    }
  }
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.row - b.row));
}

/** The rows as a table (at most `limit`), then how many there are in all. */
export function formatQuarantine(rows: readonly QuarantinedRow[], limit: number): string {
  if (rows.length === 0) return 'no quarantined rows';
  const header = ['file', 'row', 'column', 'reason', 'message'];
  const cells = rows
    .slice(0, limit)
    .map((row) => [
      row.path,
      row.row === 0 ? 'file' : String(row.row),
      row.column ?? '-',
      row.reason,
      row.message,
    ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]!.length)),
  );
  const format = (line: readonly string[]) =>
    line
      .map((cell, column) => (column === 4 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const shown = Math.min(limit, rows.length);
  return [
    format(header),
    ...cells.map(format),
    `${rows.length} quarantined row(s)${shown < rows.length ? `, ${shown} shown (--limit)` : ''}`,
  ].join('\n');
}
