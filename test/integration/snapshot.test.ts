import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeMarts, type Marts } from '../../aggregates/marts/index.js';
import { SnapshotChecksumError, SnapshotNotFoundError } from '../../processors/compaction/errors.js';
import {
  exportSnapshot,
  manifestKey,
  readManifest,
  readSnapshotFile,
  writeSnapshot,
} from '../../processors/compaction/snapshot.js';
import { bootstrapLocalResources } from '../../shared/aws/bootstrap.js';
import { type AwsClients, createClients } from '../../shared/aws/clients.js';
import { type LocalStack, startLocalStack } from '../../shared/local/stack.js';
import { resourceNames } from '../../shared/resources.js';
import { customerDay, history, locationDay } from '../unit/marts/fixtures.js';

const names = resourceNames({ resourcePrefix: 'tillstream' });
const bucket = names.martsBucket;

function marts(asOf: string, extraCents = 0): Marts {
  return computeMarts({
    asOf,
    customers: [
      history('c1', [customerDay('2023-08-01', 1000 + extraCents, { loyaltyOrders: 1 })]),
      history('c2', [customerDay('2023-08-02', 500), customerDay('2023-08-20', 250)]),
    ],
    locationDays: [
      locationDay('loc-a', '2023-08-01', 1000 + extraCents),
      locationDay('loc-a', '2023-08-02', 500, {
        discountedOrders: 1,
        discountedNetCents: 500,
        discountedGrossCents: 600,
        grossCents: 600,
        discountCents: 100,
      }),
      locationDay('loc-b', '2023-08-20', 250),
    ],
    holidays: [],
  });
}

describe('mart snapshots on the local S3 (s3rver)', () => {
  let stateDir: string;
  let stack: LocalStack;
  let clients: AwsClients;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'tillstream-snapshot-'));
    stack = await startLocalStack({ stateDir });
    await bootstrapLocalResources(stack.endpoints, names, { shardCount: 1 });
    clients = createClients({ kind: 'local', endpoints: stack.endpoints });
  });
  afterAll(async () => {
    clients?.destroy();
    await stack?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('writes every mart as CSV and Parquet, then a manifest with row counts and checksums', async () => {
    // Act
    const written = await writeSnapshot({
      s3: clients.s3,
      bucket,
      asOf: '2023-08-31',
      runId: 'run-1',
      marts: marts('2023-08-31'),
      checkpoints: [
        { shardId: 'shardId-000000000000', sequenceNumber: '49640000000000000000000000000000000000001' },
      ],
      codeVersion: '0.1.0+test',
    });

    // Assess
    const manifest = await readManifest({ s3: clients.s3, bucket, asOf: '2023-08-31' });
    expect(manifest).toEqual(written);
    expect(manifest!.files).toHaveLength(12);
    expect(manifest!.rowCounts.customer_metrics).toBe(2);
    expect(manifest!.rowCounts.loyalty_impact).toBe(3);
    expect(manifest!.checkpoints[0]!.sequenceNumber).toBe('49640000000000000000000000000000000000001');
    const csvFile = manifest!.files.find(
      (file) => file.mart === 'customer_metrics' && file.format === 'csv',
    )!;
    expect(csvFile.key).toBe(
      'marts/customer_metrics/snapshot_date=2023-08-31/run_id=run-1/customer_metrics.csv',
    );
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: csvFile.key }));
    const bytes = await object.Body!.transformToByteArray();
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(csvFile.sha256);
    expect(Buffer.from(bytes).toString('utf8').split('\n')[0]).toMatch(/^customer_id,loyalty_member,/);
  });

  it('shows nothing for a date until its manifest is written', async () => {
    // Prepare: the manifest PUT fails after every mart file has been written
    const failManifest = 'failManifest';
    clients.s3.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string };
        if (input.Key === manifestKey('2023-08-30')) throw new Error('crash before the manifest');
        return next(args);
      },
      { step: 'initialize', name: failManifest },
    );

    // Act
    const attempt = writeSnapshot({
      s3: clients.s3,
      bucket,
      asOf: '2023-08-30',
      runId: 'run-1',
      marts: marts('2023-08-30'),
      checkpoints: [],
      codeVersion: '0.1.0+test',
    });

    // Assess
    await expect(attempt).rejects.toThrow('crash before the manifest');
    clients.s3.middlewareStack.remove(failManifest);
    expect(await readManifest({ s3: clients.s3, bucket, asOf: '2023-08-30' })).toBeNull();
    await expect(
      readSnapshotFile({ s3: clients.s3, bucket, asOf: '2023-08-30' }, 'customer_metrics', 'csv'),
    ).rejects.toBeInstanceOf(SnapshotNotFoundError);
  });

  it('replaces a snapshot by switching the manifest to the rerun, and exports the current run', async () => {
    // Act
    await writeSnapshot({
      s3: clients.s3,
      bucket,
      asOf: '2023-08-31',
      runId: 'run-2',
      marts: marts('2023-08-31', 1),
      checkpoints: [],
      codeVersion: '0.1.0+test',
    });
    const toDir = await mkdtemp(join(tmpdir(), 'tillstream-export-'));
    const exported = await exportSnapshot({ s3: clients.s3, bucket, asOf: '2023-08-31', toDir });

    // Assess
    expect(exported.runId).toBe('run-2');
    const files = (await readdir(toDir)).sort();
    expect(files).toEqual(
      [
        'customer_metrics',
        'discount_before_after',
        'discount_effectiveness',
        'location_performance',
        'loyalty_impact',
        'sales_trends',
      ]
        .flatMap((mart) => [`${mart}.csv`, `${mart}.parquet`])
        .concat('manifest.json')
        .sort(),
    );
    const customers = await readFile(join(toDir, 'customer_metrics.csv'), 'utf8');
    expect(customers).toContain('c1,true,2023-08-01,2023-08-01,1,10.01,');
    expect(JSON.parse(await readFile(join(toDir, 'manifest.json'), 'utf8')).runId).toBe('run-2');
    await rm(toDir, { recursive: true, force: true });
  });

  it('refuses a file whose bytes no longer match the manifest', async () => {
    // Prepare
    const manifest = (await readManifest({ s3: clients.s3, bucket, asOf: '2023-08-31' }))!;
    const file = manifest.files.find((entry) => entry.mart === 'loyalty_impact' && entry.format === 'csv')!;
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: file.key, Body: 'tampered\n' }));

    // Act
    const read = readSnapshotFile({ s3: clients.s3, bucket, asOf: '2023-08-31' }, 'loyalty_impact', 'csv');

    // Assess
    await expect(read).rejects.toBeInstanceOf(SnapshotChecksumError);
  });
});
