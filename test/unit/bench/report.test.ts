import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/registry.js';
import {
  describeMachine,
  formatNumber,
  formatTable,
  type MachineInfo,
  mergeResults,
  REQUIRED_KEYS,
  ratio,
  reportProblems,
  resultProblems,
  STAGES,
  type StageRun,
  stageRows,
} from '../../bench/report.js';
import { BenchSettingError, positiveIntegerSetting } from '../../bench/settings.js';

const machine: MachineInfo = {
  cores: 2,
  memory_mib: 7_958,
  node: 'v20.19.5',
  cpu_model: 'Test CPU',
  os: 'linux x64',
  load_average_1m: 0.5,
};

const run: StageRun = { started_at: '2026-01-25T03:15:00.000Z', seconds: 12.5, notes: [] };

/** A report holding every required key of `stage`, each with a distinct value. */
function completeReport(stage: (typeof STAGES)[number]): BenchReport {
  const results: Record<string, number> = {};
  REQUIRED_KEYS[stage].forEach((key, index) => {
    results[key] = index + 1.5;
  });
  return { figures: [], results };
}

function completeFile(): Record<string, unknown> {
  const stages: Record<string, { report: BenchReport; run: StageRun }> = {};
  for (const stage of STAGES) stages[stage] = { report: completeReport(stage), run };
  return mergeResults({}, machine, stages);
}

describe('describeMachine', () => {
  it('reads cores, memory in MiB and the Node version', () => {
    // Prepare
    const facts = {
      cpus: [{ model: ' Test CPU @ 2.0GHz ' }, { model: 'Test CPU @ 2.0GHz' }],
      totalMemoryBytes: 8 * 2 ** 30,
      nodeVersion: 'v20.19.5',
      platform: 'linux',
      arch: 'x64',
      loadAverage: [1.234, 1, 1],
    };

    // Act
    const described = describeMachine(facts);

    // Assess
    expect(described).toEqual({
      cores: 2,
      memory_mib: 8_192,
      node: 'v20.19.5',
      cpu_model: 'Test CPU @ 2.0GHz',
      os: 'linux x64',
      load_average_1m: 1.23,
    });
  });
});

describe('stageRows', () => {
  it('computes ratio = value / baseline and adds a row for every required key the figures omit', () => {
    // Prepare
    const report: BenchReport = {
      figures: [
        {
          figure: 'seconds',
          value: 6,
          unit: 's',
          target: '<= 10',
          baseline: 4,
          pass: true,
        },
      ],
      results: {
        customers: 1_000_000,
        seconds: 6,
        peak_rss_mib: 900,
        duckdb_seconds: 4,
        ratio_vs_duckdb: 1.5,
        stack_customers: 20_000,
        stack_seconds: 70,
      },
    };

    // Act
    const rows = stageRows('compact', report);

    // Assess
    expect(rows[0]).toEqual({
      figure: 'compact.seconds',
      value: 6,
      unit: 's',
      target: '<= 10',
      baseline: 4,
      ratio: 1.5,
      pass: true,
    });
    expect(rows.map((row) => row.figure)).toEqual(
      ['seconds', ...REQUIRED_KEYS.compact.filter((key) => key !== 'seconds')].map((key) => `compact.${key}`),
    );
    expect(rows.find((row) => row.figure === 'compact.stack_seconds')).toMatchObject({
      value: 70,
      target: '',
      baseline: null,
      ratio: null,
      pass: null,
    });
  });

  it('has no ratio without a baseline or with a zero baseline', () => {
    expect(ratio(5, null)).toBeNull();
    expect(ratio(5, 0)).toBeNull();
    expect(ratio(1.999, 4.91)).toBeCloseTo(0.4071, 4);
  });
});

describe('formatTable', () => {
  it('prints one aligned table with figure, value, target, baseline, ratio and pass', () => {
    // Prepare
    const rows = stageRows('process', {
      figures: [
        {
          figure: 'writes_per_order',
          value: 1.999,
          unit: 'writes',
          target: '<= 2.0',
          baseline: 4.91,
          pass: true,
        },
        {
          figure: 'freshness_p99_ms',
          value: 1_518,
          unit: 'ms',
          target: '<= 1000',
          baseline: null,
          pass: false,
        },
      ],
      results: { writes_per_order: 1.999, freshness_p99_ms: 1_518 },
    });

    // Act
    const lines = formatTable(rows).split('\n');

    // Assess
    expect(lines).toHaveLength(4);
    expect(lines[0]!.split('|').map((cell) => cell.trim())).toEqual([
      'figure',
      'value',
      'target',
      'baseline',
      'ratio',
      'pass',
    ]);
    expect(lines[1]).toMatch(/^-+-\|-/);
    expect(lines[2]!.split('|').map((cell) => cell.trim())).toEqual([
      'process.writes_per_order',
      '1.999 writes',
      '<= 2.0',
      '4.91 writes',
      '0.41',
      'yes',
    ]);
    expect(lines[3]!.split('|').map((cell) => cell.trim())).toEqual([
      'process.freshness_p99_ms',
      '1,518 ms',
      '<= 1000',
      '–',
      '–',
      'NO',
    ]);
    // Every separator sits at the same column on every line.
    const separators = (line: string) => [...line.matchAll(/\|/g)].map((match) => match.index);
    expect(separators(lines[2]!)).toEqual(separators(lines[0]!));
    expect(separators(lines[3]!)).toEqual(separators(lines[0]!));
  });

  it('formats integers with separators and keeps 3 decimals below 1,000 so 1.999 is not rounded to 2', () => {
    expect(formatNumber(1_234_567)).toBe('1,234,567');
    expect(formatNumber(1_234.56)).toBe('1,234.6');
    expect(formatNumber(6.6123)).toBe('6.612');
    expect(formatNumber(1.999)).toBe('1.999');
    expect(formatNumber(0.40712)).toBe('0.407');
  });
});

