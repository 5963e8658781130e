import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { martRows } from '../../aggregates/marts/index.js';
import { generateChain } from '../../ingest/generator/index.js';
import { runCompaction } from '../../processors/compaction/job.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import type { AwsClients } from '../../shared/aws/clients.js';
import type { Settings } from '../../shared/config.js';
import type { ResourceNames } from '../../shared/resources.js';
import { type PipelineStack, startPipelineStack } from '../support/pipeline-stack.js';

describe('customer profiles written back by compaction', () => {
  let setup: PipelineStack;
  let workDir: string;
  let settings: Settings;
  let names: ResourceNames;
  let clients: AwsClients;

  beforeAll(async () => {
    setup = await startPipelineStack('profiles');
    ({ workDir, settings, names, clients } = setup);
  });
  afterAll(async () => {
    await setup?.close();
  });

  const queryAll = async (
    indexName: string,
    key: string,
    value: string,
  ): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await clients.doc.send(
        new QueryCommand({
          TableName: names.aggregatesTable,
          IndexName: indexName,
          KeyConditionExpression: '#k = :v',
          ExpressionAttributeNames: { '#k': key },
          ExpressionAttributeValues: { ':v': value },
          ExclusiveStartKey: startKey,
          Limit: 25,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  };

  it('pages customers by tier, segment and risk, highest CLV first, and never lets an older snapshot overwrite', async () => {
    // Prepare
    const input = join(workDir, 'input');
    await generateChain({
      outDir: input,
      locations: 2,
      days: 40,
      seed: 11,
      startDate: '2023-02-01',
      ordersPerLocationDay: 6,
    });
    const asOf = '2023-04-20';

    // Act
    const { compaction } = await runPipeline(clients, names, settings, { input, asOf, codeVersion: 'test' });

    // Assess: each index holds exactly the mart's customers of that value, by CLV descending.
    const rows = martRows(compaction.marts.customer_metrics);
    for (const tier of ['High', 'Medium', 'Low']) {
      const expected = rows.filter((row) => row.clvTier === tier);
      const paged = await queryAll('byTier', 'tierKey', `TIER#${tier}`);
      expect(paged.map((item) => item['customerId']).sort()).toEqual(
        expected.map((row) => row.customerId).sort(),
      );
      const clvs = paged.map((item) => Number(item['clvCents']));
      expect(clvs).toEqual([...clvs].sort((a, b) => b - a));
    }
    const vip = await queryAll('bySegment', 'segmentKey', 'SEG#VIP');
    expect(vip.length).toBe(rows.filter((row) => row.rfmSegment === 'VIP').length);
    const atRisk = await queryAll('atRisk', 'riskKey', 'RISK');
    expect(atRisk.length).toBe(rows.filter((row) => row.atRisk).length);
    expect(atRisk.length).toBeGreaterThan(0);

    // Act: the same snapshot again writes nothing; an older one overwrites nothing.
    const logs: string[] = [];
    await runCompaction(clients, names, { asOf, codeVersion: 'test', log: (line) => logs.push(line) });
    await runCompaction(clients, names, {
      asOf: '2023-03-10',
      codeVersion: 'test',
      log: (line) => logs.push(line),
    });

    // Assess
    expect(logs.find((line) => line.startsWith('customer profiles'))).toMatch(
      /^customer profiles: 0 written, \d+ unchanged, 0 kept/,
    );
    expect(logs.filter((line) => line.startsWith('customer profiles'))[1]).toMatch(
      /^customer profiles: 0 written, 0 unchanged, \d+ kept/,
    );
    const high = await queryAll('byTier', 'tierKey', 'TIER#High');
    expect(new Set(high.map((item) => item['asOf']))).toEqual(new Set([asOf]));
  });
});
