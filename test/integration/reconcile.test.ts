/**
 * `tillstream reconcile` (issue #7 "Done when"): after a clean run over a messy generated chain the
 * independent DuckDB recomputation from the raw layer agrees with every aggregates item and every
 * mart cell; a single cent planted in one aggregates item, or in one cell of the published
 * snapshot, is reported as exactly that item or cell, with both values; the command exits 1 on it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateChain } from '../../ingest/generator/index.js';
import { manifestKey, readManifest, type SnapshotManifest } from '../../processors/compaction/snapshot.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import {
  type Difference,
  parseMartCsv,
  type ReconcileReport,
  reconcile,
} from '../../processors/reconcile/index.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import { main } from '../../shared/cli/main.js';
import { loadSettings } from '../../shared/config.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { resourceNames } from '../../shared/resources.js';

const START = '2023-03-06';
const AS_OF = '2023-03-09';

/**
 * Runs the CLI's `main` in this process (the command's real action, its own context and stack on
 * the given state) with only the settings' defaults; resolves to its exit code and output.
 */
async function tillstream(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const text = (chunk: string | Uint8Array): string =>
    typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const saved = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name.startsWith('TILLSTREAM_')),
  );
  for (const name of Object.keys(saved)) delete process.env[name];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += text(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += text(chunk);
    return true;
  });
  try {
    const code = await main(['node', 'tillstream', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    Object.assign(process.env, saved);
  }
}

const describeDifferences = (report: ReconcileReport): string =>
  report.differences.map((difference) => JSON.stringify(difference)).join('\n');

describe('tillstream reconcile', () => {
  const settings = loadSettings({});
  const names = resourceNames(settings, {});
  let work: string;
  let stateDir: string;
  let stack: LocalStack | undefined;
  let clients: AwsClients | undefined;

  const stopStack = async (): Promise<void> => {
    clients?.destroy();
    clients = undefined;
    await stack?.stop();
    stack = undefined;
  };
  const run = (): Promise<ReconcileReport> =>
    reconcile({ clients: clients!, names, settings, workDir: work, asOf: AS_OF });

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tillstream-reconcile-'));
    stateDir = path.join(work, 'state');
    stack = await startLocalStack({ stateDir });
    await bootstrapLocalResources(stack.endpoints, names, { shardCount: 2 });
    clients = createClients({ kind: 'local', endpoints: stack.endpoints });
    const input = path.join(work, 'input');
    // Messy: duplicates, conflicting duplicates, options before and after their lines, test-app rows.
    await generateChain({
      outDir: input,
      locations: 2,
      days: 4,
      seed: 23,
      startDate: START,
      ordersPerLocationDay: 10,
      profile: 'messy',
    });
    await runPipeline(clients, names, settings, { input, asOf: AS_OF, codeVersion: 'test' });
  });

  afterAll(async () => {
    await stopStack();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('finds no difference after a clean run', async () => {
    // Act
    const report = await run();

    // Assess
    expect(report.differences, describeDifferences(report)).toEqual([]);
    expect(report.snapshotRunId).not.toBeNull();
    expect(report.rawFiles).toBeGreaterThan(4);
    expect(report.unfinishedFiles).toBe(0);
    // Location totals, location days, chain days and customer months of 2 locations over 4 days.
    expect(report.checkedItems).toBeGreaterThan(2 + 8 + 4);
    expect(report.checkedMartRows).toBeGreaterThan(0);
    expect(report.recomputation.rowOutcomes['order_items']?.['duplicate']).toBeGreaterThan(0);
  });

  it('reports a cent added to one aggregates item as exactly that item and field', async () => {
    // Prepare: one chain day, one cent more net revenue than its orders hold.
    const key = { pk: 'ALL', sk: `D#${AS_OF}` };
    const before = await clients!.doc.send(
      new GetCommand({ TableName: names.aggregatesTable, Key: key, ConsistentRead: true }),
    );
    const netCents = Number(before.Item?.['n']);
    expect(netCents).toBeGreaterThan(0);
    const addCents = (cents: number) =>
      clients!.doc.send(
        new UpdateCommand({
          TableName: names.aggregatesTable,
          Key: key,
          UpdateExpression: 'ADD n :cents',
          ExpressionAttributeValues: { ':cents': cents },
        }),
      );
    await addCents(1);

    try {
      // Act
      const corrupted = await run();

      // Assess
      expect(corrupted.differences).toEqual([
        {
          scope: 'aggregate',
          item: `ALL / D#${AS_OF}`,
          field: 'netCents',
          expected: String(netCents),
          actual: String(netCents + 1),
        },
      ] satisfies Difference[]);
    } finally {
      await addCents(-1);
    }
  });

  it('reports a cent changed in one mart cell as exactly that cell, and the command exits 1 on it', async () => {
    // Prepare: the first location's revenue in the published location_performance CSV, one cent up.
    const manifest = (await readManifest({ s3: clients!.s3, bucket: names.martsBucket, asOf: AS_OF }))!;
    const file = manifest.files.find(
      (entry) => entry.mart === 'location_performance' && entry.format === 'csv',
    )!;
    const object = await clients!.s3.send(new GetObjectCommand({ Bucket: names.martsBucket, Key: file.key }));
    const original = await object.Body!.transformToString('utf8');
    const mart = parseMartCsv('location_performance', original);
    const revenueColumn = mart.columns.indexOf('revenue');
    const row = mart.rows[0]!;
    const revenue = row[revenueColumn]!;
    const [dollars, cents] = revenue.split('.').map(Number) as [number, number];
    const raised = ((dollars * 100 + cents + 1) / 100).toFixed(2);
    const corruptedRow = row.map((cell, index) => (index === revenueColumn ? raised : cell)).join(',');
    const corruptedCsv = original.replace(`${row.join(',')}\n`, `${corruptedRow}\n`);
    expect(corruptedCsv).not.toBe(original);
    await clients!.s3.send(
      new PutObjectCommand({ Bucket: names.martsBucket, Key: file.key, Body: corruptedCsv }),
    );
    const cellDifference: Difference = {
      scope: 'mart',
      item: `location_performance / location_id=${row[0]}`,
      field: 'revenue',
      expected: revenue,
      actual: raised,
    };

    // Act: the manifest's checksum no longer matches the file.
    const unsigned = await run();

    // Assess
    expect(unsigned.differences).toEqual([
      {
        scope: 'mart',
        item: 'location_performance / (file)',
        field: 'sha256',
        expected: file.sha256,
        actual: createHash('sha256').update(corruptedCsv).digest('hex'),
      },
      cellDifference,
    ]);

    // Act: the checksum rewritten too, as a careful forger would.
    const forged: SnapshotManifest = {
      ...manifest,
      files: manifest.files.map((entry) =>
        entry === file
          ? {
              ...entry,
              sha256: createHash('sha256').update(corruptedCsv).digest('hex'),
              bytes: Buffer.byteLength(corruptedCsv),
            }
          : entry,
      ),
    };
    await clients!.s3.send(
      new PutObjectCommand({
        Bucket: names.martsBucket,
        Key: manifestKey(AS_OF),
        Body: `${JSON.stringify(forged, null, 2)}\n`,
      }),
    );
    const forgedReport = await run();

    // Assess
    expect(forgedReport.differences).toEqual([cellDifference]);

    // Act: the command, opening its own stack on the same state once the test's is stopped.
    await stopStack();
    const badUsage = await tillstream(['--state-dir', stateDir, 'reconcile', '--limit', 'many']);
    const result = await tillstream(['--state-dir', stateDir, 'reconcile']);

    // Assess
    expect(badUsage.code).toBe(2);
    expect(badUsage.stderr).toContain('--limit must be a whole number');
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain(`reconcile as of ${AS_OF}`);
    expect(result.stdout).toMatch(/mart rows checked: [\d,]+; differences: 1\n/);
    expect(result.stdout).toMatch(/aggregates items checked: [\d,]+; differences: 0\n/);
    const tableLine = result.stdout.split('\n').find((line) => line.startsWith('location_performance'));
    expect(tableLine?.split(/\s{2,}/)).toEqual([cellDifference.item, 'revenue', revenue, raised]);
    expect(result.stderr).toContain('reconcile found 1 difference(s)');
  });
});
