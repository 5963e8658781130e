/** `tillstream retract FILE [--version SHA256]` (CONTRACT.md §4, issue #8). */
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { Target } from '../../shared/config.js';
import { withPollerLease } from '../../shared/generation.js';
import { codeVersion } from '../pipeline/version.js';
import { runShardProcessors } from '../shard/runner.js';
import { RetractionError } from './errors.js';
import { type RetractResult, retractFile } from './retract.js';

export interface RetractCommandOptions {
  /** Only the version whose SHA-256 starts with this hex prefix. */
  readonly version?: string;
}

/** What the command prints. */
export function describeRetraction(result: RetractResult): string {
  const lines = result.versions.map(
    (version) =>
      `${version.alreadyRetracted ? 'already retracted' : 'retracted'}: ${version.path} ` +
      `(file ${version.fileId}, sha256 ${version.contentHash.slice(0, 12)}…, arrival ${version.arrivalSeq})`,
  );
  if (result.alreadyRetracted) {
    lines.push('nothing to do: every version of this file was retracted before');
    return lines.join('\n');
  }
  lines.push(
    `${result.ordersRetracted} order(s) corrected, ${result.claimsReleased} row identity claim(s) released, ` +
      `${result.pendingOptionsDropped} waiting option(s) dropped`,
  );
  if (result.reingested.length > 0) {
    lines.push(`read again (they held rows of the retracted upload): ${result.reingested.join(', ')}`);
  }
  if (result.snapshotsRebuilt.length > 0)
    lines.push(`snapshots rebuilt: ${result.snapshotsRebuilt.join(', ')}`);
  if (result.snapshotsToRebuild.length > 0) {
    lines.push(
      `snapshots to rebuild once \`tillstream lag\` is clear: ${result.snapshotsToRebuild.join(', ')} ` +
        '(tillstream compact --as-of DATE)',
    );
  }
  if (result.earliestDate !== null) lines.push(`earliest local date corrected: ${result.earliestDate}`);
  return lines.join('\n');
}

/** `tillstream retract FILE [--version SHA256]`. */
export async function runRetractCommand(
  file: string,
  options: RetractCommandOptions,
  globals: GlobalOptions,
): Promise<void> {
  if (options.version !== undefined && !/^[0-9a-fA-F]{4,64}$/.test(options.version)) {
    throw new CliError(
      `--version must be 4 to 64 hex digits of the file's SHA-256 (given ${JSON.stringify(options.version)})`,
      ExitCode.BadUsage,
    );
  }
  const { openContext } = await import('../../shared/cli/context.js');
  // Locally the stack holds the state directory's lock as well: no poll or `up` runs meanwhile.
  const context = await openContext(globals);
  const log = (message: string) => process.stderr.write(`${message}\n`);
  try {
    const { clients, names, settings } = context;
    const local = settings.target !== Target.Aws;
    // The live poller (Lambda or `tillstream poll`) waits while the claims are released.
    const leased = await withPollerLease(
      clients.doc,
      context.baseNames,
      'tillstream retract',
      Date.now,
      () =>
        retractFile(
          {
            clients,
            names,
            settings,
            clock: Date.now,
            codeVersion: codeVersion(),
            log,
            ...(local
              ? {
                  processUntilCaughtUp: async () => {
                    await runShardProcessors(clients.kinesis, clients.doc, names, {
                      untilCaughtUp: true,
                      log,
                    });
                  },
                }
              : {}),
          },
          { file, ...(options.version !== undefined ? { contentHash: options.version } : {}) },
        ),
      { waitMs: settings.pollLeaseWaitSeconds * 1000 },
    );
    if ('heldBy' in leased) throw new CliError(`retract not started: ${leased.heldBy.message}`);
    const result = leased.result;
    process.stdout.write(`${describeRetraction(result)}\n`);
  } catch (error) {
    if (error instanceof RetractionError)
      throw new CliError(error.message, ExitCode.Failure, { cause: error });
    throw error;
  } finally {
    await context.close();
  }
}
