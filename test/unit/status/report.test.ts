import { describe, expect, it } from 'vitest';
import { closureFrom } from '../../../processors/status/cli.js';
import {
  dateRanges,
  formatStatus,
  type StatusFacts,
  statusReport,
  TableCount,
} from '../../../processors/status/report.js';
import { CliError } from '../../../shared/cli/errors.js';

const healthy: StatusFacts = {
  generatedAt: '2024-06-20T16:00:00.000Z',
  target: 'local',
  poll: { lastPollAt: '2024-06-20T15:59:00.000Z', lastPollFiles: 2, lastPollErrors: [], filesWaiting: [] },
  rows: {
    pendingOptions: 1,
    oldestPendingSince: '2024-06-20T15:00:00.000Z',
    quarantineSince: '2024-06-13',
    quarantinedRows: 0,
    quarantinedByReason: {},
    quarantineFiles: [],
    filesSetAside: [],
  },
  shards: [
    {
      shardId: 'shardId-000',
      lagMs: 0,
      checkpoint: '4960',
      checkpointAt: null,
      updatedAt: null,
      done: false,
      error: null,
    },
    {
      shardId: 'shardId-001',
      lagMs: null,
      checkpoint: null,
      checkpointAt: null,
      updatedAt: null,
      done: true,
      error: null,
    },
  ],
  maxShardLagMs: 60_000,
  poisonRecords: 0,
  snapshot: {
    expectedDate: '2024-06-19',
    latestDate: '2024-06-19',
    runId: 'r1',
    codeVersion: 'test',
    files: 12,
    rowCounts: { customer_metrics: 10 },
  },
  uploads: {
    dueLocalTime: '10:00',
    dueDaysAfter: 1,
    lookbackDays: 7,
    locationsChecked: 2,
    missing: [],
    closures: [],
  },
  tables: [{ table: 'tillstream-state', items: 10, countedBy: TableCount.Scan, capped: false }],
};

describe('status report', () => {
  it('is healthy with nothing to attend to (pending options and done shards are normal)', () => {
    // Act
    const report = statusReport(healthy);
    // Assess
    expect(report.attention).toEqual([]);
    expect(report.healthy).toBe(true);
    expect(formatStatus(report)).toContain(': OK');
  });

  it('lists one attention item per problem', () => {
    // Prepare
    const facts: StatusFacts = {
      ...healthy,
      poll: {
        ...healthy.poll,
        lastPollErrors: [{ path: 'a.csv', message: 'timeout' }],
        filesWaiting: [{ path: 'b.csv', arrivedAt: healthy.generatedAt }],
      },
      rows: {
        ...healthy.rows,
        quarantinedRows: 3,
        quarantinedByReason: { bad_number: 1, missing_field: 2 },
        quarantineFiles: [{ path: 'c.csv', rows: 3 }],
        filesSetAside: [
          { path: 'd.csv', status: 'rejected', message: 'missing_column: lacks the column(s) CURRENCY' },
        ],
      },
      shards: [
        { ...healthy.shards[0]!, lagMs: 60_001 },
        { ...healthy.shards[0]!, shardId: 'shardId-002', error: 'ThrottlingException: Rate exceeded' },
      ],
      poisonRecords: 2,
      snapshot: { ...healthy.snapshot, latestDate: '2024-06-18' },
      uploads: {
        ...healthy.uploads,
        missing: [{ locationId: 'ny01', localDate: '2024-06-18', dueAt: '2024-06-19T14:00:00.000Z' }],
      },
    };
    // Act
    const report = statusReport(facts);
    // Assess
    expect(report.healthy).toBe(false);
    expect(report.attention).toEqual([
      'last poll could not read a.csv: timeout',
      '1 file(s) landed but not finished (next poll resumes them): b.csv',
      'file d.csv set aside whole (rejected): missing_column: lacks the column(s) CURRENCY',
      '3 row(s) quarantined in files since 2024-06-13 (bad_number 1, missing_field 2)',
      'shard shardId-000 is 60001 ms behind (max 60000)',
      'shard shardId-002 is failing: ThrottlingException: Rate exceeded',
      '2 poison record(s) set aside by the processors',
      'no snapshot for 2024-06-19 (latest: 2024-06-18)',
      'missing upload: location ny01, 2024-06-18 (due 2024-06-19T14:00:00.000Z)',
    ]);
    const text = formatStatus(report);
    expect(text).toContain('ATTENTION (9)');
    expect(text).toContain('    d.csv (rejected): missing_column: lacks the column(s) CURRENCY');
    expect(text).toContain('ny01');
    expect(text).toMatch(/shardId-002\s+0\s+.*FAILING/);
  });

  it('needs attention before the first poll and the first processed shard', () => {
    // Act
    const report = statusReport({
      ...healthy,
      poll: { ...healthy.poll, lastPollAt: null, lastPollFiles: null },
      shards: [],
      snapshot: { ...healthy.snapshot, latestDate: null },
    });
    // Assess
    expect(report.attention).toEqual([
      'no poll has run yet',
      'no shard has been processed yet',
      'no snapshot for 2024-06-19 (latest: none)',
    ]);
  });

  it('needs attention when the stream lists shards that nobody has consumed', () => {
    // Act: shards as read from the stream, with no checkpoint and no status item
    const unconsumed = { checkpoint: null, checkpointAt: null, updatedAt: null, done: false, error: null };
    const report = statusReport({
      ...healthy,
      shards: [
        { ...unconsumed, shardId: 'shardId-000', lagMs: 0 },
        { ...unconsumed, shardId: 'shardId-001', lagMs: 0 },
      ],
    });
    // Assess: until a consumer has reached one (an empty shard then has a status item)
    expect(report.attention).toEqual(['no shard has been processed yet']);
    const reached = statusReport({
      ...healthy,
      shards: [
        { ...unconsumed, shardId: 'shardId-000', lagMs: 0, updatedAt: '2024-06-19T08:00:00.000Z' },
        { ...unconsumed, shardId: 'shardId-001', lagMs: 0 },
      ],
    });
    expect(reached.attention).toEqual([]);
  });
});

