/**
 * `tillstream status` on the embedded stack: a small generated chain ingested, processed and
 * compacted, one location's file for one date withheld. The real clock is used (the CLI has no
 * other), so the chain's dates are placed relative to today; the CLI runs in-process last, over the
 * same state folder once the test's own stack is stopped.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { addDays, toLocalTime } from '../../aggregates/time.js';
import { FilesPer, generateChain } from '../../ingest/generator/index.js';
import { PollerState } from '../../ingest/state.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import { collectStatus } from '../../processors/status/collect.js';
import type { StatusReport } from '../../processors/status/report.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import { main } from '../../shared/cli/main.js';
import { loadSettings } from '../../shared/config.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { resourceNames } from '../../shared/resources.js';

/** Runs the CLI in-process; its exit code and what it wrote to stdout. */
async function cli(args: readonly string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(['node', 'tillstream', ...args]);
    return { code, stdout };
  } finally {
    write.mockRestore();
    quiet.mockRestore();
  }
}

describe('tillstream status', () => {
  let workDir: string;
  let stateDir: string;
  let withheld: { locationId: string; localDate: string };
  let stack: LocalStack | undefined;
  let clients: AwsClients;
  const settings = loadSettings({});
  const names = resourceNames(settings);
  /** The instant "today" was read at: status is asked as of then, so a local midnight passing mid-test changes nothing. */
  let preparedAtMs: number;
  const status = () => collectStatus({ clients, names, settings, nowMs: preparedAtMs });

  beforeAll(async () => {
    // Prepare: 3 locations, the 4 days up to today in the chain's zone (today's and yesterday's
    // files are in, whatever the hour); one location's file of today − 2 stays out of the input.
    workDir = await mkdtemp(join(tmpdir(), 'tillstream-status-'));
    stateDir = join(workDir, 'state');
    preparedAtMs = Date.now();
    const today = toLocalTime(preparedAtMs, settings.chainTimeZone).localDate;
    const generated = join(workDir, 'generated');
    await generateChain({
      outDir: generated,
      locations: 3,
      days: 4,
      seed: 8,
      startDate: addDays(today, -3),
      ordersPerLocationDay: 6,
      profile: 'clean',
      filesPer: FilesPer.LocationDay,
    });
    const withheldDate = addDays(today, -2);
    const [withheldLocation] = (await readdir(join(generated, withheldDate))).sort();
    withheld = { locationId: withheldLocation!, localDate: withheldDate };
    const input = join(workDir, 'input');
    await cp(generated, input, {
      recursive: true,
      filter: (source) => source !== join(generated, withheldDate, withheldLocation!),
    });
    stack = await startLocalStack({ stateDir });
    await bootstrapLocalResources(stack.endpoints, names, { shardCount: settings.shardCount });
    clients = createClients({ kind: 'local', endpoints: stack.endpoints });
    await runPipeline(clients, names, settings, {
      input,
      asOf: addDays(today, -1),
      codeVersion: 'test',
      clock: Date.now,
    });
  });
  afterAll(async () => {
    clients?.destroy();
    await stack?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('reports exactly the withheld upload, and nothing else needs attention', async () => {
    // Act
    const report = await status();
    // Assess
    expect(report.healthy).toBe(false);
    expect(report.uploads.locationsChecked).toBe(3);
    expect(report.uploads.missing.map(({ locationId, localDate }) => ({ locationId, localDate }))).toEqual([
      withheld,
    ]);
    expect(report.attention).toEqual([
      expect.stringContaining(`missing upload: location ${withheld.locationId}, ${withheld.localDate}`),
    ]);
    expect(report.poll.lastPollAt).not.toBeNull();
    expect(report.shards.length).toBeGreaterThan(0);
    // Every shard caught up: its lag, read from the stream, is 0
    expect(report.shards.map((shard) => shard.lagMs)).toEqual(report.shards.map(() => 0));
    expect(report.snapshot.latestDate).toBe(report.snapshot.expectedDate);
    expect(report.tables.find((table) => table.table === names.aggregatesTable)?.items).toBeGreaterThan(0);
  });

  it('does not report a day the location is marked closed; a removed closure brings it back', async () => {
    // Prepare
    const state = new PollerState(clients.doc, names.stateTable);
    await state.putClosure({
      locationId: withheld.locationId,
      from: withheld.localDate,
      to: withheld.localDate,
      createdAt: new Date().toISOString(),
    });
    // Act
    const closed = await status();
    const removed = await state.deleteClosure(withheld.locationId, withheld.localDate);
    const reopened = await status();
    // Assess
    expect(closed.uploads.missing).toEqual([]);
    expect(closed.attention).toEqual([]);
    expect(closed.healthy).toBe(true);
    expect(removed).toBe(true);
    expect(reopened.uploads.missing).toHaveLength(1);
  });

  it('exits 0 when healthy and 1 when something needs attention, through the CLI', async () => {
    // Prepare: the CLI starts its own stack over the same state folder.
    clients.destroy();
    await stack?.stop();
    stack = undefined;
    const unhealthy = await cli(['--state-dir', stateDir, 'status']);
    const closed = await cli([
      '--state-dir',
      stateDir,
      'closure',
      'add',
      withheld.locationId,
      withheld.localDate,
      '--note',
      'test',
    ]);
    // Act
    const healthy = await cli(['--state-dir', stateDir, 'status', '--json']);
    // Assess
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.stdout).toContain('Needs attention');
    expect(unhealthy.stdout).toContain(
      `missing upload: location ${withheld.locationId}, ${withheld.localDate}`,
    );
    expect(closed.code).toBe(0);
    const report = JSON.parse(healthy.stdout) as StatusReport;
    expect(healthy.code).toBe(0);
    expect(report.attention).toEqual([]);
    expect(report.uploads.closures).toMatchObject([{ locationId: withheld.locationId, note: 'test' }]);
  });
});
