/**
 * `tillstream generate`: the generator behind the CLI. Progress goes to stderr only on a terminal;
 * the summary goes to stdout (as text, or JSON with `--json`).
 */
import cliProgress from 'cli-progress';
import { CliError, ExitCode } from '../../shared/cli/errors.js';
import { FilesPer, type GeneratorSummary } from './engine.js';
import { GeneratorError } from './errors.js';
import { daysForOrderItemRows, generateChain, generatorDefaults } from './index.js';
import { resolveProfile } from './profile.js';

/** The `generate` command's options as commander parses them (numbers still strings). */
export interface GenerateCommandOptions {
  readonly out: string;
  readonly locations: string;
  readonly days?: string;
  readonly orderItems?: string;
  readonly seed: string;
  readonly start?: string;
  readonly ordersPerDay?: string;
  readonly profile?: string;
  readonly filesPer?: string;
  readonly json?: boolean;
}

function integerOption(flag: string, value: string): number {
  const parsed = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new CliError(`${flag} must be an integer (given ${JSON.stringify(value)})`, ExitCode.BadUsage);
  }
  return parsed;
}

/** The summary as an operator reads it. */
export function formatSummary(summary: GeneratorSummary): string {
  const rate =
    (summary.rows.orderItems + summary.rows.orderItemOptions) / Math.max(summary.elapsedMs / 1000, 0.001);
  const share = (part: number, whole: number): string =>
    `${((100 * part) / Math.max(whole, 1)).toFixed(1)} %`;
  const messy = Object.entries(summary.messyRows)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `    ${kind.padEnd(20)} ${count}`);
  return [
    `Generated ${summary.locations} locations × ${summary.days} days (${summary.startDate} … ${summary.endDate}), profile ${summary.profile}, seed ${summary.seed}`,
    `  folder             ${summary.outDir}`,
    `  files              ${summary.files.length} (${(summary.bytes / 1e6).toFixed(1)} MB)`,
    `  order_items        ${summary.rows.orderItems} rows`,
    `  order_item_options ${summary.rows.orderItemOptions} rows`,
    `  date_dim           ${summary.rows.dateDim} rows`,
    `  locations          ${summary.rows.locations} rows`,
    `  orders             ${summary.orders} (${(summary.lineItems / Math.max(summary.orders, 1)).toFixed(2)} lines/order; guests ${share(summary.guestOrders, summary.orders)}; loyalty ${share(summary.loyaltyOrders, summary.orders)}; discounted ${share(summary.discountedOrders, summary.orders)})`,
    `  customers          ${summary.customers} (${summary.loyaltyMembers} loyalty members)`,
    `  messy rows         ${summary.messyRowTotal} (${share(summary.messyRowTotal, summary.rows.orderItems + summary.rows.orderItemOptions)})`,
    ...messy,
    `  elapsed            ${(summary.elapsedMs / 1000).toFixed(1)} s (${Math.round(rate)} rows/s)`,
  ].join('\n');
}

/** Runs `tillstream generate`. Bad options are `CliError`s with exit code 2. */
export async function runGenerateCommand(options: GenerateCommandOptions): Promise<void> {
  const locations = integerOption('--locations', options.locations);
  const seed = integerOption('--seed', options.seed);
  const ordersPerLocationDay =
    options.ordersPerDay === undefined
      ? generatorDefaults.ordersPerLocationDay
      : integerOption('--orders-per-day', options.ordersPerDay);
  if (options.days !== undefined && options.orderItems !== undefined) {
    throw new CliError('give --days or --order-items, not both', ExitCode.BadUsage);
  }
  const filesPer = options.filesPer ?? generatorDefaults.filesPer;
  if (!(Object.values(FilesPer) as string[]).includes(filesPer)) {
    throw new CliError(
      `--files-per must be one of ${Object.values(FilesPer).join(', ')} (given ${JSON.stringify(filesPer)})`,
      ExitCode.BadUsage,
    );
  }
  let bar: cliProgress.SingleBar | null = null;
  try {
    const profile = await resolveProfile(options.profile);
    const days =
      options.orderItems !== undefined
        ? daysForOrderItemRows(integerOption('--order-items', options.orderItems), {
            locations,
            ordersPerLocationDay,
            profile,
          })
        : integerOption('--days', options.days ?? '90');
    if (process.stderr.isTTY) {
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: 'generate [{bar}] {value}/{total} days | {date} | {rows} order_items rows',
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(days, 0, { date: '', rows: 0 });
    }
    const progressBar = bar;
    const summary = await generateChain({
      outDir: options.out,
      locations,
      days,
      seed,
      ordersPerLocationDay,
      profile,
      filesPer: filesPer as FilesPer,
      ...(options.start === undefined ? {} : { startDate: options.start }),
      ...(progressBar === null
        ? {}
        : {
            onProgress: (progress) =>
              progressBar.update(progress.day, { date: progress.date, rows: progress.orderItemRows }),
          }),
    });
    bar?.stop();
    process.stdout.write(
      options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`,
    );
  } catch (error) {
    bar?.stop();
    if (error instanceof GeneratorError)
      throw new CliError(error.message, ExitCode.BadUsage, { cause: error });
    throw error;
  }
}
