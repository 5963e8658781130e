/** `tillstream compact`, `export`, `run` and `demo` (CONTRACT.md §4). */

import { rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { addDays, isCalendarDate } from '../../aggregates/time.js';
import { fileOutcomes } from '../../ingest/report.js';
import { PollerState } from '../../ingest/state.js';
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import { checkInputOption, checkOutputFolderOption } from '../../shared/cli/input.js';
import type { GlobalOptions } from '../../shared/cli/main.js';
import { defaultAsOf, runCompaction } from '../compaction/job.js';
import { exportSnapshot } from '../compaction/snapshot.js';
import { type PipelineResult, type PipelineStage, runPipeline } from './run.js';
import { summariseMarts } from './summary.js';
import { codeVersion } from './version.js';

function asOfOption(value: string | undefined, chainTimeZone: string): string {
  if (value === undefined) return defaultAsOf(Date.now(), chainTimeZone);
  if (!isCalendarDate(value)) {
    throw new CliError(
      `--as-of must be a date YYYY-MM-DD (given ${JSON.stringify(value)})`,
      ExitCode.BadUsage,
    );
  }
  return value;
}

/** Location names from the locations files ingested so far, for the summary. */
async function locationNamesOf(
  doc: DynamoDBDocumentClient,
  stateTable: string,
): Promise<Map<string, string>> {
  const locations = await new PollerState(doc, stateTable).locations();
  return new Map([...locations.values()].map((location) => [location.restaurantId, location.name]));
}

const stderrLog = (message: string): void => {
  process.stderr.write(`${message}\n`);
};

/** `tillstream compact [--as-of DATE]`. */
export async function runCompactCommand(
  options: { readonly asOf?: string },
  globals: GlobalOptions,
): Promise<void> {
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const asOf = asOfOption(options.asOf, context.settings.chainTimeZone);
    const result = await runCompaction(context.clients, context.names, {
      asOf,
      codeVersion: codeVersion(),
      log: stderrLog,
    });
    process.stdout.write(
      `${summariseMarts(result.marts, await locationNamesOf(context.clients.doc, context.names.stateTable))}\n\nsnapshot ${asOf} run ${result.manifest.runId}\n`,
    );
  } finally {
    await context.close();
  }
}

/** `tillstream export [--as-of DATE] --to DIR`. */
export async function runExportCommand(
  options: { readonly asOf?: string; readonly to?: string },
  globals: GlobalOptions,
): Promise<void> {
  if (options.to === undefined) throw new CliError('export needs --to DIR', ExitCode.BadUsage);
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const asOf = asOfOption(options.asOf, context.settings.chainTimeZone);
    const manifest = await exportSnapshot({
      s3: context.clients.s3,
      bucket: context.names.martsBucket,
      asOf,
      toDir: options.to,
    });
    process.stdout.write(`exported snapshot ${asOf} run ${manifest.runId} to ${resolve(options.to)}\n`);
  } finally {
    await context.close();
  }
}

function describeTimings(result: PipelineResult, extra: readonly [string, number][] = []): string {
  const rows: [string, number][] = [
    ...extra,
    ...(Object.entries(result.timingsMs) as [PipelineStage, number][]),
  ];
  const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
  return [...rows, ['total', total] as [string, number]]
    .map(([stage, ms]) => `${stage.padEnd(10)} ${(ms / 1000).toFixed(1).padStart(7)} s`)
    .join('\n');
}

function describeRun(result: PipelineResult): string {
  const poll = result.poll;
  const accepted = poll.reports.reduce((sum, report) => sum + report.rowsAccepted, 0);
  const quarantined = poll.reports.reduce((sum, report) => sum + report.rowsQuarantined, 0);
  const files = fileOutcomes(poll.reports);
  return [
    `ingested ${files.ingested} new file(s): ${accepted.toLocaleString('en-US')} rows accepted, ` +
      `${quarantined.toLocaleString('en-US')} quarantined, ${poll.recordsPut.toLocaleString('en-US')} order events put; ` +
      `processed ${result.process.records.toLocaleString('en-US')} records into ${result.process.itemWrites.toLocaleString('en-US')} item writes`,
    ...(files.copies > 0
      ? [`${files.copies} file(s) with the same bytes as a file already ingested: not read again`]
      : []),
    ...(files.setAside.length > 0
      ? [`${files.setAside.length} file(s) set aside whole:`, ...files.setAside.map((line) => `  ${line}`)]
      : []),
  ].join('\n');
}

