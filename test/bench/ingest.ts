/**
 * Ingest benchmark: rows per second from a local folder to Kinesis on the embedded stack (one poll
 * cycle: land in S3, parse, dedupe against the ledger, PutRecords, reports), over a generated export
 * of the default profile in day files, and the poller's peak RSS at 1× and 4× the size. Each
 * measurement starts two child processes: one runs the emulators (dynalite, kinesalite, s3rver), the
 * other the poll cycle with clients pointed at them, so `peak_rss_mib`, the heap and the poller's
 * CPU time are the poller's own; `rows_per_cpu_s` counts both processes. The poll runs with the
 * default settings, so with `pollHeapGrowingPercent` 30 (ingest/heap.ts); `live_heap_mib` is what
 * a full GC keeps once the cycle has returned.
 *
 * Sizes are order_items rows: `TILLSTREAM_BENCH_INGEST_ROWS` (default 520,000: with each day's
 * options file the export is about 1.04M rows, the size; 500,000 gave 965,099) and
 * `TILLSTREAM_BENCH_INGEST_ROWS_4X` (default 4 × that, about 4.2M rows). At about 2,000 rows/s
 * that takes about 45 minutes; `TILLSTREAM_BENCH_INGEST_ROWS=10000` is a quick run.
 * `TILLSTREAM_BENCH_INGEST_CPU_PROF=DIR` writes CPU profiles of both children there (with
 * `TILLSTREAM_EMULATOR_THREADS=0` the emulators run on the profiled main thread). Generated exports
 * are cached under the temp folder between runs (1M rows generate in about 15 s, 4M in about 2 min).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import type { LocalEndpoints } from '../../shared/aws/clients.js';
import { defaults, type Settings } from '../../shared/config.js';
import type { BenchModule, BenchReport } from './registry.js';
import { positiveIntegerSetting } from './settings.js';

/**
 * order_items rows; the export is about twice that with the options files: the 1M rows.
 * The ledger on dynalite bounds the embedded stack to about 2,000 rows/s here (one DynamoDB item
 * read and one written per row), so 1M + 4M rows take about 45 minutes.
 */
const DEFAULT_ROWS = 520_000;
const TARGET_PEAK_RSS_MIB = 256;
/** The demo (~170k rows) must ingest in well under its 90 s budget. */
const TARGET_ROWS_PER_S = 5_000;
const LOCATIONS = 20;
const SEED = 20_230_814;
const SHARDS = 2;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const benchDir = join(tmpdir(), 'tillstream-bench-ingest');

/** Measured in the child process. */
interface ChildMeasure {
  /** Rows read over every file (order items, options, locations, calendar). */
  readonly rows: number;
  readonly orderItemRows: number;
  readonly files: number;
  readonly recordsPut: number;
  readonly putRecordsCalls: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMib: number;
  /** The largest `heapUsed` sampled every 200 ms. */
  readonly peakHeapMib: number;
  /** The heap a full GC keeps once the cycle has returned (its result still held). */
  readonly liveHeapMib: number;
  /** Seconds per phase of the files' reports (`timingsMs` summed: readRaw, parse, dedupe, put, total). */
  readonly phaseSeconds: Readonly<Record<string, number>>;
}

/** The settings of both children: the defaults with the bench's shard count. */
function benchSettings(): Settings {
  return { ...defaults, shardCount: SHARDS };
}

/** The generated export for about `orderItemRows` order_items rows, cached between runs. */
async function exportFolder(orderItemRows: number): Promise<{ dir: string; orderItemRows: number }> {
  const dir = join(benchDir, `generated_${orderItemRows}`);
  const marker = join(benchDir, `generated_${orderItemRows}.json`);
  if (existsSync(marker))
    return JSON.parse(readFileSync(marker, 'utf8')) as { dir: string; orderItemRows: number };
  const generator = await import('../../ingest/generator/index.js');
  rmSync(dir, { recursive: true, force: true });
  const days = generator.daysForOrderItemRows(orderItemRows, { locations: LOCATIONS });
  const summary = await generator.generateChain({ outDir: dir, locations: LOCATIONS, days, seed: SEED });
  const generated = { dir, orderItemRows: summary.rows.orderItems };
  writeFileSync(marker, JSON.stringify(generated));
  return generated;
}

/** What the emulators' process measured about itself. */
interface StackMeasure {
  readonly cpuSeconds: number;
  readonly peakRssMib: number;
}

/** The last line a child wrote on stdout, as JSON. */
function lastJsonLine<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

/** Collects a child's stdout and stderr; resolves with both when it exits 0. */
function outputOf(child: ChildProcess, what: string): Promise<string> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`bench ingest ${what} failed (${code ?? signal}): ${stderr.slice(-4000)}`));
    });
  });
}

