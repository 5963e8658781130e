/** `tillstream rebuild [--since DATE] [--drop-old]` (issue #8). */

import cliProgress from 'cli-progress';
import { isCalendarDate } from '../../aggregates/time.js';
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { GenerationConflictError, LeaseHeldError } from '../../shared/generation.js';
import { codeVersion } from '../pipeline/version.js';
import { RebuildError } from './errors.js';
import { runRebuild } from './run.js';

export interface RebuildCommandOptions {
  readonly since?: string;
  readonly dropOld?: boolean;
}

/** Runs a rebuild with a progress bar on stderr (a TTY) or stage lines, and a summary on stdout. */
export async function runRebuildCommand(
  options: RebuildCommandOptions,
  globals: GlobalOptions,
): Promise<void> {
  if (options.since !== undefined && !isCalendarDate(options.since)) {
    throw new CliError(
      `--since must be a date YYYY-MM-DD (given ${JSON.stringify(options.since)})`,
      ExitCode.BadUsage,
    );
  }
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const log = (message: string) => process.stderr.write(`${message}\n`);
  let bar: cliProgress.SingleBar | null = null;
  try {
    const result = await runRebuild(context.clients, context.baseNames, context.settings, {
      codeVersion: codeVersion(),
      signal: controller.signal,
      ...(options.since === undefined ? {} : { since: options.since }),
      ...(options.dropOld ? { dropOld: true } : {}),
      log: (message) => (bar === null ? log(message) : undefined),
      onStage: (stage, generation) => {
        bar?.stop();
        bar = null;
        log(`rebuild of generation ${generation}: ${stage}`);
      },
      onReplayProgress: (done, total) => {
        if (!process.stderr.isTTY) return;
        if (bar === null) {
          bar = new cliProgress.SingleBar(
            { stream: process.stderr, format: 'replay [{bar}] {value}/{total} files | ETA {eta_formatted}' },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, done);
        } else bar.update(done);
      },
    });
    process.stdout.write(
      `generation ${result.generation} is live (was ${result.previousGeneration}): ` +
        `${result.filesReplayed} file version(s) replayed, ${result.recordsProcessed} record(s) processed` +
        (result.filesSkipped.retracted > 0 ? `, ${result.filesSkipped.retracted} retracted left out` : '') +
        `; snapshots recomputed: ${result.snapshotsRecomputed.length === 0 ? 'none' : result.snapshotsRecomputed.join(', ')}` +
        (result.droppedTables.length > 0 ? `; dropped ${result.droppedTables.join(', ')}` : '') +
        '\n',
    );
  } catch (error) {
    if (
      error instanceof LeaseHeldError ||
      error instanceof GenerationConflictError ||
      error instanceof RebuildError
    ) {
      throw new CliError(
        `${error.message}; run rebuild again (an unfinished generation is started over)`,
        ExitCode.Failure,
        { cause: error },
      );
    }
    throw error;
  } finally {
    (bar as cliProgress.SingleBar | null)?.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await context.close();
  }
}
