/**
 * The `tillstream` CLI (CONTRACT.md §4). Each command loads its stage lazily so `--help` and the
 * small commands start fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { SourceError } from '../../ingest/errors.js';
import { SnapshotNotFoundError } from '../../processors/compaction/errors.js';
import { CliError, ExitCode } from './errors.js';

/** Options every command accepts. */
export interface GlobalOptions {
  readonly aws?: boolean;
  readonly fresh?: boolean;
  readonly stateDir?: string;
  readonly dynamodb?: string;
}

export function buildProgram(): Command {
  const program = new Command('tillstream')
    .description(
      'Near-real-time sales analytics for a restaurant chain: Drive → S3 → Kinesis → DynamoDB → S3 marts.',
    )
    .option('--aws', 'talk to the deployed AWS resources (also TILLSTREAM_TARGET=aws)')
    .option('--fresh', 'start the embedded local stack from empty state')
    // No commander default: TILLSTREAM_STATE_DIR must apply when the flag is absent (settings default: .tillstream).
    .option('--state-dir <dir>', 'local state directory (also TILLSTREAM_STATE_DIR; default .tillstream)')
    .addOption(
      new Option('--dynamodb <engine>', 'local DynamoDB engine (also TILLSTREAM_DYNAMODB)').choices([
        'dynalite',
        'local-jar',
      ]),
    )
    .showHelpAfterError()
    .exitOverride();

  program
    .command('demo')
    .description('generate a realistic chain, run the whole pipeline locally, print every metric (npm start)')
    .option('--out <dir>', 'where to export the marts', 'tillstream-out')
    .action(async (options: { out?: string }, command: Command) => {
      const { runDemoCommand } = await import('../../processors/pipeline/cli.js');
      await runDemoCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('run')
    .description('the whole pipeline once over a folder: land, validate, stream, process, compact, export')
    .requiredOption('--input <dir|drive://id>', 'a local folder, or drive://FOLDER_ID[,ID…]')
    .option('--as-of <date>', 'snapshot date YYYY-MM-DD (default: yesterday in the chain time zone)')
    .option('--export <dir>', 'copy the snapshot marts here')
    .action(async (options: { input: string; asOf?: string; export?: string }, command: Command) => {
      const { runRunCommand } = await import('../../processors/pipeline/cli.js');
      await runRunCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('generate')
    .description("write a realistic chain's order exports (deterministic for a seed)")
    .requiredOption('--out <dir>', 'output folder (created; must be empty)')
    .option('--locations <n>', 'number of locations', '20')
    .option('--days <n>', 'number of export days (default 90)')
    .option('--order-items <n>', 'instead of --days: about this many order_items rows (e.g. 1000000)')
    .option('--seed <n>', 'random seed: same options and seed, same bytes', '1')
    .option('--start <date>', 'first local date YYYY-MM-DD (default 2023-01-01)')
    .option('--orders-per-day <n>', 'mean orders per location and day (default 120)')
    .option('--profile <name|file.json>', 'default | clean | messy | a JSON file of overrides', 'default')
    .option('--files-per <split>', 'day | location-day | single', 'day')
    .option('--json', 'print the summary as JSON')
    .action(async (options: import('../../ingest/generator/cli.js').GenerateCommandOptions) => {
      const { runGenerateCommand } = await import('../../ingest/generator/cli.js');
      await runGenerateCommand(options);
    });
  program
    .command('poll')
    .description('one poll cycle: land new files in S3, validate, put orders on the stream')
    .option('--input <dir|drive://id>', 'a local folder, or drive://FOLDER_ID[,ID…] (also TILLSTREAM_INPUT)')
    .option('--watch', 'poll on an interval until interrupted')
    .option('--interval <seconds>', 'seconds between polls with --watch (default 60)')
    .action(async (options: import('../../ingest/cli.js').PollCommandOptions, command: Command) => {
      const { runPollCommand } = await import('../../ingest/cli.js');
      await runPollCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('process')
    .description('consume every shard into the DynamoDB aggregates')
    .option('--until-caught-up', 'stop when every shard is caught up')
    .option('--batch-records <n>', 'records per micro-batch at most (default 500)')
    .option('--batch-ms <ms>', 'flush a micro-batch at the latest after this long (default 250)')
    .action(
      async (options: import('../../processors/shard/cli.js').ProcessCommandOptions, command: Command) => {
        const { runProcessCommand } = await import('../../processors/shard/cli.js');
        await runProcessCommand(options, command.optsWithGlobals<GlobalOptions>());
      },
    );
  program
    .command('compact')
    .description('compute every mart for a date into an S3 snapshot')
    .option('--as-of <date>', 'snapshot date YYYY-MM-DD')
    .action(async (options: { asOf?: string }, command: Command) => {
      const { runCompactCommand } = await import('../../processors/pipeline/cli.js');
      await runCompactCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('export')
    .description("copy a snapshot's marts to a folder")
    .option('--as-of <date>', 'snapshot date YYYY-MM-DD')
    .option('--to <dir>', 'destination folder')
    .action(async (options: { asOf?: string; to?: string }, command: Command) => {
      const { runExportCommand } = await import('../../processors/pipeline/cli.js');
      await runExportCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('requeue')
    .description('re-validate quarantined rows and stream those that now pass')
    .action(async (_options: unknown, command: Command) => {
      const { runRequeueCommand } = await import('../../ingest/cli.js');
      await runRequeueCommand(command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('quarantine')
    .description('list quarantined rows with their file, row, column and reason')
    .option('--reason <code>', 'only this reason (e.g. bad_number)')
    .option('--file <text>', 'only files whose path contains this text')
    .option('--limit <n>', 'rows shown at most (default 50)')
    .option('--json', 'every matching row, machine-readable')
    .action(async (options: import('../../ingest/cli.js').QuarantineCommandOptions, command: Command) => {
      const { runQuarantineCommand } = await import('../../ingest/cli.js');
      await runQuarantineCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('lag')
    .description('per-shard lag; non-zero exit when a shard is behind or failing')
    .option(
      '--max-lag-ms <ms>',
      'a shard further behind than this fails the command (default TILLSTREAM_MAX_LAG_MS, 60000)',
    )
    .option('--json', 'machine-readable')
    .action(async (options: import('../../processors/shard/cli.js').LagCommandOptions, command: Command) => {
      const { runLagCommand } = await import('../../processors/shard/cli.js');
      await runLagCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('dashboard')
    .description('serve the web dashboard (127.0.0.1; another host needs TILLSTREAM_DASHBOARD_TOKEN)')
    .option('--port <port>', 'port (also TILLSTREAM_DASHBOARD_PORT; default 8787, 0 = any free port)')
    .option('--host <host>', 'interface to bind (also TILLSTREAM_DASHBOARD_HOST; default 127.0.0.1)')
    .action(
      async (
        options: import('../../processors/dashboard/cli.js').DashboardCommandOptions,
        command: Command,
      ) => {
        const { runDashboardCommand } = await import('../../processors/dashboard/cli.js');
        await runDashboardCommand(options, command.optsWithGlobals<GlobalOptions>());
      },
    );
  program
    .command('up')
    .description(
      'run everything continuously on the embedded stack: poller, processors, nightly compaction, dashboard',
    )
    .option('--input <dir|drive://id>', 'a local folder, or drive://FOLDER_ID[,ID…] (or TILLSTREAM_INPUT)')
    .option('--poll-interval <seconds>', 'seconds between polls (default 60)')
    .option('--compact-at <HH:MM>', "nightly compaction time in the chain's zone (default 02:00)")
    .option('--port <port>', 'dashboard port (default 8787)')
    .option(
      '--host <host>',
      'dashboard interface (default 127.0.0.1; others need TILLSTREAM_DASHBOARD_TOKEN)',
    )
    .action(async (options: import('../../processors/pipeline/up.js').UpCommandOptions, command: Command) => {
      const { runUpCommand } = await import('../../processors/pipeline/up.js');
      await runUpCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('rebuild')
    .description('rebuild the aggregates from the raw layer into a new table generation, then switch to it')
    .option('--since <date>', 'recompute only the snapshots dated on or after this YYYY-MM-DD (default: all)')
    .option('--drop-old', "delete the previous generation's tables once the new one is live")
    .action(
      async (options: import('../../processors/rebuild/cli.js').RebuildCommandOptions, command: Command) => {
        const { runRebuildCommand } = await import('../../processors/rebuild/cli.js');
        await runRebuildCommand(options, command.optsWithGlobals<GlobalOptions>());
      },
    );
  program
    .command('retract')
    .description('withdraw an upload: subtract its rows everywhere, release them for a corrected re-export')
    .argument('<file>', 'Drive file id, or path relative to the input folder')
    .option('--version <sha256>', 'only the version whose SHA-256 starts with this (default: every version)')
    .action(
      async (
        file: string,
        options: import('../../processors/retract/cli.js').RetractCommandOptions,
        command: Command,
      ) => {
        const { runRetractCommand } = await import('../../processors/retract/cli.js');
        await runRetractCommand(file, options, command.optsWithGlobals<GlobalOptions>());
      },
    );
  program
    .command('backfill')
    .description('load history at a bounded rate (orders per second), resumable, with a progress bar')
    .requiredOption('--input <dir|drive://id>', 'a local folder, or drive://FOLDER_ID[,ID…]')
    .option('--rate <n>', 'orders per second at most (also TILLSTREAM_BACKFILL_RATE; default 200)')
    .option(
      '--turn-seconds <n>',
      'give the poller lease up to the live poller at least this often (also TILLSTREAM_BACKFILL_TURN_SECONDS; default 30)',
    )
    .action(
      async (options: import('../../ingest/backfill/cli.js').BackfillCommandOptions, command: Command) => {
        const { runBackfillCommand } = await import('../../ingest/backfill/cli.js');
        await runBackfillCommand(options, command.optsWithGlobals<GlobalOptions>());
      },
    );
  program
    .command('status')
    .description(
      'pipeline health on one screen: polls, quarantine, shard lag, snapshot, missing uploads; exit 1 when something needs attention',
    )
    .option('--json', 'machine-readable, with an `attention` list')
    .action(
      async (options: import('../../processors/status/cli.js').StatusCommandOptions, command: Command) => {
        const { runStatusCommand } = await import('../../processors/status/cli.js');
        await runStatusCommand(options, command.optsWithGlobals<GlobalOptions>());
      },
    );
  const closure = program
    .command('closure')
    .description('days a location is closed: no upload is expected, none is reported missing');
  closure
    .command('add')
    .description('mark a location (or ALL locations) closed on a date, or from it to --to')
    .argument('<location>', 'RESTAURANT_ID, or ALL')
    .argument('<date>', 'local date YYYY-MM-DD')
    .option('--to <date>', 'last closed date (default: the same date)')
    .option('--note <text>', 'why (shown in the list)')
    .action(
      async (
        location: string,
        date: string,
        options: import('../../processors/status/cli.js').ClosureAddOptions,
        command: Command,
      ) => {
        const { runClosureAddCommand } = await import('../../processors/status/cli.js');
        await runClosureAddCommand(location, date, options, command.optsWithGlobals<GlobalOptions>());
      },
    );
  closure
    .command('remove')
    .description('remove the closure of a location that starts on a date')
    .argument('<location>', 'RESTAURANT_ID, or ALL')
    .argument('<date>', 'its first date YYYY-MM-DD')
    .action(async (location: string, date: string, _options: unknown, command: Command) => {
      const { runClosureRemoveCommand } = await import('../../processors/status/cli.js');
      await runClosureRemoveCommand(location, date, command.optsWithGlobals<GlobalOptions>());
    });
  closure
    .command('list')
    .description('every closure')
    .option('--json', 'machine-readable')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runClosureListCommand } = await import('../../processors/status/cli.js');
      await runClosureListCommand(options, command.optsWithGlobals<GlobalOptions>());
    });
  program
    .command('reconcile')
    .description('recompute everything from the raw layer independently and report differences')
    .option('--as-of <date>', 'snapshot date YYYY-MM-DD (default: the newest published snapshot)')
    .option('--json', 'print the whole report as JSON')
    .option('--limit <n>', 'differences to print in the table (default 40)')
    .action(
      async (
        options: import('../../processors/reconcile/cli.js').ReconcileCommandOptions,
        command: Command,
      ) => {
        const { runReconcileCommand } = await import('../../processors/reconcile/cli.js');
        await runReconcileCommand(options, command.optsWithGlobals<GlobalOptions>());
      },
    );
  program
    .command('stack')
    .description('run the embedded local stack (DynamoDB, Kinesis, S3), print its endpoints, stop on Ctrl-C')
    .action(async (_options: unknown, command: Command) => {
      const { runStackCommand } = await import('./stack.js');
      await runStackCommand(command.optsWithGlobals<GlobalOptions>());
    });
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return ExitCode.Success;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
        return ExitCode.Success;
      if (error.code === 'commander.help') return ExitCode.Success;
      return ExitCode.BadUsage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`tillstream: ${error.message}\n`);
      return error.exitCode;
    }
    // Errors that say all a user needs (a source that cannot be read, a missing snapshot): one line.
    if (error instanceof SourceError || error instanceof SnapshotNotFoundError) {
      const hint =
        error instanceof SnapshotNotFoundError
          ? '; pass --as-of with the date of an existing snapshot (`tillstream status` shows the latest)'
          : '';
      process.stderr.write(`tillstream: ${error.message}${hint}\n`);
      return ExitCode.Failure;
    }
    process.stderr.write(
      `tillstream: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.Failure;
  }
}
