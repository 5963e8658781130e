/**
 * The `tillstream status` report: the facts of pipeline health, the attention items derived from
 * them, and the one-screen text. Pure: `collect.ts` reads the facts.
 */

import { addDays } from '../../aggregates/time.js';
import type { ClosureRecord } from '../../ingest/state.js';
import type { MissingUpload } from '../../ingest/status/missing-uploads.js';

/** The poller: its last cycle, and files landed but not finished. */
export interface PollFacts {
  readonly lastPollAt: string | null;
  readonly lastPollFiles: number | null;
  /** Files the source could not be read in the last cycle. */
  readonly lastPollErrors: readonly { readonly path: string; readonly message: string }[];
  readonly filesWaiting: readonly { readonly path: string; readonly arrivedAt: string }[];
}

/** Rows not (yet) counted: options waiting for their line, and quarantined rows in the window. */
export interface RowFacts {
  readonly pendingOptions: number;
  readonly oldestPendingSince: string | null;
  /** Quarantine is counted over files that arrived from this local date (chain zone) on. */
  readonly quarantineSince: string;
  readonly quarantinedRows: number;
  readonly quarantinedByReason: Readonly<Record<string, number>>;
  readonly quarantineFiles: readonly { readonly path: string; readonly rows: number }[];
  /** Files set aside whole in the window (too large, unknown kind, rejected), with the reason. */
  readonly filesSetAside: readonly {
    readonly path: string;
    readonly status: string;
    readonly message: string;
  }[];
}

export interface ShardFacts {
  readonly shardId: string;
  readonly lagMs: number | null;
  readonly checkpoint: string | null;
  readonly checkpointAt: string | null;
  readonly updatedAt: string | null;
  /** Closed by a reshard and read to its end. */
  readonly done: boolean;
  /** Why its consumer last failed, while it has not flushed since (`null`: running). */
  readonly error: string | null;
}

export interface SnapshotFacts {
  /** The date the nightly job should have built by now: yesterday in the chain's zone. */
  readonly expectedDate: string;
  readonly latestDate: string | null;
  readonly runId: string | null;
  readonly codeVersion: string | null;
  readonly files: number;
  readonly rowCounts: Readonly<Record<string, number>>;
}

export const TableCount = {
  /** DynamoDB's DescribeTable `ItemCount` (AWS refreshes it about every 6 hours). */
  Describe: 'describe',
  /** A `Select: COUNT` Scan (local: the emulator's ItemCount is always 0). */
  Scan: 'scan',
} as const;
export type TableCount = (typeof TableCount)[keyof typeof TableCount];

export interface TableFacts {
  readonly table: string;
  readonly items: number;
  readonly countedBy: TableCount;
  /** The scan stopped at its cap: there are at least `items`. */
  readonly capped: boolean;
}

export interface UploadFacts {
  readonly dueLocalTime: string;
  readonly dueDaysAfter: number;
  readonly lookbackDays: number;
  readonly locationsChecked: number;
  readonly missing: readonly (Omit<MissingUpload, 'dueAtMs'> & { readonly dueAt: string })[];
  readonly closures: readonly ClosureRecord[];
}

/** Everything `status` reports. */
export interface StatusFacts {
  readonly generatedAt: string;
  readonly target: string;
  readonly poll: PollFacts;
  readonly rows: RowFacts;
  readonly shards: readonly ShardFacts[];
  readonly maxShardLagMs: number;
  readonly poisonRecords: number;
  readonly snapshot: SnapshotFacts;
  readonly uploads: UploadFacts;
  readonly tables: readonly TableFacts[];
}

/** The facts with their attention items: `healthy` when there are none. */
export interface StatusReport extends StatusFacts {
  readonly healthy: boolean;
  readonly attention: string[];
}

