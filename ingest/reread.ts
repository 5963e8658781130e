/**
 * A finished file version read again (`retract` puts later files that held a released identity
 * back on the poller's list): the new read decides every row afresh, so its report and quarantine
 * replace the earlier ones. A row the earlier read quarantined and this one accepts (a
 * `conflicting_duplicate` of a withdrawn row) leaves quarantine: its record goes, so `tillstream
 * quarantine`, `status`, the report and `requeue` agree. What `requeue` did since is kept: a row it
 * took in that this read would quarantine again (its raw text was fixed in the quarantine record)
 * stays taken in, with the record it was taken from and the outcome it had. Pure: the poll reads
 * the earlier state and writes the plan (ingest/poll.ts).
 */
import type { QuarantineRecord } from './raw-layer.js';
import { applyRequeue, type IngestReport, type RequeueOutcome } from './report.js';

/** What the earlier reads of the version left, as the poll finds it before writing anything. */
export interface EarlierRead {
  /** The version's report, `undefined` when none was written. */
  readonly report: IngestReport | undefined;
  /** The records of the version's `rows.jsonl` (requeue may have fixed their raw text). */
  readonly rowRecords: readonly QuarantineRecord[];
  /** `requeue`'s outcome of each row of `report.requeuedRows` it marked, by row. */
  readonly requeueOutcomes: ReadonlyMap<number, RequeueOutcome>;
}

/** What the poll writes for the version read again. */
export interface RereadPlan {
  /** The new read's report, with the rows requeue took in and this read quarantines moved out. */
  readonly report: IngestReport;
  /** The version's `rows.jsonl` now (empty: no row stays quarantined there). */
  readonly rowRecords: readonly QuarantineRecord[];
  /** Rows requeue took in that this read does not quarantine: their requeue marks go. */
  readonly forgetRequeued: readonly number[];
}

/**
 * The report and quarantine of a version read again, from the new read's (`fresh`, its row
 * quarantine records `freshRecords`) and what the earlier reads left. Idempotent: planning again
 * from what a plan wrote gives the same plan.
 *
 * @example
 * const plan = planReread(report, records, { report: before, rowRecords, requeueOutcomes }, Date.now());
 */
export function planReread(
  fresh: IngestReport,
  freshRecords: readonly QuarantineRecord[],
  earlier: EarlierRead,
  updatedAtMs: number,
): RereadPlan {
  const requeued = earlier.report?.requeuedRows ?? [];
  const freshByRow = new Map(
    freshRecords.filter((record) => record.row > 0).map((record) => [record.row, record]),
  );
  const earlierByRow = new Map(earlier.rowRecords.map((record) => [record.row, record]));
  const carried = requeued.filter((row) => freshByRow.has(row));
  const stillPending = new Set(earlier.report?.pendingRows ?? []);
  const { requeuedRows: _earlierRequeued, ...unrequeued } = fresh;
  let report: IngestReport = unrequeued;
  for (const row of carried) {
    const marked = earlier.requeueOutcomes.get(row) ?? 'accepted';
    // A requeued option that was pending and is no longer settled as accepted (orphaned ones
    // leave `requeuedRows`).
    const outcome: RequeueOutcome = marked === 'pending' && !stillPending.has(row) ? 'accepted' : marked;
    report = applyRequeue(report, freshByRow.get(row)!.reason, outcome, row, updatedAtMs);
  }
  const carriedRows = new Set(carried);
  return {
    report,
    rowRecords: freshRecords.map((record) =>
      carriedRows.has(record.row) ? (earlierByRow.get(record.row) ?? record) : record,
    ),
    forgetRequeued: requeued.filter((row) => !carriedRows.has(row)),
  };
}
