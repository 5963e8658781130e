/**
 * `npm run bench`: runs every registered benchmark in sequence, prints one table and merges each
 * module's results into `bench-results.json` (keys written by other benchmarks are kept).
 * `npm run bench -- parse` runs only the named modules.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchFigure, BenchModule } from './registry.js';

/** Every benchmark, by name; each loads lazily so one failing import does not stop the others. */
const registry: Readonly<Record<string, () => Promise<BenchModule>>> = {
  parse: async () => (await import('./parse.js')).parseBench,
  compact: async () => (await import('./compact.js')).compactBench,
  ingest: async () => (await import('./ingest.js')).ingestBench,
  process: async () => (await import('./process.js')).processBench,
  e2e: async () => (await import('./e2e.js')).e2eBench,
};

const resultsPath = fileURLToPath(new URL('../../bench-results.json', import.meta.url));

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function printTable(rows: readonly { module: string; figure: BenchFigure }[]): void {
  const lines = [['figure', 'value', 'target', 'baseline', 'ratio', 'pass']];
  for (const { module, figure } of rows) {
    lines.push([
      `${module}.${figure.figure}`,
      `${formatNumber(figure.value)} ${figure.unit}`,
      figure.target,
      figure.baseline === null ? '' : `${formatNumber(figure.baseline)} ${figure.unit}`,
      figure.baseline === null || figure.baseline === 0 ? '' : (figure.value / figure.baseline).toFixed(2),
      figure.pass ? 'yes' : 'NO',
    ]);
  }
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  for (const line of lines) console.log(line.map((cell, column) => cell.padEnd(widths[column]!)).join(' | '));
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(registry);
  const unknown = names.filter((name) => !(name in registry));
  if (unknown.length > 0)
    throw new Error(`unknown bench(es) ${unknown.join(', ')}; known: ${Object.keys(registry).join(', ')}`);
  const rows: { module: string; figure: BenchFigure }[] = [];
  const merged: Record<string, unknown> = existsSync(resultsPath)
    ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>)
    : {};
  let failed = false;
  for (const name of names) {
    const bench = await registry[name]!();
    console.error(`bench ${name}: running…`);
    const report = await bench.run();
    merged[name] = report.results;
    for (const figure of report.figures) {
      rows.push({ module: name, figure });
      if (!figure.pass) failed = true;
    }
    writeFileSync(resultsPath, `${JSON.stringify(merged, null, 2)}\n`);
  }
  printTable(rows);
  if (failed) process.exitCode = 1;
}

await main();