/** What needs an operator, one line each, in the order of the screen. */
export function attentionItems(facts: StatusFacts): string[] {
  const items: string[] = [];
  if (facts.poll.lastPollAt === null) items.push('no poll has run yet');
  for (const error of facts.poll.lastPollErrors) {
    items.push(`last poll could not read ${error.path}: ${error.message}`);
  }
  if (facts.poll.filesWaiting.length > 0) {
    items.push(
      `${facts.poll.filesWaiting.length} file(s) landed but not finished (next poll resumes them): ${facts.poll.filesWaiting
        .map((file) => file.path)
        .join(', ')}`,
    );
  }
  for (const file of facts.rows.filesSetAside)
    items.push(`file ${file.path} set aside whole (${file.status}): ${file.message}`);
  if (facts.rows.quarantinedRows > 0) {
    items.push(
      `${facts.rows.quarantinedRows} row(s) quarantined in files since ${facts.rows.quarantineSince} (${reasons(facts.rows.quarantinedByReason)})`,
    );
  }
  // Read from the stream, a shard no consumer has reached is listed with nothing recorded (as in
  // `tillstream lag`); one that reached an empty shard has written its status.
  if (!facts.shards.some((shard) => shard.checkpoint !== null || shard.updatedAt !== null || shard.done))
    items.push('no shard has been processed yet');
  for (const shard of facts.shards) {
    if (shard.done) continue;
    if (shard.error !== null) items.push(`shard ${shard.shardId} is failing: ${shard.error}`);
    if (shard.lagMs === null) items.push(`shard ${shard.shardId}: lag unknown`);
    else if (shard.lagMs > facts.maxShardLagMs) {
      items.push(`shard ${shard.shardId} is ${shard.lagMs} ms behind (max ${facts.maxShardLagMs})`);
    }
  }
  if (facts.poisonRecords > 0)
    items.push(`${facts.poisonRecords} poison record(s) set aside by the processors`);
  if (facts.snapshot.latestDate === null || facts.snapshot.latestDate < facts.snapshot.expectedDate) {
    items.push(
      `no snapshot for ${facts.snapshot.expectedDate} (latest: ${facts.snapshot.latestDate ?? 'none'})`,
    );
  }
  // One line per location (a location that stopped uploading would otherwise fill the screen).
  const gapsByLocation = new Map<string, (typeof facts.uploads.missing)[number][]>();
  for (const gap of facts.uploads.missing) {
    gapsByLocation.set(gap.locationId, [...(gapsByLocation.get(gap.locationId) ?? []), gap]);
  }
  for (const [locationId, gaps] of gapsByLocation) {
    if (gaps.length === 1) {
      items.push(`missing upload: location ${locationId}, ${gaps[0]!.localDate} (due ${gaps[0]!.dueAt})`);
    } else {
      const dates = dateRanges(gaps.map((gap) => gap.localDate));
      items.push(`missing uploads: location ${locationId}, ${gaps.length} days: ${dates}`);
    }
  }
  return items;
}

/** Sorted local dates as runs of consecutive days: `2024-06-10…2024-06-12, 2024-06-15`. */
export function dateRanges(localDates: readonly string[]): string {
  const runs: { from: string; to: string }[] = [];
  for (const date of [...localDates].sort()) {
    const last = runs[runs.length - 1];
    if (last !== undefined && addDays(last.to, 1) === date) last.to = date;
    else if (last?.to !== date) runs.push({ from: date, to: date });
  }
  return runs.map((run) => (run.from === run.to ? run.from : `${run.from}…${run.to}`)).join(', ');
}

/** The facts and their attention items. */
export function statusReport(facts: StatusFacts): StatusReport {
  const attention = attentionItems(facts);
  return { ...facts, healthy: attention.length === 0, attention };
}

