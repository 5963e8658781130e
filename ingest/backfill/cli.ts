/** `tillstream backfill --input DIR|drive://ID [--rate N] [--turn-seconds N]` (issue #8). */

import cliProgress from 'cli-progress';
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import { checkInputOption } from '../../shared/cli/input.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { Target } from '../../shared/config.js';
import { LeaseHeldError } from '../../shared/generation.js';
import { describePoll } from '../cli.js';
import { sourceFor } from '../sources.js';
import { PollerState } from '../state.js';
import { BackfillInterruptedError, type BackfillProgress, runBackfill } from './run.js';

export interface BackfillCommandOptions {
  readonly input: string;
  /** Orders per second (also `TILLSTREAM_BACKFILL_RATE`). */
  readonly rate?: string;
  /** Seconds between two hand-overs of the poller lease (also `TILLSTREAM_BACKFILL_TURN_SECONDS`). */
  readonly turnSeconds?: string;
}

/**
 * Loads history at a bounded rate with a progress bar and ETA on stderr; Ctrl-C stops it cleanly
 * and the same command resumes. On the local stack it then processes the stream until caught up
 * (on AWS the shard processor Lambdas do).
 */
export async function runBackfillCommand(
  options: BackfillCommandOptions,
  globals: GlobalOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  await checkInputOption('--input', options.input);
  let rate: number | undefined;
  if (options.rate !== undefined) {
    rate = Number(options.rate);
    if (!Number.isFinite(rate) || rate <= 0) {
      throw new CliError(
        `--rate must be a positive number of orders per second (given ${JSON.stringify(options.rate)})`,
        ExitCode.BadUsage,
      );
    }
  }
  let turnSeconds: number | undefined;
  if (options.turnSeconds !== undefined) {
    turnSeconds = Number(options.turnSeconds);
    if (!Number.isFinite(turnSeconds) || turnSeconds <= 0) {
      throw new CliError(
        `--turn-seconds must be a positive number of seconds (given ${JSON.stringify(options.turnSeconds)})`,
        ExitCode.BadUsage,
      );
    }
  }
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format:
            'backfill [{bar}] {percentage}% | {value}/{total} rows | {files} | {orders} orders put | ETA {eta_formatted}',
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let started = false;
  const onProgress = (progress: BackfillProgress) => {
    if (bar === null) return;
    const payload = {
      files: `${progress.filesDone}/${progress.filesTotal} files`,
      orders: progress.recordsPut,
    };
    if (!started) {
      bar.start(Math.max(progress.rowsTotal, 1), progress.rowsDone, payload);
      started = true;
      return;
    }
    bar.setTotal(Math.max(progress.rowsTotal, 1));
    bar.update(progress.rowsDone, payload);
  };
  const settings = context.settings;
  try {
    const state = new PollerState(context.clients.doc, context.names.stateTable);
    const ratePerSecond = rate ?? settings.backfillRatePerSecond;
    process.stderr.write(
      `backfill from ${options.input} at most ${ratePerSecond} orders/s, giving the poller lease up every ${turnSeconds ?? settings.backfillTurnSeconds} s\n`,
    );
    const result = await runBackfill({
      clients: context.clients,
      names: context.names,
      controlNames: context.baseNames,
      settings,
      source: sourceFor(options.input, state, env),
      ratePerSecond,
      ...(turnSeconds === undefined ? {} : { turnSeconds }),
      signal: controller.signal,
      onProgress,
      log: (message) => (bar === null ? process.stderr.write(`${message}\n`) : undefined),
    });
    bar?.stop();
    process.stdout.write(`${describePoll(result)}\n`);
    if (settings.target === Target.Local) {
      const { runShardProcessors } = await import('../../processors/shard/runner.js');
      const processed = await runShardProcessors(
        context.clients.kinesis,
        context.clients.doc,
        context.names,
        {
          untilCaughtUp: true,
          signal: controller.signal,
        },
      );
      process.stdout.write(`${processed.records} record(s) processed into the aggregates\n`);
    }
    if (result.errors.length > 0) {
      throw new CliError(
        `${result.errors.length} file(s) could not be read; run backfill again to retry them`,
      );
    }
  } catch (error) {
    bar?.stop();
    if (error instanceof BackfillInterruptedError || error instanceof LeaseHeldError) {
      throw new CliError(error.message, ExitCode.Failure, { cause: error });
    }
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await context.close();
  }
}
