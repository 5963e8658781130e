/**
 * `npm run bench`: runs every stage's benchmark in sequence (a progress line per stage on stderr),
 * prints one table (figure, value, target, baseline, ratio, pass) and writes `bench-results.json`:
 * the stable keys of the issues (`parse`, `ingest`, `process`, `compact`, `e2e`, every value a
 * number), `machine` (cores, memory, Node version) and `runs` (when each stage ran, how long, on
 * what input). `npm run bench -- parse compact` runs only the named stages; the keys of the
 * others are kept from the previous file. Exit code 1 when a figure misses its target or a key
 * is missing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchModule, BenchReport } from './registry.js';
import {
  describeMachine,
  formatTable,
  mergeResults,
  reportProblems,
  resultProblems,
  STAGES,
  type StageRun,
  stageRows,
  type TableRow,
} from './report.js';

// The stages load the SDK lazily and spawn children: silence its notice that 2027 releases need
// Node 22 everywhere, as the CLI shim and vitest do.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** Every benchmark, by name; each loads lazily so one failing import does not stop the others. */
const registry: Readonly<Record<string, () => Promise<BenchModule>>> = {
  parse: async () => (await import('./parse.js')).parseBench,
  ingest: async () => (await import('./ingest.js')).ingestBench,
  process: async () => (await import('./process.js')).processBench,
  compact: async () => (await import('./compact.js')).compactBench,
  e2e: async () => (await import('./e2e.js')).e2eBench,
};

const resultsPath = fileURLToPath(new URL('../../bench-results.json', import.meta.url));

function readPrevious(): Record<string, unknown> {
  if (!existsSync(resultsPath)) return {};
  try {
    return JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : [...STAGES];
  const unknown = names.filter((name) => !(name in registry));
  if (unknown.length > 0) {
    throw new Error(`unknown bench(es) ${unknown.join(', ')}; known: ${Object.keys(registry).join(', ')}`);
  }
  const machine = describeMachine({
    cpus: os.cpus(),
    totalMemoryBytes: os.totalmem(),
    nodeVersion: process.version,
    platform: os.platform(),
    arch: os.arch(),
    loadAverage: os.loadavg(),
  });
  console.error(
    `bench: ${names.join(', ')} on ${machine.cores} cores (${machine.cpu_model}), ${machine.memory_mib} MiB, ` +
      `Node ${machine.node}, load ${machine.load_average_1m}`,
  );
  const runStarted = performance.now();
  const ran: Record<string, { report: BenchReport; run: StageRun }> = {};
  const rows: TableRow[] = [];
  let failed = false;
  for (const [index, name] of names.entries()) {
    const startedAt = new Date();
    const started = performance.now();
    console.error(`bench [${index + 1}/${names.length}] ${name}: running…`);
    let report: BenchReport;
    try {
      report = await (await registry[name]!()).run();
    } catch (error) {
      failed = true;
      console.error(`bench [${index + 1}/${names.length}] ${name}: FAILED`, error);
      continue;
    }
    const seconds = (performance.now() - started) / 1000;
    const problems = reportProblems(name, report);
    for (const problem of problems) console.error(`bench ${name}: ${problem}`);
    if (problems.length > 0) failed = true;
    for (const note of report.notes ?? []) console.error(`bench ${name}: ${note}`);
    console.error(
      `bench [${index + 1}/${names.length}] ${name}: done in ${seconds.toFixed(1)} s ` +
        `(${((performance.now() - runStarted) / 1000).toFixed(1)} s so far)`,
    );
    ran[name] = {
      report,
      run: {
        started_at: startedAt.toISOString(),
        seconds: Number(seconds.toFixed(1)),
        notes: report.notes ?? [],
      },
    };
    // Written after every stage, so a later failure keeps what was measured.
    const merged = mergeResults(readPrevious(), machine, ran);
    writeFileSync(resultsPath, `${JSON.stringify(merged, null, 2)}\n`);
    const stageTable = stageRows(name, report);
    rows.push(...stageTable);
    if (stageTable.some((row) => row.pass === false)) failed = true;
  }
  const totalSeconds = (performance.now() - runStarted) / 1000;
  console.log(formatTable(rows));
  console.log(
    `\n${names.length} stage(s) in ${totalSeconds.toFixed(1)} s on ${machine.cores} cores, ` +
      `${machine.memory_mib} MiB, Node ${machine.node}; results in ${resultsPath}`,
  );
  const problems = resultProblems(readPrevious());
  for (const problem of problems) console.error(`bench-results.json: ${problem}`);
  // A partial run leaves the other stages to the previous file (or absent): only a full run must be complete.
  if (failed || (wanted.length === 0 && problems.length > 0)) process.exitCode = 1;
}

await main();
