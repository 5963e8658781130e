/**
 * `tillstream backfill` (issue #8): a backfill interrupted twice (a crash right after a file's
 * records reached the stream and before its report, then an abort signal between two files) and
 * then run to the end gives exactly the aggregates of a plain `tillstream run` over the
 * same folder on a fresh stack.
 */
import { cp, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HIGH_WATER_MARK_ATTR } from '../../aggregates/keys.js';
import { BackfillInterruptedError, runBackfill } from '../../ingest/backfill/run.js';
import { createFolderSource } from '../../ingest/folder/source.js';
import { generateChain } from '../../ingest/generator/index.js';
import { PollStep } from '../../ingest/poll.js';
import { runCompaction } from '../../processors/compaction/job.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { type PipelineStack, startPipelineStack } from '../support/pipeline-stack.js';

const START = '2023-06-05';
const AS_OF = '2023-06-08';

type Item = Record<string, unknown>;

async function aggregateItems(doc: DynamoDBDocumentClient, tableName: string): Promise<Map<string, Item>> {
  const items = new Map<string, Item>();
  let startKey: Item | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      // High-water marks are stream positions: two stacks' streams number records differently.
      items.set(
        `${String(item['pk'])}|${String(item['sk'])}`,
        Object.fromEntries(Object.entries(item).filter(([name]) => !HIGH_WATER_MARK_ATTR.test(name))),
      );
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

class InjectedCrash extends Error {
  override name = 'InjectedCrash';
}

describe('tillstream backfill', () => {
  let plain: PipelineStack;
  let backfill: PipelineStack;
  let input: string;

  beforeAll(async () => {
    [plain, backfill] = await Promise.all([
      startPipelineStack('backfill-plain'),
      startPipelineStack('backfill'),
    ]);
    const generated = path.join(plain.workDir, 'generated');
    await generateChain({
      outDir: generated,
      locations: 2,
      days: 4,
      seed: 21,
      startDate: START,
      ordersPerLocationDay: 12,
      profile: 'messy',
    });
    input = path.join(plain.workDir, 'input');
    await mkdir(input, { recursive: true });
    for (const entry of await readdir(generated)) {
      await cp(path.join(generated, entry), path.join(input, entry), { recursive: true });
    }
  });

  afterAll(async () => {
    await Promise.all([plain?.close(), backfill?.close()]);
  });

  it('completes after two interruptions with the aggregates of a plain run', async () => {
    // Prepare
    await runPipeline(plain.clients, plain.names, plain.settings, {
      input,
      asOf: AS_OF,
      codeVersion: 'test',
    });
    const expected = await aggregateItems(plain.clients.doc, plain.names.aggregatesTable);
    const deps = {
      clients: backfill.clients,
      names: backfill.names,
      controlNames: backfill.names,
      settings: backfill.settings,
      source: createFolderSource(input),
      ratePerSecond: 5_000,
    };
    const reportedPaths: string[] = [];

    // Act
    // 1. A crash in the middle of a file: its records are on the stream, its report is not written.
    let putsSeen = 0;
    await expect(
      runBackfill({
        ...deps,
        onStep: (step) => {
          if (step === PollStep.Put && ++putsSeen === 2) throw new InjectedCrash('after put of file 2');
        },
      }),
    ).rejects.toThrow(InjectedCrash);
    // 2. Ctrl-C (the abort signal) once two files are done in this run.
    const controller = new AbortController();
    let recordsPutBeforeAbort = 0;
    await expect(
      runBackfill({
        ...deps,
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.filesDone >= 2 && !controller.signal.aborted) {
            recordsPutBeforeAbort = progress.recordsPut;
            controller.abort();
          }
        },
      }),
    ).rejects.toThrow(BackfillInterruptedError);
    // 3. The rerun that completes.
    let lastProgress = { rowsTotal: 0, rowsDone: 0, filesTotal: 0, filesDone: 0, recordsPut: 0 };
    const completed = await runBackfill({
      ...deps,
      onProgress: (progress) => {
        lastProgress = progress;
      },
      onStep: (step, detail) => {
        if (step === PollStep.Reported) reportedPaths.push(detail);
      },
    });
    await runShardProcessors(backfill.clients.kinesis, backfill.clients.doc, backfill.names, {
      untilCaughtUp: true,
    });
    await runCompaction(backfill.clients, backfill.names, { asOf: AS_OF, codeVersion: 'test' });
    const actual = await aggregateItems(backfill.clients.doc, backfill.names.aggregatesTable);

    // Assess
    expect(recordsPutBeforeAbort).toBeGreaterThan(0);
    expect(completed.errors).toEqual([]);
    expect(reportedPaths.length).toBeGreaterThan(0);
    expect(lastProgress.filesDone).toBe(lastProgress.filesTotal);
    expect(lastProgress.rowsDone).toBe(lastProgress.rowsTotal);
    expect(expected.size).toBeGreaterThan(0);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, item] of expected) expect(actual.get(key), key).toEqual(item);
  });
});