function spawnSelf(
  mode: string,
  args: readonly string[],
  extraNodeFlags: readonly string[] = [],
): ChildProcess {
  const self = fileURLToPath(import.meta.url);
  return spawn(
    process.execPath,
    ['--openssl-legacy-provider', ...extraNodeFlags, '--import', 'tsx', self, mode, ...args],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

/**
 * One poll over `dir`: the emulators in one child process, the poll cycle in another with clients
 * pointed at them, so the poll's `maxRSS` and CPU time are the poller's own.
 */
async function runMeasured(dir: string): Promise<ChildMeasure & { readonly stack: StackMeasure }> {
  const cpuProfileDir = process.env['TILLSTREAM_BENCH_INGEST_CPU_PROF'];
  const profileFlags =
    cpuProfileDir === undefined || cpuProfileDir === ''
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`];
  const stackChild = spawnSelf('stack', [], profileFlags);
  const stackOutput = outputOf(stackChild, 'stack');
  const endpoints = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      stackChild.stdout?.off('data', onData);
      resolve(buffered.slice(0, newline));
    };
    stackChild.stdout?.on('data', onData);
    stackOutput.catch(reject);
  });
  try {
    const poll = lastJsonLine<ChildMeasure>(
      // --expose-gc: the live heap is measured after one full GC, once the cycle has returned.
      await outputOf(spawnSelf('poll', [dir, endpoints], ['--expose-gc', ...profileFlags]), 'poll'),
    );
    // The stack child stops its emulators and reports once its stdin closes.
    stackChild.stdin?.end();
    const stack = lastJsonLine<StackMeasure>(await stackOutput);
    return { ...poll, stack };
  } finally {
    if (stackChild.exitCode === null) stackChild.kill();
  }
}

/** The emulators' process: starts the stack, prints its endpoints, stops when stdin closes. */
async function stackMain(): Promise<void> {
  const { bootstrapLocalResources } = await import('../../shared/aws/bootstrap.js');
  const { startLocalStack } = await import('../../shared/local/stack.js');
  const { resourceNames } = await import('../../shared/resources.js');
  const stateDir = await mkdtemp(join(tmpdir(), 'tillstream-bench-ingest-stack-'));
  const stack = await startLocalStack({ stateDir, fresh: true });
  try {
    await bootstrapLocalResources(stack.endpoints, resourceNames(benchSettings()), {
      shardCount: SHARDS,
    });
    process.stdout.write(`${JSON.stringify(stack.endpoints)}\n`);
    await new Promise<void>((resolve) => {
      process.stdin.on('data', () => {});
      process.stdin.once('end', resolve);
    });
    const cpu = process.cpuUsage();
    const measure: StackMeasure = {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssMib: process.resourceUsage().maxRSS / 1024,
    };
    process.stdout.write(`${JSON.stringify(measure)}\n`);
  } finally {
    await stack.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

function phaseSeconds(reports: readonly { readonly timingsMs: Readonly<Record<string, number>> }[]) {
  const seconds: Record<string, number> = {};
  for (const report of reports) {
    for (const [phase, ms] of Object.entries(report.timingsMs))
      seconds[phase] = (seconds[phase] ?? 0) + ms / 1000;
  }
  return Object.fromEntries(
    Object.entries(seconds).map(([phase, total]) => [phase, Number(total.toFixed(1))]),
  );
}

/** The poller's process: one poll cycle over `dir` against the stack at `endpoints`. */
async function pollMain(dir: string, endpoints: LocalEndpoints): Promise<void> {
  const [{ createFolderSource }, { runPollCycle }, { createClients }, { boundHeapGrowth }] =
    await Promise.all([
      import('../../ingest/folder/source.js'),
      import('../../ingest/poll.js'),
      import('../../shared/aws/clients.js'),
      import('../../ingest/heap.js'),
    ]);
  const { resourceNames } = await import('../../shared/resources.js');
  const clients = createClients({ kind: 'local', endpoints });
  let putRecordsCalls = 0;
  clients.kinesis.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutRecordsCommand') putRecordsCalls++;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountPutRecords' },
  );
  let peakHeapMib = 0;
  const sampleHeap = () => {
    peakHeapMib = Math.max(peakHeapMib, process.memoryUsage().heapUsed / 1024 / 1024);
  };
  const sampler = setInterval(sampleHeap, 200);
  try {
    const settings = benchSettings();
    const names = resourceNames(settings);
    // As `tillstream poll` and the poller Lambda run it (ingest/cli.ts, ingest/lambda.ts).
    boundHeapGrowth(settings.pollHeapGrowingPercent);
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    const result = await runPollCycle({
      clients,
      names,
      settings,
      source: createFolderSource(dir),
      clock: Date.now,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    sampleHeap();
    (globalThis as { gc?: () => void }).gc?.();
    const liveHeapMib = v8.getHeapStatistics().used_heap_size / 1024 / 1024;
    const measure: ChildMeasure = {
      rows: result.reports.reduce((sum, report) => sum + report.rowsRead, 0),
      orderItemRows: result.reports
        .filter((report) => report.kind === 'order_items')
        .reduce((sum, report) => sum + report.rowsRead, 0),
      files: result.reports.length,
      recordsPut: result.recordsPut,
      putRecordsCalls,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      // maxRSS is in kibibytes.
      peakRssMib: process.resourceUsage().maxRSS / 1024,
      peakHeapMib,
      liveHeapMib,
      phaseSeconds: phaseSeconds(result.reports),
    };
    process.stdout.write(`${JSON.stringify(measure)}\n`);
  } finally {
    clearInterval(sampler);
    clients.destroy();
  }
}

export const ingestBench: BenchModule = {
  name: 'ingest',
  async run(): Promise<BenchReport> {
    const size = positiveIntegerSetting(process.env, 'TILLSTREAM_BENCH_INGEST_ROWS', DEFAULT_ROWS);
    const size4x = positiveIntegerSetting(process.env, 'TILLSTREAM_BENCH_INGEST_ROWS_4X', 4 * size);
    const small = await exportFolder(size);
    const large = await exportFolder(size4x);
    console.error(`bench ingest: ${small.orderItemRows} and ${large.orderItemRows} order_items rows`);
    const measured = await runMeasured(small.dir);
    const measured4x = await runMeasured(large.dir);
    const rowsPerS = Math.round(measured.rows / measured.seconds);
    const stackCpuSeconds = measured.stack.cpuSeconds;
    const rowsPerCpuS = Math.round(measured.rows / (measured.cpuSeconds + stackCpuSeconds));
    const callsPer1000 = Number(((1000 * measured.putRecordsCalls) / measured.rows).toFixed(3));
    const growth = measured4x.peakRssMib / measured.peakRssMib;
    return {
      notes: [
        `${measured.rows} rows (${measured.orderItemRows} order_items) in ${measured.files} files, and ${measured4x.rows} rows in ${measured4x.files} files for the 4x figure`,
        "the poll cycle runs in its own process, the emulators (dynalite, kinesalite, s3rver) in another: peak RSS, heap and poller CPU are the poller's own; rows_per_cpu_s counts both processes",
      ],
      figures: [
        {
          figure: 'rows_per_s',
          value: rowsPerS,
          unit: 'rows/s',
          target: `>= ${TARGET_ROWS_PER_S}`,
          baseline: null,
          pass: rowsPerS >= TARGET_ROWS_PER_S,
        },
        {
          // Poller and emulators together: what the whole embedded stack costs per row.
          figure: 'rows_per_cpu_s',
          value: rowsPerCpuS,
          unit: 'rows/s',
          target: `>= ${TARGET_ROWS_PER_S}`,
          baseline: null,
          pass: rowsPerCpuS >= TARGET_ROWS_PER_S,
        },
        {
          figure: 'peak_rss_mib',
          value: measured.peakRssMib,
          unit: 'MiB',
          target: `< ${TARGET_PEAK_RSS_MIB}`,
          baseline: null,
          pass: measured.peakRssMib < TARGET_PEAK_RSS_MIB,
        },
        {
          figure: 'peak_rss_mib_4x',
          value: measured4x.peakRssMib,
          unit: 'MiB',
          target: `<= ${(measured.peakRssMib * 1.1).toFixed(1)} (1x + 10%)`,
          baseline: measured.peakRssMib,
          pass: growth <= 1.1 && measured4x.peakRssMib < TARGET_PEAK_RSS_MIB,
        },
        {
          figure: 'putrecords_calls_per_1000_rows',
          value: callsPer1000,
          unit: 'calls',
          target: '<= 2 (500 records per call)',
          baseline: null,
          pass: callsPer1000 <= 2,
        },
      ],
      results: {
        rows: measured.rows,
        rows_per_s: rowsPerS,
        peak_rss_mib: Number(measured.peakRssMib.toFixed(1)),
        peak_rss_mib_4x: Number(measured4x.peakRssMib.toFixed(1)),
        putrecords_calls_per_1000_rows: callsPer1000,
        order_item_rows: measured.orderItemRows,
        rows_4x: measured4x.rows,
        rows_per_cpu_s: rowsPerCpuS,
        records_put: measured.recordsPut,
        seconds: Number(measured.seconds.toFixed(1)),
        seconds_4x: Number(measured4x.seconds.toFixed(1)),
        poller_cpu_seconds: Number(measured.cpuSeconds.toFixed(1)),
        emulators_cpu_seconds: Number(stackCpuSeconds.toFixed(1)),
        peak_heap_mib: Number(measured.peakHeapMib.toFixed(1)),
        peak_heap_mib_4x: Number(measured4x.peakHeapMib.toFixed(1)),
        live_heap_mib: Number(measured.liveHeapMib.toFixed(1)),
        live_heap_mib_4x: Number(measured4x.liveHeapMib.toFixed(1)),
        emulators_peak_rss_mib: Number(measured.stack.peakRssMib.toFixed(1)),
        ...Object.fromEntries(
          Object.entries(measured.phaseSeconds).map(([phase, seconds]) => [
            `files_${phase}_seconds`,
            seconds,
          ]),
        ),
      },
    };
  },
};

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly && process.argv[2] === 'stack') await stackMain();
if (invokedDirectly && process.argv[2] === 'poll') {
  await pollMain(process.argv[3]!, JSON.parse(process.argv[4]!) as LocalEndpoints);
}
