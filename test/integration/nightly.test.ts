import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../aggregates/time.js';
import { generateChain } from '../../ingest/generator/index.js';
import { runCompaction, runNightly } from '../../processors/compaction/job.js';
import { readManifest } from '../../processors/compaction/snapshot.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import type { AwsClients } from '../../shared/aws/clients.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import { type PipelineStack, startPipelineStack } from '../support/pipeline-stack.js';

const start = '2023-05-01';
const day = (offset: number): string => addDays(start, offset);

describe('nightly compaction restates the recent snapshots that later data changed', () => {
  let setup: PipelineStack;
  let workDir: string;
  let settings: Settings;
  let names: ResourceNames;
  let clients: AwsClients;

  beforeAll(async () => {
    setup = await startPipelineStack('nightly');
    ({ workDir, settings, names, clients } = setup);
  });
  afterAll(async () => {
    await setup?.close();
  });

  it('rebuilds a snapshot the stream moved past, leaves one that saw everything, and builds yesterday', async () => {
    // Prepare: a chain of 4 days; the input folder first holds days 0–2, then grows by day 3.
    const generated = join(workDir, 'generated');
    await generateChain({
      outDir: generated,
      locations: 2,
      days: 4,
      seed: 7,
      startDate: start,
      ordersPerLocationDay: 12,
    });
    const input = join(workDir, 'input');
    for (const entry of await readdir(generated)) {
      if (entry !== day(3)) await cp(join(generated, entry), join(input, entry), { recursive: true });
    }
    const run = (asOf: string) =>
      runPipeline(clients, names, settings, {
        input,
        asOf,
        codeVersion: 'test',
        clock: () => Date.parse(`${day(4)}T12:00:00Z`),
      });
    await run(day(2));
    const before = await readManifest({ s3: clients.s3, bucket: names.martsBucket, asOf: day(2) });
    await cp(join(generated, day(3)), join(input, day(3)), { recursive: true });
    await run(day(3));
    // A snapshot built after all processing has the current checkpoints.
    await runCompaction(clients, names, { asOf: day(1), codeVersion: 'test' });

    // Act: the night after day 3, in the chain's zone.
    const night = await runNightly(clients, names, {
      nowMs: Date.parse(`${day(4)}T09:00:00Z`),
      chainTimeZone: 'America/New_York',
      codeVersion: 'test',
    });

    // Assess
    expect(night.asOf).toBe(day(3));
    expect(night.published.map((manifest) => manifest.snapshotDate)).toEqual([day(3), day(2)]);
    expect(night.unchanged).toEqual([day(1)]);
    const after = await readManifest({ s3: clients.s3, bucket: names.martsBucket, asOf: day(2) });
    expect(after?.runId).not.toBe(before?.runId);
    expect(after?.checkpoints).toEqual(night.published[0]?.checkpoints);
    expect(after?.checkpoints).not.toEqual(before?.checkpoints);
  });
});
