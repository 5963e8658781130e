/** `tillstream process` and `tillstream lag`. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import type { ResourceNames } from '../../shared/resources.js';
import { DynamoShardStore, type ShardStateItem } from './dynamo-store.js';
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
 */
export function lagReport(
  states: readonly ShardStateItem[],
  maxLagMs: number,
  now: number,
): { readonly lines: string[]; readonly behind: boolean; readonly failing: boolean } {
  const header = ['shard', 'lag ms', 'records/s', 'orders/s', 'checkpoint', 'updated', 'state'];
  const rows = states
    .filter((state) => !state.done)
    .map((state) => [
      state.shardId,
      String(state.lagMs ?? '?'),
      String(state.recordsPerSecond ?? 0),
      String(state.ordersPerSecond ?? 0),
      state.checkpoint === undefined ? '-' : `…${state.checkpoint.slice(-12)}`,
      state.updatedAt === undefined ? '-' : `${Math.round((now - state.updatedAt) / 1000)} s ago`,
      state.error !== undefined
        ? 'FAILING'
        : (state.lagMs ?? Number.POSITIVE_INFINITY) > maxLagMs
          ? 'BEHIND'
          : 'ok',
    ]);
  const errors = states
    .filter((state) => !state.done && state.error !== undefined)
    .map(
      (state) =>
        `${state.shardId} failed${state.errorAt === undefined ? '' : ` ${Math.round((now - state.errorAt) / 1000)} s ago`}: ${state.error}`,
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
    behind: rows.some((row) => row[6] === 'BEHIND'),
    failing: errors.length > 0,
  };
}

/**
 * Reads the shard status items; exit code 1 when a shard is failing or behind `--max-lag-ms`
 * (default 60000).
 */
export async function runLagCommand(options: LagCommandOptions, globals: GlobalOptions): Promise<void> {
  const maxLagMs = positiveInteger('--max-lag-ms', options.maxLagMs, 60_000);
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const states = await readShardStates(context.clients.doc, context.names);
    if (options.json) process.stdout.write(`${JSON.stringify(states, null, 2)}\n`);
    const report = lagReport(states, maxLagMs, Date.now());
    if (!options.json) process.stdout.write(`${report.lines.join('\n')}\n`);
    if (states.length === 0) throw new CliError('no shard has been processed yet', ExitCode.Failure);
    if (report.failing) throw new CliError('a shard is failing (its error is above)', ExitCode.Failure);
    if (report.behind) throw new CliError(`a shard is more than ${maxLagMs} ms behind`, ExitCode.Failure);
  } finally {
    await context.close();
  }
}

function readShardStates(doc: DynamoDBDocumentClient, names: ResourceNames): Promise<ShardStateItem[]> {
  return new DynamoShardStore(doc, names, { streamName: names.ordersStream }).listShardStates();
}
