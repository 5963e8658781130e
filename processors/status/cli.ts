/** `tillstream status` and `tillstream closure add|remove|list`. */
import { dayNumber, isCalendarDate } from '../../aggregates/time.js';
import { type ClosureRecord, PollerState } from '../../ingest/state.js';
import { EVERY_LOCATION } from '../../ingest/status/missing-uploads.js';
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { collectStatus } from './collect.js';
import { formatStatus } from './report.js';

export interface StatusCommandOptions {
  readonly json?: boolean;
}

export interface ClosureAddOptions {
  readonly to?: string;
  readonly note?: string;
}

/**
 * Prints the status screen (or its JSON) and fails with exit code 1 when something needs attention.
 *
 * @example
 * // tillstream status --json | jq .attention
 */
export async function runStatusCommand(options: StatusCommandOptions, globals: GlobalOptions): Promise<void> {
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const report = await collectStatus({
      clients: context.clients,
      names: context.names,
      settings: context.settings,
      nowMs: Date.now(),
    });
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    if (!report.healthy) {
      throw new CliError(`${report.attention.length} item(s) need attention`, ExitCode.Failure);
    }
  } finally {
    await context.close();
  }
}

function checkDate(flag: string, value: string): string {
  if (!isCalendarDate(value)) {
    throw new CliError(
      `${flag} must be a date YYYY-MM-DD (given ${JSON.stringify(value)})`,
      ExitCode.BadUsage,
    );
  }
  return value;
}

/** The closure `closure add` records: one location (or `ALL`) from `from` to `--to` (default: `from`). */
export function closureFrom(
  locationId: string,
  from: string,
  options: ClosureAddOptions,
  nowMs: number,
): ClosureRecord {
  if (locationId.trim() === '') throw new CliError('a location id is required', ExitCode.BadUsage);
  checkDate('the date', from);
  const to = options.to === undefined ? from : checkDate('--to', options.to);
  if (to < from) throw new CliError(`--to ${to} is before ${from}`, ExitCode.BadUsage);
  return {
    locationId,
    from,
    to,
    ...(options.note === undefined ? {} : { note: options.note }),
    createdAt: new Date(nowMs).toISOString(),
  };
}

/** Marks a location (or `ALL`) closed for a date or a range: its uploads are not expected then. */
export async function runClosureAddCommand(
  locationId: string,
  from: string,
  options: ClosureAddOptions,
  globals: GlobalOptions,
): Promise<void> {
  const closure = closureFrom(locationId, from, options, Date.now());
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    await new PollerState(context.clients.doc, context.names.stateTable).putClosure(closure);
    const days = dayNumber(closure.to) - dayNumber(closure.from) + 1;
    process.stdout.write(
      `${closure.locationId === EVERY_LOCATION ? 'every location' : closure.locationId} closed ${closure.from}` +
        `${days > 1 ? ` to ${closure.to} (${days} days)` : ''}\n`,
    );
  } finally {
    await context.close();
  }
}

/** Removes the closure of a location that starts on `from`. */
export async function runClosureRemoveCommand(
  locationId: string,
  from: string,
  globals: GlobalOptions,
): Promise<void> {
  checkDate('the date', from);
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const removed = await new PollerState(context.clients.doc, context.names.stateTable).deleteClosure(
      locationId,
      from,
    );
    if (!removed) throw new CliError(`no closure of ${locationId} starts on ${from}`, ExitCode.Failure);
    process.stdout.write(`closure of ${locationId} from ${from} removed\n`);
  } finally {
    await context.close();
  }
}

/** Lists the closures, oldest first; with `--json` as JSON. */
export async function runClosureListCommand(
  options: { json?: boolean },
  globals: GlobalOptions,
): Promise<void> {
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const closures = (await new PollerState(context.clients.doc, context.names.stateTable).closures()).sort(
      (a, b) => (a.from === b.from ? (a.locationId < b.locationId ? -1 : 1) : a.from < b.from ? -1 : 1),
    );
    if (options.json) {
      process.stdout.write(`${JSON.stringify(closures, null, 2)}\n`);
      return;
    }
    if (closures.length === 0) process.stdout.write('no closures\n');
    for (const closure of closures) {
      process.stdout.write(
        `${closure.locationId}  ${closure.from}${closure.to === closure.from ? '' : ` … ${closure.to}`}` +
          `${closure.note === undefined ? '' : `  ${closure.note}`}\n`,
      );
    }
  } finally {
    await context.close();
  }
}