describe('the results file', () => {
  it('holds every stage, every required key, the machine and when each stage ran', () => {
    // Act
    const file = completeFile();

    // Assess
    expect(resultProblems(file)).toEqual([]);
    for (const stage of STAGES) {
      const figures = file[stage] as Record<string, unknown>;
      expect(Object.keys(figures)).toEqual(expect.arrayContaining([...REQUIRED_KEYS[stage]]));
      for (const value of Object.values(figures)) expect(Number.isFinite(value)).toBe(true);
    }
    expect(file['machine']).toEqual(machine);
    expect(Object.keys(file['runs'] as object).sort()).toEqual([...STAGES].sort());
  });

  it('names every missing stage, missing key, non-numeric figure and bad machine field', () => {
    // Prepare
    const file = completeFile();
    delete file['e2e'];
    const process = file['process'] as Record<string, unknown>;
    delete process['freshness_p99_ms'];
    const compact = file['compact'] as Record<string, unknown>;
    compact['seconds'] = null;
    compact['input'] = 'generator';
    compact['ratio_vs_duckdb'] = Number.NaN;
    file['machine'] = { ...machine, cores: 0, node: '20' };

    // Act
    const problems = resultProblems(file);

    // Assess
    expect(problems).toEqual([
      'process.freshness_p99_ms: missing',
      'compact.seconds: null is not a finite number',
      'compact.ratio_vs_duckdb: NaN is not a finite number',
      'compact.input: "generator" is not a finite number',
      'e2e: missing',
      'machine.cores: 0 is not a positive number',
      'machine.node: "20" is not a Node version',
    ]);
  });

  it('keeps the stages that did not run, with their own run entries, and replaces those that did', () => {
    // Prepare
    const previous = completeFile();
    const newRun: StageRun = { started_at: '2026-02-01T00:00:00.000Z', seconds: 3, notes: ['small'] };
    const parse: BenchReport = { figures: [], results: { ...completeReport('parse').results, rows: 42 } };

    // Act
    const merged = mergeResults(
      previous,
      { ...machine, cores: 4 },
      { parse: { report: parse, run: newRun } },
    );

    // Assess
    expect((merged['parse'] as Record<string, number>)['rows']).toBe(42);
    expect(merged['compact']).toEqual(previous['compact']);
    expect(merged.runs['parse']).toEqual(newRun);
    expect(merged.runs['compact']).toEqual(run);
    expect(merged.machine.cores).toBe(4);
    expect(resultProblems(merged)).toEqual([]);
  });

  it('reports a stage whose results or figures are not finite numbers before it is written', () => {
    // Prepare
    const report: BenchReport = {
      figures: [
        { figure: 'orders', value: Number.NaN, unit: '', target: '', baseline: Infinity, pass: null },
      ],
      results: { orders: Number.NaN, npm_start_seconds: 80 },
    };

    // Act
    const problems = reportProblems('e2e', report);

    // Assess
    expect(problems).toEqual([
      'e2e.orders: NaN is not a finite number',
      'e2e.orders: value is not finite',
      'e2e.orders: baseline is not finite',
    ]);
  });
});

describe('positiveIntegerSetting', () => {
  it('reads a positive integer, with underscores, and falls back when unset or empty', () => {
    expect(positiveIntegerSetting({ SIZE: '200_000' }, 'SIZE', 5)).toBe(200_000);
    expect(positiveIntegerSetting({}, 'SIZE', 5)).toBe(5);
    expect(positiveIntegerSetting({ SIZE: '' }, 'SIZE', 5)).toBe(5);
  });

  it('rejects anything else, naming the setting', () => {
    for (const given of ['0', '-3', '1.5', 'many']) {
      expect(() => positiveIntegerSetting({ SIZE: given }, 'SIZE', 5)).toThrow(BenchSettingError);
    }
    expect(() => positiveIntegerSetting({ SIZE: 'many' }, 'SIZE', 5)).toThrow(
      /SIZE must be a positive integer/,
    );
  });
});
