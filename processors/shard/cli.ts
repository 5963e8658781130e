/** `tillstream process` and `tillstream lag`. */
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { DynamoShardStore } from './dynamo-store.js';
import { readShardLag, type ShardLag, shardLagMs } from './lag.js';
import { processorDefaults, runShardProcessors } from './runner.js';

export interface ProcessCommandOptions {
  readonly untilCaughtUp?: boolean;
  readonly batchRecords?: string;
  readonly batchMs?: string;
}

export interface LagCommandOptions {
  readonly maxLagMs?: string;
  readonly json?: boolean;
}

function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new CliError(
      `${flag} must be a positive integer (given ${JSON.stringify(value)})`,
      ExitCode.BadUsage,
    );
  }
  return parsed;
}

/** Consumes every shard; with `--until-caught-up` returns when all are caught up, else runs until SIGINT. */
export async function runProcessCommand(
  options: ProcessCommandOptions,
  globals: GlobalOptions,
): Promise<void> {
  const batchMaxRecords = positiveInteger(
    '--batch-records',
    options.batchRecords,
    processorDefaults.batchMaxRecords,
  );
  const batchMaxWaitMs = positiveInteger('--batch-ms', options.batchMs, processorDefaults.batchMaxWaitMs);
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  try {
    const started = performance.now();
    const summary = await runShardProcessors(context.clients.kinesis, context.clients.doc, context.names, {
      batchMaxRecords,
      batchMaxWaitMs,
      untilCaughtUp: options.untilCaughtUp ?? false,
      signal: abort.signal,
      log: (message) => process.stderr.write(`${message}\n`),
    });
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `processed ${summary.records} records (${summary.ordersChanged} order changes) on ${summary.shards.length} shards ` +
        `in ${seconds.toFixed(1)} s: ${summary.itemWrites} item writes\n`,
    );
  } finally {
    process.off('SIGINT', stop);
    await context.close();
  }
}

/**
 * Rows of the lag table (then a line per failing shard with its error), whether any shard is
 * behind `maxLagMs`, and whether any is failing (its consumer failed and has not flushed since).
 * A shard's lag is its `pendingMs` when read, else the larger of the figures its consumer last
 * recorded.
 */
export function lagReport(
  shards: readonly ShardLag[],
  maxLagMs: number,
  now: number,
): { readonly lines: string[]; readonly behind: boolean; readonly failing: boolean } {
  const header = [
    'shard',
    'lag ms',
    'iterator age ms',
    'behind latest ms',
    'records/s',
    'orders/s',
    'checkpoint',
    'updated',
    'state',
  ];
  const open = shards.filter((shard) => !shard.done);
  const figure = (value: number | undefined) => (value === undefined ? '?' : String(value));
  const rows = open.map((shard) => {
    const lag = shardLagMs(shard);
    return [
      shard.shardId,
      figure(lag),
      figure(shard.iteratorAgeMs),
      figure(shard.lagMs),
      String(shard.recordsPerSecond ?? 0),
      String(shard.ordersPerSecond ?? 0),
      shard.checkpoint === undefined ? '-' : `…${shard.checkpoint.slice(-12)}`,
      shard.updatedAt === undefined ? '-' : `${Math.round((now - shard.updatedAt) / 1000)} s ago`,
      shard.error !== undefined ? 'FAILING' : (lag ?? Number.POSITIVE_INFINITY) > maxLagMs ? 'BEHIND' : 'ok',
    ];
  });
  const errors = open
    .filter((shard) => shard.error !== undefined)
    .map(
      (shard) =>
        `${shard.shardId} failed${shard.errorAt === undefined ? '' : ` ${Math.round((now - shard.errorAt) / 1000)} s ago`}: ${shard.error}`,
    );
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const format = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return {
    lines: [format(header), ...rows.map(format), ...errors],
    behind: rows.some((row) => row[8] === 'BEHIND'),
    failing: errors.length > 0,
  };
}

/**
 * Reads the shard status items and each shard's backlog from the stream; exit code 1 when a shard
 * is failing or behind `--max-lag-ms` (default: `TILLSTREAM_MAX_LAG_MS`, 60000).
 */
export async function runLagCommand(options: LagCommandOptions, globals: GlobalOptions): Promise<void> {
  // Checked before the stack opens; the default is the setting `status` uses too.
  if (options.maxLagMs !== undefined) positiveInteger('--max-lag-ms', options.maxLagMs, 0);
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const maxLagMs = positiveInteger('--max-lag-ms', options.maxLagMs, context.settings.maxShardLagMs);
    const { names } = context;
    const store = new DynamoShardStore(context.clients.doc, names, { streamName: names.ordersStream });
    const shards = await readShardLag(context.clients.kinesis, store, names.ordersStream, Date.now());
    if (options.json) process.stdout.write(`${JSON.stringify(shards, null, 2)}\n`);
    const report = lagReport(shards, maxLagMs, Date.now());
    if (!options.json) process.stdout.write(`${report.lines.join('\n')}\n`);
    if (report.failing) throw new CliError('a shard is failing (its error is above)', ExitCode.Failure);
    if (report.behind) throw new CliError(`a shard is more than ${maxLagMs} ms behind`, ExitCode.Failure);
    if (
      shards.every((shard) => shard.checkpoint === undefined && shard.updatedAt === undefined && !shard.done)
    )
      throw new CliError('no shard has been processed yet', ExitCode.Failure);
  } finally {
    await context.close();
  }
}
