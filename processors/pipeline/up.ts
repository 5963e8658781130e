/**
 * `tillstream up`: the whole product running continuously, as the deployed system runs on AWS —
 * the poller on an interval, the shard processors always on, the nightly compaction at a local
 * time of the chain's zone, the dashboard served. Ctrl-C (or SIGTERM) stops every part cleanly:
 * the poll cycle in progress finishes, the processors flush and checkpoint, then the stack stops.
 */

import { offsetMinutes, toLocalTime } from '../../aggregates/time.js';
import { runPollCycle } from '../../ingest/poll.js';
import { sourceFor } from '../../ingest/sources.js';
import { PollerState } from '../../ingest/state.js';
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import { checkInputOption } from '../../shared/cli/input.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { watchShutdownSignals } from '../../shared/local/signals.js';
import { sleep } from '../../shared/sleep.js';
import { runNightly } from '../compaction/job.js';
import { dashboardPort } from '../dashboard/cli.js';
import { checkDashboardBinding, startDashboard } from '../dashboard/server.js';
import { runShardProcessors } from '../shard/runner.js';
import { codeVersion } from './version.js';

export interface UpCommandOptions {
  readonly input?: string;
  /** Seconds between polls. */
  readonly pollInterval?: string;
  /** Local time `HH:MM` in the chain's zone for the nightly compaction. */
  readonly compactAt?: string;
  readonly port?: string;
  readonly host?: string;
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** The local date whose nightly run is due: past `HH:MM` in the zone and not yet run that date; else null. */
export function nightlyDue(
  nowMs: number,
  chainTimeZone: string,
  compactAt: string,
  lastRunDate: string | null,
): string | null {
  const match = HH_MM.exec(compactAt);
  if (match === null) throw new RangeError(`compact-at must be HH:MM (given ${JSON.stringify(compactAt)})`);
  const { localDate } = toLocalTime(nowMs, chainTimeZone);
  const wallMinutes = Math.floor(nowMs / 60_000) + offsetMinutes(nowMs, chainTimeZone);
  const minuteOfDay = ((wallMinutes % 1440) + 1440) % 1440;
  const due = minuteOfDay >= Number(match[1]) * 60 + Number(match[2]);
  return due && lastRunDate !== localDate ? localDate : null;
}

const log = (message: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
};

/** Runs until SIGINT/SIGTERM. */
export async function runUpCommand(
  options: UpCommandOptions,
  globals: GlobalOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  const input = options.input ?? env['TILLSTREAM_INPUT'];
  if (input === undefined || input === '') {
    throw new CliError('up needs --input DIR|drive://FOLDER_ID (or TILLSTREAM_INPUT)', ExitCode.BadUsage);
  }
  await checkInputOption('--input', input);
  const pollSeconds = Number(options.pollInterval ?? env['TILLSTREAM_POLL_INTERVAL_SECONDS'] ?? '60');
  if (!Number.isFinite(pollSeconds) || pollSeconds <= 0) {
    throw new CliError(
      `--poll-interval must be a positive number of seconds (given ${options.pollInterval})`,
      ExitCode.BadUsage,
    );
  }
  const compactAt = options.compactAt ?? env['TILLSTREAM_COMPACT_AT'] ?? '02:00';
  if (!HH_MM.test(compactAt)) {
    throw new CliError(`--compact-at must be HH:MM (given ${JSON.stringify(compactAt)})`, ExitCode.BadUsage);
  }
  const port = dashboardPort(options.port, env);
  const host = options.host ?? env['TILLSTREAM_DASHBOARD_HOST'] ?? '127.0.0.1';
  const token = env['TILLSTREAM_DASHBOARD_TOKEN'] || undefined;
  try {
    checkDashboardBinding(host, port, token);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), ExitCode.BadUsage);
  }

  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  const stop = new AbortController();
  const signals = watchShutdownSignals(() => stop.abort());
  const { clients, names, settings } = context;
  try {
    const dashboard = await startDashboard({ clients, names, settings, port, host, token });
    log(`dashboard on ${dashboard.url}`);
    log(
      `polling ${input} every ${pollSeconds} s; nightly compaction at ${compactAt} ${settings.chainTimeZone}; Ctrl-C stops`,
    );

    const processors = runShardProcessors(clients.kinesis, clients.doc, names, { signal: stop.signal, log });
    const state = new PollerState(clients.doc, names.stateTable);
    const source = sourceFor(input, state, env);
    const poller = (async () => {
      while (!stop.signal.aborted) {
        try {
          const result = await runPollCycle({ clients, names, settings, source, clock: Date.now, log });
          if (result.reports.length > 0 || result.errors.length > 0) {
            log(
              `poll: ${result.reports.length} file(s), ${result.recordsPut} order events put, ${result.errors.length} not read`,
            );
          }
        } catch (error) {
          log(
            `poll failed, retried next interval: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        await sleep(pollSeconds * 1000, stop.signal);
      }
    })();
    const nightly = (async () => {
      let lastRunDate: string | null = null;
      while (!stop.signal.aborted) {
        const due = nightlyDue(Date.now(), settings.chainTimeZone, compactAt, lastRunDate);
        if (due !== null) {
          try {
            const result = await runNightly(clients, names, {
              nowMs: Date.now(),
              chainTimeZone: settings.chainTimeZone,
              codeVersion: codeVersion(env),
              log,
            });
            log(`nightly: published ${result.published.map((manifest) => manifest.snapshotDate).join(', ')}`);
            lastRunDate = due;
          } catch (error) {
            log(
              `nightly compaction failed, retried in a minute: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
        }
        await sleep(60_000, stop.signal);
      }
    })();

    await Promise.all([poller, nightly, processors]);
    await dashboard.close();
    log('stopped cleanly');
  } finally {
    signals.dispose();
    await context.close();
  }
}
