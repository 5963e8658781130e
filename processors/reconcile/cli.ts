/** `tillstream reconcile [--as-of DATE] [--json] [--limit N]` (issue #7). */
import { isCalendarDate } from '../../aggregates/time.js';
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { ReconcileError } from './errors.js';
import { type Difference, type ReconcileReport, reconcile } from './reconcile.js';

export interface ReconcileCommandOptions {
  readonly asOf?: string;
  readonly json?: boolean;
  /** Differences printed in the table. @default 40 */
  readonly limit?: string;
}

const DEFAULT_LIMIT = 40;
/** A table cell longer than this is cut, so one long row summary does not hide the others. */
const CELL_CHARS = 60;

function limitOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(limit)) {
    throw new CliError(`--limit must be a whole number (given ${JSON.stringify(value)})`, ExitCode.BadUsage);
  }
  return limit;
}

function asOfOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isCalendarDate(value)) {
    throw new CliError(
      `--as-of must be a date YYYY-MM-DD (given ${JSON.stringify(value)})`,
      ExitCode.BadUsage,
    );
  }
  return value;
}

function cell(value: string | null): string {
  const text = value ?? '(none)';
  return text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS - 1)}…` : text;
}

/** The differences as an aligned text table (item, field, expected, actual), at most `limit` rows. */
export function formatDifferenceTable(differences: readonly Difference[], limit: number): string {
  const header = ['item', 'field', 'expected', 'actual'];
  const rows = differences
    .slice(0, limit)
    .map((difference) => [
      cell(difference.item),
      cell(difference.field),
      cell(difference.expected),
      cell(difference.actual),
    ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((text, column) => text.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  const lines = [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
  if (differences.length > limit) lines.push(`… and ${differences.length - limit} more (--limit N)`);
  return lines.join('\n');
}

/** The summary lines: what was checked and how many differences were found. */
export function formatReconcileSummary(report: ReconcileReport): string {
  const count = (value: number): string => value.toLocaleString('en-US');
  const byScope = (scope: Difference['scope']): number =>
    report.differences.filter((difference) => difference.scope === scope).length;
  const lines = [
    `reconcile as of ${report.asOf} (snapshot run ${report.snapshotRunId ?? 'none'})`,
    `raw files read: ${count(report.rawFiles)}; orders recomputed: ${count(report.recomputation.orders)}`,
    `aggregates items checked: ${count(report.checkedItems)}; differences: ${count(byScope('aggregate'))}`,
    `mart rows checked: ${count(report.checkedMartRows)}; differences: ${count(byScope('mart'))}`,
  ];
  if (report.unfinishedFiles > 0) {
    lines.push(
      `note: ${report.unfinishedFiles} landed file(s) are not finished by the poller yet; run 'tillstream poll' and 'tillstream process --until-caught-up' first`,
    );
  }
  if (report.retractedFiles > 0) lines.push(`retracted file versions left out: ${report.retractedFiles}`);
  if (report.retractionsInProgress > 0) {
    lines.push(
      `note: ${report.retractionsInProgress} retraction(s) are not finished; run 'tillstream retract' again first`,
    );
  }
  return lines.join('\n');
}

/**
 * Runs reconcile on the target of the global options; prints the summary and the differences.
 *
 * @throws CliError exit 1 when there is any difference, 2 on bad usage.
 */
export async function runReconcileCommand(
  options: ReconcileCommandOptions,
  globals: GlobalOptions,
): Promise<void> {
  const limit = limitOption(options.limit);
  const asOf = asOfOption(options.asOf);
  const { openContext } = await import('../../shared/cli/context.js');
  const log = (message: string): void => {
    process.stderr.write(`${message}\n`);
  };
  const context = await openContext(globals);
  let report: ReconcileReport;
  try {
    report = await reconcile({
      clients: context.clients,
      names: context.names,
      settings: context.settings,
      ...(asOf !== undefined ? { asOf } : {}),
      log,
    });
  } catch (error) {
    if (error instanceof ReconcileError)
      throw new CliError(error.message, ExitCode.Failure, { cause: error });
    throw error;
  } finally {
    await context.close();
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatReconcileSummary(report)}\n`);
    if (report.differences.length > 0)
      process.stdout.write(`\n${formatDifferenceTable(report.differences, limit)}\n`);
  }
  if (report.differences.length > 0) {
    throw new CliError(
      `reconcile found ${report.differences.length} difference(s) as of ${report.asOf}`,
      ExitCode.Failure,
    );
  }
}