function reasons(byReason: Readonly<Record<string, number>>): string {
  return Object.entries(byReason)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function ago(iso: string | null, nowMs: number): string {
  if (iso === null) return 'never';
  const seconds = Math.round((nowMs - Date.parse(iso)) / 1000);
  if (Math.abs(seconds) < 120) return `${iso} (${seconds} s ago)`;
  if (Math.abs(seconds) < 7200) return `${iso} (${Math.round(seconds / 60)} min ago)`;
  if (Math.abs(seconds) < 172_800) return `${iso} (${Math.round(seconds / 3600)} h ago)`;
  return `${iso} (${Math.round(seconds / 86_400)} days ago)`;
}

/** The one-screen text of a report. */
export function formatStatus(report: StatusReport): string {
  const nowMs = Date.parse(report.generatedAt);
  const lines: string[] = [];
  lines.push(
    `tillstream status (${report.target}) at ${report.generatedAt}: ${report.healthy ? 'OK' : `ATTENTION (${report.attention.length})`}`,
  );
  lines.push('', 'Ingest');
  lines.push(
    `  last poll        ${ago(report.poll.lastPollAt, nowMs)}${report.poll.lastPollFiles === null ? '' : `, ${report.poll.lastPollFiles} file(s)`}`,
  );
  lines.push(`  files waiting    ${report.poll.filesWaiting.length}`);
  lines.push(
    `  options pending  ${report.rows.pendingOptions}${report.rows.oldestPendingSince === null ? '' : ` (oldest since ${report.rows.oldestPendingSince})`}`,
  );
  lines.push(
    `  quarantined      ${report.rows.quarantinedRows} row(s) in files since ${report.rows.quarantineSince}${report.rows.quarantinedRows > 0 ? `: ${reasons(report.rows.quarantinedByReason)}` : ''}`,
  );
  for (const file of report.rows.quarantineFiles.slice(0, 5)) lines.push(`    ${file.path}: ${file.rows}`);
  if (report.rows.quarantineFiles.length > 5)
    lines.push(`    … ${report.rows.quarantineFiles.length - 5} more file(s)`);
  if (report.rows.filesSetAside.length > 0)
    lines.push(`  set aside whole  ${report.rows.filesSetAside.length} file(s)`);
  for (const file of report.rows.filesSetAside)
    lines.push(`    ${file.path} (${file.status}): ${file.message}`);

  lines.push('', `Shards (max lag ${report.maxShardLagMs} ms)`);
  if (report.shards.length === 0) lines.push('  none processed yet');
  else {
    lines.push(
      ...table(
        ['shard', 'lag ms', 'checkpoint', 'checkpoint at', 'state'],
        report.shards.map((shard) => [
          shard.shardId,
          shard.lagMs === null ? '?' : String(shard.lagMs),
          shard.checkpoint === null ? '-' : `…${shard.checkpoint.slice(-12)}`,
          shard.checkpointAt ?? '-',
          shard.done
            ? 'done'
            : shard.error !== null
              ? 'FAILING'
              : shard.lagMs === null || shard.lagMs > report.maxShardLagMs
                ? 'BEHIND'
                : 'ok',
        ]),
      ),
    );
  }
  lines.push(`  poison records   ${report.poisonRecords}`);

  lines.push('', 'Snapshot');
  const snapshot = report.snapshot;
  lines.push(`  expected         ${snapshot.expectedDate}`);
  if (snapshot.latestDate === null) lines.push('  latest           none');
  else {
    lines.push(
      `  latest           ${snapshot.latestDate}, run ${snapshot.runId}, code ${snapshot.codeVersion}, ${snapshot.files} file(s)`,
    );
    lines.push(
      `  rows             ${Object.entries(snapshot.rowCounts)
        .map(([mart, rows]) => `${mart} ${rows}`)
        .join(', ')}`,
    );
  }

  const uploads = report.uploads;
  lines.push(
    '',
    `Uploads (due ${uploads.dueLocalTime} local, ${uploads.dueDaysAfter} day(s) after; last ${uploads.lookbackDays} days; ${uploads.locationsChecked} location(s))`,
  );
  if (uploads.missing.length === 0) lines.push('  none missing');
  else {
    lines.push(
      ...table(
        ['location', 'local date', 'due at'],
        uploads.missing.map((gap) => [gap.locationId, gap.localDate, gap.dueAt]),
      ),
    );
  }
  if (uploads.closures.length > 0) {
    lines.push(
      `  closures: ${uploads.closures
        .map(
          (closure) =>
            `${closure.locationId} ${closure.from}${closure.to === closure.from ? '' : `…${closure.to}`}`,
        )
        .join(', ')}`,
    );
  }

  lines.push('', 'Tables');
  lines.push(
    ...table(
      ['table', 'items', 'counted by'],
      report.tables.map((entry) => [
        entry.table,
        `${entry.capped ? '≥ ' : ''}${entry.items}`,
        entry.countedBy,
      ]),
    ),
  );
  if (!report.healthy) {
    lines.push('', 'Needs attention');
    for (const item of report.attention) lines.push(`  - ${item}`);
  }
  return `${lines.join('\n')}\n`;
}
