/**
 * `tillstream rebuild` (issue #8): after an aggregate is corrupted and another deleted, a rebuild
 * from the raw layer gives a new generation whose items equal the original run's (high-water marks
 * aside: they are positions in the stream that built each generation); while it runs, readers see
 * the old generation; once it is live, the dashboard's read model reads the new one.
 */
import { cp, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attr, KeyPrefix } from '../../aggregates/keys.js';
import { generateChain } from '../../ingest/generator/index.js';
import { ReadModel } from '../../processors/dashboard/read-model.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import { RebuildStage, runRebuild, snapshotDates } from '../../processors/rebuild/run.js';
import { generationNames, readLiveGeneration, resolveLiveNames } from '../../shared/generation.js';
import type { ResourceNames } from '../../shared/resources.js';
import { encodeOrderEvent } from '../../shared/schemas/order-event.js';
import {
  comparableItems,
  type PipelineStack,
  scanTable,
  startPipelineStack,
} from '../support/pipeline-stack.js';
import { sampleEvents } from '../unit/aggregates/generators.js';

const START = '2023-05-01';
const AS_OF = '2023-05-04';

type Item = Record<string, unknown>;

describe('tillstream rebuild', () => {
  let stack: PipelineStack;
  let base: ResourceNames;
  let original: Map<string, Item>;
  let corruptedLocation: string;
  let corruptedNetCents: number;
  let deletedKey: { pk: string; sk: string };

  beforeAll(async () => {
    stack = await startPipelineStack('rebuild');
    base = stack.names;
    const generated = path.join(stack.workDir, 'generated');
    await generateChain({
      outDir: generated,
      locations: 2,
      days: 4,
      seed: 8,
      startDate: START,
      ordersPerLocationDay: 12,
      profile: 'messy',
    });
    const input = path.join(stack.workDir, 'input');
    await mkdir(input, { recursive: true });
    for (const entry of await readdir(generated)) {
      await cp(path.join(generated, entry), path.join(input, entry), { recursive: true });
    }
    await runPipeline(stack.clients, base, stack.settings, { input, asOf: AS_OF, codeVersion: 'test' });
    original = comparableItems(await scanTable(stack.clients.doc, base.aggregatesTable));
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('rebuilds a corrupted and a deleted aggregate into a new generation equal to the original run', async () => {
    // Prepare
    const { doc } = stack.clients;
    const locationItem = [...original.values()].find((item) => item['pk'] === KeyPrefix.LocationTotals)!;
    corruptedLocation = String(locationItem['sk']);
    corruptedNetCents = Number(locationItem[Attr.netCents]) + 99_999;
    await doc.send(
      new UpdateCommand({
        TableName: base.aggregatesTable,
        Key: { pk: locationItem['pk'], sk: locationItem['sk'] },
        UpdateExpression: 'SET #n = :n',
        ExpressionAttributeNames: { '#n': Attr.netCents },
        ExpressionAttributeValues: { ':n': corruptedNetCents },
      }),
    );
    const chainDay = [...original.values()].find(
      (item) => item['pk'] === KeyPrefix.Chain && String(item['sk']).startsWith(KeyPrefix.Day),
    )!;
    deletedKey = { pk: String(chainDay['pk']), sk: String(chainDay['sk']) };
    await doc.send(new DeleteCommand({ TableName: base.aggregatesTable, Key: deletedKey }));
    const seenByReadersDuringRebuild: { generation: number; netCents: number | undefined }[] = [];

    // Act
    const result = await runRebuild(stack.clients, base, stack.settings, {
      codeVersion: 'test',
      onStage: async (stage) => {
        if (stage !== RebuildStage.Processed) return;
        // Everything is built but not live: a reader opening now still gets generation 0.
        const names = await resolveLiveNames(doc, base);
        const model = new ReadModel({ doc, s3: stack.clients.s3, names });
        const locations = await model.locations();
        seenByReadersDuringRebuild.push({
          generation: await readLiveGeneration(doc, base),
          netCents: locations.find((entry) => entry.locationId === corruptedLocation)?.netCents,
        });
      },
    });

    // Assess
    expect(result).toMatchObject({ previousGeneration: 0, generation: 1 });
    expect(seenByReadersDuringRebuild).toEqual([{ generation: 0, netCents: corruptedNetCents }]);
    const live = await resolveLiveNames(doc, base);
    expect(live).toEqual(generationNames(base, 1));
    expect(live.aggregatesTable).toBe(`${base.aggregatesTable}-g1`);
    const rebuilt = comparableItems(await scanTable(doc, live.aggregatesTable));
    expect([...rebuilt.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [key, item] of original) expect(rebuilt.get(key), key).toEqual(item);
    expect(result.snapshotsRecomputed).toEqual(await snapshotDates(stack.clients.s3, base.martsBucket));
    expect(result.snapshotsRecomputed).toEqual([AS_OF]);

    const model = new ReadModel({ doc, s3: stack.clients.s3, names: live });
    const locations = await model.locations();
    expect(locations.find((entry) => entry.locationId === corruptedLocation)?.netCents).toBe(
      Number(original.get(`${KeyPrefix.LocationTotals}|${corruptedLocation}`)![Attr.netCents]),
    );
    const deletedDay = deletedKey.sk.slice(KeyPrefix.Day.length);
    expect(await model.days(null, deletedDay, deletedDay)).toHaveLength(1);
    // The old generation is kept untouched (its corruption included) until --drop-old.
    const old = comparableItems(await scanTable(doc, base.aggregatesTable));
    expect(old.has(`${deletedKey.pk}|${deletedKey.sk}`)).toBe(false);
  });

  it('the deployed shard processor follows the switch: its Lambda handler writes the live generation only', async () => {
    // Prepare: the handler builds its own AWS clients; the SDK's endpoint variable points them at the stack.
    const { doc } = stack.clients;
    const savedEnv = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      TILLSTREAM_TARGET: 'aws',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_NAMESPACE: 'test',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const live = await resolveLiveNames(doc, base);
    expect(live.aggregatesTable).toBe(`${base.aggregatesTable}-g1`);
    const generationZeroBefore = comparableItems(await scanTable(doc, base.aggregatesTable));
    const liveBefore = comparableItems(await scanTable(doc, live.aggregatesTable));
    const events = sampleEvents(3, 81, 'after-switch').map((event) => encodeOrderEvent(event));
    const first = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000n;
    try {
      const { handler } = await import('../../processors/shard/lambda.js');

      // Act
      const response = await handler({
        Records: events.map((data, index) => ({
          eventID: `shardId-000000000000:${first + BigInt(index)}`,
          eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${base.ordersStream}`,
          kinesis: {
            sequenceNumber: String(first + BigInt(index)),
            data: Buffer.from(data).toString('base64'),
            partitionKey: 'k',
          },
        })),
      });

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      const liveAfter = comparableItems(await scanTable(doc, live.aggregatesTable));
      const changed = [...liveAfter].filter(
        ([key, item]) => JSON.stringify(liveBefore.get(key)) !== JSON.stringify(item),
      );
      expect(changed.length).toBeGreaterThan(0);
      expect(comparableItems(await scanTable(doc, base.aggregatesTable))).toEqual(generationZeroBefore);
    } finally {
      process.env = savedEnv;
    }
  });
});
