/** The `poll` and `requeue` commands (CONTRACT.md §4). */

import { CliError, ExitCode } from '../shared/cli/errors.js';
import { checkInputOption } from '../shared/cli/input.js';
import type { GlobalOptions } from '../shared/cli/main.js';
import { withPollerLease } from '../shared/generation.js';
import { ReasonCode } from '../shared/schemas/reasons.js';
import { boundHeapGrowth } from './heap.js';
import { type PollResult, runPollCycle } from './poll.js';
import { formatQuarantine, listQuarantinedRows } from './quarantine.js';
import { formatReportTable } from './report.js';
import { runRequeue } from './requeue.js';
import { sleepMs } from './retry.js';
import { sourceFor } from './sources.js';
import { PollerState } from './state.js';

export interface PollCommandOptions {
  readonly input?: string;
  readonly watch?: boolean;
  /** Seconds between polls with `--watch`. */
  readonly interval?: string;
}

/** What the command prints after a cycle. */
export function describePoll(result: PollResult): string {
  const lines: string[] = [];
  if (result.reports.length > 0) lines.push(formatReportTable(result.reports));
  lines.push(
    `${result.reports.length} file(s), ${result.recordsPut} record(s) put` +
      (result.optionsSettled > 0 ? `, ${result.optionsSettled} pending option(s) applied` : '') +
      (result.optionsOrphaned > 0 ? `, ${result.optionsOrphaned} orphan option(s) quarantined` : ''),
  );
  for (const error of result.errors) lines.push(`not read this time: ${error.path}: ${error.message}`);
  return lines.join('\n');
}

/** `tillstream poll [--input DIR|drive://ID] [--watch]`. */
export async function runPollCommand(
  options: PollCommandOptions,
  globals: GlobalOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  const input = options.input ?? env['TILLSTREAM_INPUT'];
  if (input === undefined || input === '') {
    throw new CliError('poll needs --input DIR|drive://FOLDER_ID (or TILLSTREAM_INPUT)', ExitCode.BadUsage);
  }
  await checkInputOption('--input', input);
  const intervalSeconds = Number(options.interval ?? env['TILLSTREAM_POLL_INTERVAL_SECONDS'] ?? '60');
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) {
    throw new CliError(
      `--interval must be a positive number of seconds (given ${options.interval})`,
      ExitCode.BadUsage,
    );
  }
  const { openContext } = await import('../shared/cli/context.js');
  const context = await openContext(globals);
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const state = new PollerState(context.clients.doc, context.names.stateTable);
    const source = sourceFor(input, state, env);
    // The poller has the process to itself: its RSS follows its small live heap (ingest/heap.ts).
    boundHeapGrowth(context.settings.pollHeapGrowingPercent);
    do {
      const leased = await withPollerLease(
        context.clients.doc,
        context.baseNames,
        'tillstream poll',
        Date.now,
        () =>
          runPollCycle({
            clients: context.clients,
            names: context.names,
            settings: context.settings,
            source,
            clock: Date.now,
            log: (message) => process.stderr.write(`${message}\n`),
          }),
        // A backfill gives the lease up between turns: wait for it rather than skip the cycle.
        { waitMs: context.settings.pollLeaseWaitSeconds * 1000 },
      );
      if ('heldBy' in leased) {
        if (!options.watch) throw new CliError(`poll skipped: ${leased.heldBy.message}`);
        process.stderr.write(`poll skipped: ${leased.heldBy.message}\n`);
      } else {
        const result = leased.result;
        process.stdout.write(`${describePoll(result)}\n`);
        if (!options.watch) {
          if (result.errors.length > 0)
            throw new CliError(`${result.errors.length} file(s) could not be read`);
          break;
        }
      }
      for (let waited = 0; waited < intervalSeconds * 1000 && !stopping; waited += 250) await sleepMs(250);
    } while (!stopping);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await context.close();
  }
}

/** `tillstream requeue`. */
export async function runRequeueCommand(globals: GlobalOptions): Promise<void> {
  const { openContext } = await import('../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const result = await runRequeue({
      clients: context.clients,
      names: context.names,
      settings: context.settings,
      clock: Date.now,
    });
    const still = Object.entries(result.stillRejected)
      .map(([reason, count]) => `${reason} ${count}`)
      .join(', ');
    process.stdout.write(
      `${result.examined} quarantined row(s) re-validated: ${result.accepted} accepted, ${result.duplicate} duplicate, ` +
        `${result.excluded} excluded, ${result.pending} pending; ${result.recordsPut} record(s) put` +
        (still === '' ? '' : `; still rejected: ${still}`) +
        '\n',
    );
  } finally {
    await context.close();
  }
}

export interface QuarantineCommandOptions {
  readonly reason?: string;
  readonly file?: string;
  readonly limit?: string;
  readonly json?: boolean;
}

/** `tillstream quarantine [--reason R] [--file TEXT] [--limit N] [--json]`. */
export async function runQuarantineCommand(
  options: QuarantineCommandOptions,
  globals: GlobalOptions,
): Promise<void> {
  const limit = Number(options.limit ?? '50');
  if (!Number.isInteger(limit) || limit <= 0) {
    throw new CliError(
      `--limit must be a positive integer (given ${JSON.stringify(options.limit)})`,
      ExitCode.BadUsage,
    );
  }
  if (options.reason !== undefined && !(Object.values(ReasonCode) as string[]).includes(options.reason)) {
    throw new CliError(
      `--reason must be one of ${Object.values(ReasonCode).join(', ')} (given ${JSON.stringify(options.reason)})`,
      ExitCode.BadUsage,
    );
  }
  const { openContext } = await import('../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const rows = await listQuarantinedRows(context.clients.s3, context.names, {
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      ...(options.file === undefined ? {} : { file: options.file }),
    });
    process.stdout.write(
      options.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatQuarantine(rows, limit)}\n`,
    );
  } finally {
    await context.close();
  }
}