/** `tillstream run --input DIR [--as-of DATE] [--export DIR]`. */
export async function runRunCommand(
  options: { readonly input: string; readonly asOf?: string; readonly export?: string },
  globals: GlobalOptions,
): Promise<void> {
  await checkInputOption('--input', options.input);
  if (options.export !== undefined) await checkOutputFolderOption('--export', options.export);
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const asOf = asOfOption(options.asOf, context.settings.chainTimeZone);
    const result = await runPipeline(context.clients, context.names, context.settings, {
      input: options.input,
      asOf,
      codeVersion: codeVersion(),
      log: stderrLog,
      onStage: (stage) => stderrLog(`… ${stage}`),
      ...(options.export !== undefined ? { exportDir: options.export } : {}),
    });
    const locationNames = await locationNamesOf(context.clients.doc, context.names.stateTable);
    process.stdout.write(
      `${describeRun(result)}\n\n${summariseMarts(result.compaction.marts, locationNames)}\n\n`,
    );
    process.stdout.write(`${describeTimings(result)}\n`);
    if (options.export !== undefined)
      process.stdout.write(`marts of ${asOf} exported to ${resolve(options.export)}\n`);
    if (result.poll.errors.length > 0) {
      throw new CliError(`${result.poll.errors.length} file(s) could not be read; rerun to retry them`);
    }
  } finally {
    await context.close();
  }
}

/**
 * The demo chain: 24 locations over 75 days, 50,558 orders (the "≥ 50,000"), which
 * `npm start` runs in about 75–85 s from a fresh state on the embedded stack of a 2-core machine:
 * see the README's benchmarks.
 */
export const demoChain = {
  locations: 24,
  days: 75,
  ordersPerLocationDay: 26,
  seed: 1,
  startDate: '2023-06-01',
} as const;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** `tillstream demo` (`npm start`): generate, run everything, summarise, export to ./tillstream-out. */
export async function runDemoCommand(
  options: { readonly out?: string },
  globals: GlobalOptions,
): Promise<void> {
  const started = performance.now();
  const { openContext } = await import('../../shared/cli/context.js');
  const context = await openContext(globals);
  try {
    const input = join(context.settings.stateDir, 'demo-input');
    const generateStarted = performance.now();
    if (!(await exists(input))) {
      const { generateChain } = await import('../../ingest/generator/index.js');
      const partial = `${input}.partial`;
      await rm(partial, { recursive: true, force: true });
      stderrLog(
        `generating a chain of ${demoChain.locations} locations over ${demoChain.days} days into ${input} …`,
      );
      const generated = await generateChain({ outDir: partial, ...demoChain });
      await rename(partial, input);
      stderrLog(
        `generated ${generated.orders.toLocaleString('en-US')} orders in ${generated.files.length} files`,
      );
    }
    const generateMs = performance.now() - generateStarted;
    const asOf = addDays(demoChain.startDate, demoChain.days - 1);
    const exportDir = options.out ?? 'tillstream-out';
    const result = await runPipeline(context.clients, context.names, context.settings, {
      input,
      asOf,
      exportDir,
      codeVersion: codeVersion(),
      log: stderrLog,
      onStage: (stage) => stderrLog(`… ${stage}`),
    });
    const locationNames = await locationNamesOf(context.clients.doc, context.names.stateTable);
    process.stdout.write(
      `\n${describeRun(result)}\n\nSnapshot ${asOf}\n\n${summariseMarts(result.compaction.marts, locationNames)}\n\n`,
    );
    process.stdout.write(
      `${describeTimings(result, [['start+gen', generateMs + (generateStarted - started)]])}\n\n`,
    );
    process.stdout.write(
      `The marts are in ${resolve(exportDir)} (<mart>.csv, <mart>.parquet, manifest.json).\n` +
        `Open the dashboard over this data:  npx tillstream dashboard   (http://127.0.0.1:8787/)\n` +
        `Run the whole product continuously: npx tillstream up --input ${input}\n` +
        `Run it again: only new files are ingested. Start over with: npx tillstream --fresh demo\n`,
    );
  } finally {
    await context.close();
  }
}