describe('missing uploads in the attention list', () => {
  it('gives one line per location, its dates as runs of days', () => {
    // Prepare: ny01 missed five days (a gap in them), bos02 one
    const gap = (locationId: string, localDate: string) => ({
      locationId,
      localDate,
      dueAt: `${localDate}T14:00:00.000Z`,
    });
    const missing = [
      ...['2024-06-12', '2024-06-13', '2024-06-14', '2024-06-17', '2024-06-18'].map((date) =>
        gap('ny01', date),
      ),
      gap('bos02', '2024-06-18'),
    ];
    // Act
    const report = statusReport({ ...healthy, uploads: { ...healthy.uploads, missing } });
    // Assess: the table below still lists every day
    expect(report.attention).toEqual([
      'missing uploads: location ny01, 5 days: 2024-06-12…2024-06-14, 2024-06-17…2024-06-18',
      'missing upload: location bos02, 2024-06-18 (due 2024-06-18T14:00:00.000Z)',
    ]);
    expect(formatStatus(report).match(/^\s+ny01\s/gm)).toHaveLength(5);
  });

  it('joins consecutive dates across a month end and keeps a repeated date once', () => {
    expect(dateRanges(['2024-03-01', '2024-02-28', '2024-02-29', '2024-02-29', '2024-03-05'])).toBe(
      '2024-02-28…2024-03-01, 2024-03-05',
    );
  });
});

describe('closureFrom', () => {
  it('makes a one-day closure by default and a range with --to', () => {
    expect(closureFrom('ny01', '2024-12-25', {}, 0)).toEqual({
      locationId: 'ny01',
      from: '2024-12-25',
      to: '2024-12-25',
      createdAt: '1970-01-01T00:00:00.000Z',
    });
    expect(closureFrom('ALL', '2024-12-24', { to: '2024-12-26', note: 'holidays' }, 0)).toMatchObject({
      to: '2024-12-26',
      note: 'holidays',
    });
  });

  it('refuses bad dates and reversed ranges', () => {
    expect(() => closureFrom('ny01', '2024-02-30', {}, 0)).toThrow(
      'the date must be a date YYYY-MM-DD (given "2024-02-30")',
    );
    expect(() => closureFrom('ny01', '2024-02-28', { to: '2024-13-01' }, 0)).toThrow(
      '--to must be a date YYYY-MM-DD (given "2024-13-01")',
    );
    expect(() => closureFrom('ny01', '2024-12-25', { to: '2024-12-24' }, 0)).toThrow(CliError);
    expect(() => closureFrom('', '2024-12-25', {}, 0)).toThrow(CliError);
  });
});
