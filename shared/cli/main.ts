/**
 * The `tillstream` CLI (CONTRACT.md §4). Each command loads its stage lazily so `--help` and the
 * small commands start fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { CliError, ExitCode, NotBuiltError } from './errors.js';

/** Options every command accepts. */
export interface GlobalOptions {
  readonly aws?: boolean;
  readonly fresh?: boolean;
  readonly stateDir?: string;
  readonly dynamodb?: string;
}

function notBuilt(command: string, issue: number): () => never {
  return () => {
    throw new NotBuiltError(command, issue);
  };
}

export function buildProgram(): Command {
  const program = new Command('tillstream')
    .description(
      'Near-real-time sales analytics for a restaurant chain: Drive → S3 → Kinesis → DynamoDB → S3 marts.',
    )
    .option('--aws', 'talk to the deployed AWS resources (also TILLSTREAM_TARGET=aws)')
    .option('--fresh', 'start the embedded local stack from empty state')
    .option('--state-dir <dir>', 'local state directory (also TILLSTREAM_STATE_DIR)', '.tillstream')
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
    .action(notBuilt('demo', 9));
  program
    .command('run')
    .description('the whole pipeline once over a folder: land, validate, stream, process, compact, export')
    .requiredOption('--input <dir|drive://id>', 'a local folder, or drive://FOLDER_ID[,ID…]')
    .option('--as-of <date>', 'snapshot date YYYY-MM-DD (default: yesterday in the chain time zone)')
    .option('--export <dir>', 'copy the snapshot marts here')
    .action(notBuilt('run', 9));
  program
    .command('generate')
    .description("write a realistic chain's order exports (deterministic for a seed)")
    .requiredOption('--out <dir>', 'output folder')
    .action(notBuilt('generate', 2));
  program
    .command('poll')
    .description('one poll cycle: land new files in S3, validate, put orders on the stream')
    .option('--input <dir|drive://id>', 'a local folder, or drive://FOLDER_ID[,ID…]')
    .option('--watch', 'poll on an interval')
    .action(notBuilt('poll', 3));
  program
    .command('process')
    .description('consume every shard into the DynamoDB aggregates')
    .option('--until-caught-up', 'stop when every shard is caught up')
    .action(notBuilt('process', 4));
  program
    .command('compact')
    .description('compute every mart for a date into an S3 snapshot')
    .option('--as-of <date>', 'snapshot date YYYY-MM-DD')
    .action(notBuilt('compact', 9));
  program
    .command('export')
    .description("copy a snapshot's marts to a folder")
    .option('--as-of <date>', 'snapshot date YYYY-MM-DD')
    .option('--to <dir>', 'destination folder')
    .action(notBuilt('export', 9));
  program
    .command('requeue')
    .description('re-validate quarantined rows and stream those that now pass')
    .action(notBuilt('requeue', 3));
  program
    .command('lag')
    .description('per-shard lag; non-zero exit when a shard is behind')
    .action(notBuilt('lag', 4));
  program
    .command('dashboard')
    .description('serve the web dashboard')
    .option('--port <port>', 'port')
    .action(notBuilt('dashboard', 6));
  program
    .command('up')
    .description('run everything continuously on the embedded stack')
    .action(notBuilt('up', 6));
  program
    .command('rebuild')
    .description('rebuild the aggregates from the raw layer')
    .option('--since <date>', 'first local date to rebuild')
    .action(notBuilt('rebuild', 8));
  program
    .command('retract')
    .description('withdraw an upload')
    .argument('<file>', 'Drive file id or path')
    .action(notBuilt('retract', 8));
  program
    .command('backfill')
    .description('load history at a bounded rate')
    .requiredOption('--input <dir|drive://id>', 'a local folder, or drive://FOLDER_ID')
    .action(notBuilt('backfill', 8));
  program
    .command('status')
    .description('pipeline health on one screen')
    .option('--json', 'machine-readable')
    .action(notBuilt('status', 8));
  program
    .command('reconcile')
    .description('recompute everything from the raw layer independently and report differences')
    .option('--as-of <date>', 'snapshot date YYYY-MM-DD')
    .action(notBuilt('reconcile', 7));
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
    process.stderr.write(
      `tillstream: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.Failure;
  }
}
