/**
 * `tillstream backfill` (issue #8): a backfill interrupted twice (a crash right after a file's
 * records reached the stream and before its report, then an abort signal between two files) and
 * then run to the end gives exactly the aggregates of a plain `tillstream run` over the
 * same folder on a fresh stack; and a live poll cycle gets the poller lease between two turns of a
 * running backfill, with exact aggregates at the end.
 */
import { cp, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillInterruptedError, runBackfill } from '../../ingest/backfill/run.js';
import { createFolderSource } from '../../ingest/folder/source.js';
import { generateChain } from '../../ingest/generator/index.js';
import { type PollResult, PollStep, runPollCycle } from '../../ingest/poll.js';
import { runCompaction } from '../../processors/compaction/job.js';
import { runPipeline } from '../../processors/pipeline/run.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { withPollerLease } from '../../shared/generation.js';
import {
  comparableItems,
  type PipelineStack,
  scanTable,
  startPipelineStack,
} from '../support/pipeline-stack.js';

const START = '2023-06-05';
const AS_OF = '2023-06-08';

const aggregateItems = async (doc: DynamoDBDocumentClient, tableName: string) =>
  comparableItems(await scanTable(doc, tableName));

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

  it('lets a live poll cycle in between two turns and still ends with the aggregates of a plain run', async () => {
    // Prepare
    const [livePlain, liveStack] = await Promise.all([
      startPipelineStack('backfill-live-plain'),
      startPipelineStack('backfill-live'),
    ]);
    try {
      const combined = path.join(livePlain.workDir, 'combined');
      const history = path.join(combined, 'history');
      const live = path.join(combined, 'live');
      await cp(input, history, { recursive: true });
      await generateChain({
        outDir: live,
        locations: 1,
        days: 2,
        seed: 77,
        startDate: '2023-06-07',
        ordersPerLocationDay: 10,
        profile: 'clean',
      });
      await runPipeline(livePlain.clients, livePlain.names, livePlain.settings, {
        input: combined,
        asOf: AS_OF,
        codeVersion: 'test',
      });
      const expected = await aggregateItems(livePlain.clients.doc, livePlain.names.aggregatesTable);
      const events: string[] = [];
      let livePoll: Promise<PollResult | null> | undefined;
      const startLivePoll = () =>
        withPollerLease(
          liveStack.clients.doc,
          liveStack.names,
          'tillstream poll',
          Date.now,
          () =>
            runPollCycle({
              clients: liveStack.clients,
              names: liveStack.names,
              settings: liveStack.settings,
              source: createFolderSource(live),
              clock: Date.now,
            }),
          { waitMs: 20_000, retryEveryMs: 50 },
        ).then((leased) => {
          events.push('live poll done');
          return 'result' in leased ? leased.result : null;
        });

      // Act
      const backfilled = await runBackfill({
        clients: liveStack.clients,
        names: liveStack.names,
        controlNames: liveStack.names,
        settings: liveStack.settings,
        source: createFolderSource(history),
        // Slow enough to take several turns: 40 orders/s with a bucket of 10.
        ratePerSecond: 40,
        burstRecords: 10,
        turnSeconds: 0.5,
        yieldMs: 500,
        onTurn: ({ turn, holding }) => {
          events.push(`turn ${turn} ${holding ? 'taken' : 'given up'}`);
          // The live poller asks for the lease at once, as a scheduled cycle would during a turn.
          if (!holding && livePoll === undefined) livePoll = startLivePoll();
        },
      });
      events.push('backfill done');
      const polled = await livePoll;
      await runShardProcessors(liveStack.clients.kinesis, liveStack.clients.doc, liveStack.names, {
        untilCaughtUp: true,
      });
      await runCompaction(liveStack.clients, liveStack.names, { asOf: AS_OF, codeVersion: 'test' });
      const actual = await aggregateItems(liveStack.clients.doc, liveStack.names.aggregatesTable);

      // Assess
      expect(backfilled.errors).toEqual([]);
      expect(polled?.errors).toEqual([]);
      expect(polled?.reports.length).toBeGreaterThan(0);
      // The live cycle ran while the backfill was in progress: between two turns, before its end.
      expect(events.indexOf('turn 0 given up')).toBeGreaterThanOrEqual(0);
      expect(events.indexOf('live poll done')).toBeGreaterThan(events.indexOf('turn 0 given up'));
      expect(events.indexOf('live poll done')).toBeLessThan(events.indexOf('turn 1 taken'));
      expect(events.indexOf('backfill done')).toBe(events.length - 1);
      expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, item] of expected) expect(actual.get(key), key).toEqual(item);
    } finally {
      await Promise.all([livePlain.close(), liveStack.close()]);
    }
  });
});
